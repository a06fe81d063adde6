/**
 * Training losses on the readout at QUERY tokens, each averaged over the batch's queries.
 *
 * Per query with target distribution t over the O output entries and valid mask m (1 for
 * the states the query's target variable really has; padded entries are 0):
 * - "cross-entropy": -sum_s t_s log p_s with p = softmax of the logits over valid states
 *   only (invalid entries get a -1e9 bias, so they carry no probability and no gradient).
 *   With t one-hot at the observed value this is the prediction loss.
 * - "l1": sum_s |p_s - t_s| over valid states (= 2 x total variation): regression to a
 *   target distribution such as the in-context MLE or the posterior mean.
 * With `spec.output === "probabilities"` p is the readout itself (log clamped at 1e-30).
 *
 * `lossCore` is traced (runs inside jit / valueAndGrad) and consumes its arguments. Its
 * dense inputs come from `denseTargets`: one row per query slot (src/model/jax/batch.ts),
 * unused slots weigh 0.
 */
import type { Array as JArray } from "@jax-js/jax";
import { BnformerError } from "../errors.ts";
import { MASK_BIAS } from "../model/jax/executor.ts";
import { jaxLib } from "../model/jax/setup.ts";

/** Which training loss. */
export type LossKind = "cross-entropy" | "l1";

/** Every loss name, for option parsing. */
export const LOSS_KINDS: readonly LossKind[] = ["cross-entropy", "l1"];

/** Smallest probability whose log is taken when the readout is already a distribution. */
const PROB_FLOOR = 1e-30;

/**
 * Mean loss over queries: out (R, O) readouts at R = B Qm query slots, target and valid
 * (R, O), weight (R) = 1/Q at used slots, 0 at unused ones. Consumes every array argument.
 */
export function lossCore(
  kind: LossKind,
  output: "logits" | "probabilities",
  out: JArray,
  target: JArray,
  valid: JArray,
  weight: JArray,
): JArray {
  const { numpy: np, nn } = jaxLib();
  const [R] = out.shape as [number, number];
  const w = weight.reshape([R, 1]);
  const logits = output === "logits";
  if (kind === "cross-entropy") {
    const logp = logits
      ? nn.logSoftmax(out.add(valid.sub(1).mul(-MASK_BIAS)), -1) // (R, O)
      : np.log(np.maximum(out.mul(valid), PROB_FLOOR));
    return logp.mul(target).mul(w).sum().neg();
  }
  const p = logits
    ? nn.softmax(out.add(valid.sub(1).mul(-MASK_BIAS)), -1) // (R, O): 0 on invalid states
    : out.mul(valid);
  return np.abs(p.sub(target)).mul(w).sum();
}

/** Per-query targets of a training batch (rows in the order of `selectQueries`). */
export interface QueryTargets {
  /** (Q, O): target distribution per query (one-hot of the observed value for prediction). */
  readonly targets: Float32Array | Float64Array;
  /** (Q, O): 1 where the state exists for the query's target variable; omitted = all valid. */
  readonly valid?: Uint8Array;
}

/**
 * Dense (R, O) target and valid rows and (R) weights for R query slots, from per-query
 * targets; `slotOfQuery[r]` is the slot of query r (`querySlots`). Unused slots weigh 0.
 */
export function denseTargets(
  slotOfQuery: Int32Array,
  R: number,
  O: number,
  q: QueryTargets,
): { target: Float32Array; valid: Float32Array; weight: Float32Array } {
  const Q = slotOfQuery.length;
  const bad = (what: string) => new BnformerError("data", what, { path: ["batch", "targets"] });
  if (Q === 0) throw bad("the batch has no QUERY token, so no loss can be computed");
  if (q.targets.length !== Q * O)
    throw bad(`targets have ${q.targets.length} values; expected ${Q} queries x ${O} outputs`);
  if (q.valid && q.valid.length !== Q * O)
    throw bad(`valid has ${q.valid.length} entries; expected ${Q} queries x ${O} outputs`);
  const target = new Float32Array(R * O);
  const valid = new Float32Array(R * O).fill(1);
  const weight = new Float32Array(R);
  for (let r = 0; r < Q; r++) {
    const i = slotOfQuery[r]!;
    weight[i] = 1 / Q;
    let anyValid = false;
    for (let s = 0; s < O; s++) {
      const t = q.targets[r * O + s]!;
      const ok = q.valid ? q.valid[r * O + s] === 1 : true;
      if (!(t >= 0 && t <= 1)) throw bad(`query ${r} state ${s}: target ${t} is not in [0, 1]`);
      if (!ok && t !== 0) throw bad(`query ${r} state ${s}: target ${t} on an invalid state`);
      target[i * O + s] = t;
      valid[i * O + s] = ok ? 1 : 0;
      anyValid ||= ok;
    }
    if (!anyValid) throw bad(`query ${r} has no valid state`);
  }
  return { target, valid, weight };
}

/** (Q, O) one-hot rows of observed state indices; throws on an index outside [0, O). */
export function oneHotTargets(labels: ArrayLike<number>, O: number): Float32Array {
  const out = new Float32Array(labels.length * O);
  for (let r = 0; r < labels.length; r++) {
    const s = labels[r]!;
    if (!Number.isInteger(s) || s < 0 || s >= O)
      throw new BnformerError(
        "data",
        `label ${s} of query ${r} is not a state index in [0, ${O})`,
        {
          path: ["batch", "labels"],
        },
      );
    out[r * O + s] = 1;
  }
  return out;
}
