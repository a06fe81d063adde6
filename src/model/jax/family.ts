/**
 * A family model (src/model/family-encoding.ts) run by the fast jax-js executor: the whole
 * CPT of a target in one forward pass, one sequence of N context tokens and one query token
 * per parent configuration (each query sees the context and itself only, so the queries do
 * not disturb each other). The float64 reference engine (`familyEngine`) gives the same
 * numbers up to float32 rounding (test/model/jax/family.test.ts).
 */
import type { Structure } from "../../bn/network.ts";
import type { Dataset } from "../../bn/dataset.ts";
import { MISSING } from "../../bn/dataset.ts";
import { decodeParentConfig, parentConfigCount } from "../../bn/cpt.ts";
import type { FamilyModel } from "../engine.ts";
import { encodeFamilyContext, encodeFamilyQueries } from "../family-encoding.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY } from "../spec.ts";
import { createExecutor, paramsFromWeights } from "./executor.ts";
import { jaxLib } from "./setup.ts";

/**
 * The model's CPT of each of `targets` on `context`: cpts[i] is (configs, K) in
 * parent-configuration order (src/bn/cpt.ts). Refuses families past the model's limits.
 */
export async function familyCptsJax(
  model: FamilyModel,
  structure: Structure,
  context: Dataset,
  targets: readonly number[],
): Promise<Float64Array[]> {
  const executor = await createExecutor(model.spec);
  const params = paramsFromWeights(model.spec, model.weights);
  const I = model.layout.width;
  const O = model.spec.outputDim;
  try {
    const out: Float64Array[] = [];
    for (const target of targets) {
      const ctx = encodeFamilyContext(model.layout, structure, target, context);
      const C = parentConfigCount(structure, target);
      const K = structure.variables[target]!.states.length;
      const rows = Array.from({ length: C }, (_, cfg) => {
        const row = new Uint8Array(structure.variables.length).fill(MISSING);
        const parents = structure.parents[target]!;
        decodeParentConfig(structure, target, cfg).forEach((x, j) => (row[parents[j]!] = x));
        return row;
      });
      const queries = encodeFamilyQueries(model.layout, structure, target, rows);
      const N = context.rows;
      const tokens = new Float32Array((N + C) * I);
      tokens.set(ctx);
      tokens.set(queries, N * I);
      const kinds = new Uint8Array(N + C).fill(TOKEN_CONTEXT);
      kinds.fill(TOKEN_QUERY, N);
      const { outputs } = await executor.forward(params, {
        tokens,
        kinds,
        shape: [1, N + C, I],
      });
      // Softmax over the target's own K states only: the outputs past K carry no probability.
      const cpt = new Float64Array(C * K);
      for (let cfg = 0; cfg < C && model.spec.output === "probabilities"; cfg++)
        for (let s = 0; s < K; s++) cpt[cfg * K + s] = outputs[cfg * O + s]!;
      for (let cfg = 0; cfg < C && model.spec.output === "logits"; cfg++) {
        let max = -Infinity;
        for (let s = 0; s < K; s++) max = Math.max(max, outputs[cfg * O + s]!);
        let sum = 0;
        for (let s = 0; s < K; s++) sum += cpt[cfg * K + s] = Math.exp(outputs[cfg * O + s]! - max);
        for (let s = 0; s < K; s++) cpt[cfg * K + s]! /= sum;
      }
      out.push(cpt);
    }
    return out;
  } finally {
    const { tree } = jaxLib();
    for (const a of tree.leaves(params)) if (a.refCount > 0) a.dispose();
    executor.dispose();
  }
}
