/**
 * Small seeded networks for the model tests, built here (not with the library's samplers)
 * so the construction is checked against data made independently of the code under test:
 * a random DAG whose variable indices are shuffled (index order is NOT topological),
 * 2..maxCard states per variable, Dirichlet CPT rows, and a plain ancestral sampler.
 */
import type { Network, Structure } from "../../src/bn/network.ts";
import { topologicalOrder } from "../../src/bn/network.ts";
import type { Rng } from "../../src/bn/rng.ts";
import { sampleCategorical, sampleDirichlet, sampleNormal } from "../../src/bn/rng.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "../../src/model/spec.ts";
import { paramShapes, unflattenWeights } from "../../src/model/spec.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { parentConfigIndex } from "../../src/bn/cpt.ts";

/** A random network: M variables, up to maxParents parents each, 2..maxCard states. */
export function randomNetwork(
  rng: Rng,
  M: number,
  maxParents: number,
  maxCard: number,
  alpha = 0.5,
): Network {
  // Build in topological order 0..M-1, then relabel through a random permutation.
  const perm = Array.from({ length: M }, (_, i) => i);
  for (let i = M - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const cards = Array.from({ length: M }, () => 2 + rng.nextInt(maxCard - 1));
  const topoParents: number[][] = [];
  for (let v = 0; v < M; v++) {
    const k = Math.min(v, rng.nextInt(maxParents + 1));
    const pool = Array.from({ length: v }, (_, i) => i);
    const ps: number[] = [];
    for (let i = 0; i < k; i++) ps.push(pool.splice(rng.nextInt(pool.length), 1)[0]!);
    topoParents.push(ps);
  }
  const variables = new Array<{ name: string; states: string[] }>(M);
  const parents = new Array<number[]>(M);
  for (let v = 0; v < M; v++) {
    const idx = perm[v]!;
    variables[idx] = {
      name: `V${v}`,
      states: Array.from({ length: cards[v]! }, (_, s) => `s${s}`),
    };
    parents[idx] = topoParents[v]!.map((p) => perm[p]!);
  }
  return withRandomCpts(rng, { name: "random", variables, parents }, alpha);
}

/** The structure with every CPT row drawn from Dirichlet(alpha, ..., alpha). */
export function withRandomCpts(rng: Rng, structure: Structure, alpha: number): Network {
  const { variables, parents } = structure;
  const cpts = variables.map((vr, v) => {
    const k = vr.states.length;
    const configs = parents[v]!.reduce((n, p) => n * variables[p]!.states.length, 1);
    const cpt = new Float64Array(configs * k);
    for (let r = 0; r < configs; r++)
      cpt.set(sampleDirichlet(rng, new Array(k).fill(alpha)), r * k);
    return cpt;
  });
  return { ...structure, cpts };
}

/** n rows drawn ancestrally from the network. */
export function ancestralRows(rng: Rng, net: Network, n: number): Dataset {
  const M = net.variables.length;
  const order = topologicalOrder(net);
  const data = new Uint8Array(n * M);
  for (let r = 0; r < n; r++) {
    const row = data.subarray(r * M, (r + 1) * M);
    for (const v of order) {
      const k = net.variables[v]!.states.length;
      row[v] = sampleCategorical(rng, net.cpts[v]!, parentConfigIndex(net, v, row) * k, k);
    }
  }
  return { vars: M, rows: n, data };
}

/** A copy of `d` with each cell MISSING with probability `rate`. */
export function withMissing(rng: Rng, d: Dataset, rate: number): Dataset {
  const data = Uint8Array.from(d.data);
  for (let i = 0; i < data.length; i++) if (rng.next() < rate) data[i] = MISSING;
  return { vars: d.vars, rows: d.rows, data };
}

/** Weights for `spec` with every entry ~ N(0, scale^2) (gammas around 1), float64. */
export function randomWeights(rng: Rng, spec: TransformerSpec, scale: number): TransformerWeights {
  const flat = new Map<string, Tensor>();
  for (const [name, shape] of paramShapes(spec)) {
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    const isGamma = name.endsWith(".gamma");
    for (let i = 0; i < data.length; i++) data[i] = (isGamma ? 1 : 0) + scale * sampleNormal(rng);
    flat.set(name, { shape, data });
  }
  return unflattenWeights(spec, flat);
}

/** Random tokens (T, I) with entries ~ N(0, 1). */
export function randomTokens(rng: Rng, T: number, I: number): Float64Array {
  return Float64Array.from({ length: T * I }, () => sampleNormal(rng));
}

/** A small spec exercising everything: LayerNorm, GELU, 2 heads, an MLP-less layer, logits. */
export const SMALL_SPEC: TransformerSpec = {
  format: "bnformer-transformer/1",
  inputDim: 5,
  dModel: 6,
  layers: [
    { heads: 2, headDim: 3, mlpHidden: 7 },
    { heads: 1, headDim: 4, mlpHidden: 0 },
  ],
  activation: "gelu",
  layerNorm: true,
  outputDim: 3,
  output: "logits",
};
