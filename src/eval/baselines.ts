/**
 * The baseline methods of the evaluation protocol, all computed from the same context as
 * every other method, with one counting pass per batch shared by the three of them
 * (src/estimate/batch.ts):
 * - "posterior-mean": the posterior mean of the CPT row under the prior the episodes' CPTs
 *   were drawn from, with the true parents. Given the context (the query's earlier values
 *   carry no information about this row), it is the posterior predictive of the node, i.e.
 *   the optimum of cross-entropy (prediction) training, and it minimises the expected
 *   squared error of the row: no predictor does better on that prior in those terms. For
 *   TV (absolute error in the binary case) the exact minimiser is the posterior median, so
 *   in TV it is a strong reference, not a strict lower bound. It needs no unseen policy
 *   (n = 0 gives the prior mean).
 * - "mle": the in-context MLE with the true parents (the paper's "Bayes" baseline);
 * - "naive": the MLE conditioned on every variable before the node (no structure).
 * The two MLEs answer an unseen configuration with the run's unseen policy (policy.ts) and
 * report where they did, as their fallback mask.
 */
import type { UnseenPolicy } from "../estimate/policy.ts";
import type { CptPrior } from "../bn/priors.ts";
import type { BatchCounts, BatchEstimate } from "../estimate/batch.ts";
import { batchEstimate, batchCounts, batchPosteriorMean } from "../estimate/batch.ts";
import type { EpisodeBatch, Method, MethodPrediction } from "./episodes.ts";
import { maxStates } from "./episodes.ts";

/** Name of the posterior-mean baseline (the reference of the ratio figures and tables). */
export const POSTERIOR_MEAN = "posterior-mean";
/** Name of the known-structure MLE baseline. */
export const MLE = "mle";
/** Name of the structure-free MLE baseline. */
export const NAIVE = "naive";

/** The baselines for episodes drawn from `prior`, the MLEs under `unseen`. */
export function baselineMethods(prior: CptPrior, unseen: UnseenPolicy): Method[] {
  // One counting pass per batch serves the three methods and every length; each estimate
  // is computed on first use.
  const cache = new WeakMap<
    EpisodeBatch,
    { counts: BatchCounts; est: Map<string, BatchEstimate> }
  >();
  const estimate = (batch: EpisodeBatch, name: string, make: (c: BatchCounts) => BatchEstimate) => {
    let hit = cache.get(batch);
    if (hit === undefined) {
      hit = { counts: batchCounts(batch, { naive: true }), est: new Map() };
      cache.set(batch, hit);
    }
    let est = hit.est.get(name);
    if (est === undefined) hit.est.set(name, (est = make(hit.counts)));
    return est;
  };
  const method = (
    name: string,
    description: string,
    make: (c: BatchCounts) => BatchEstimate,
    reportsFallback: boolean,
  ): Method => ({
    name,
    description,
    predict: (batch, n) => unpack(batch, n, estimate(batch, name, make), reportsFallback),
  });
  return [
    method(
      POSTERIOR_MEAN,
      "posterior mean under the evaluation prior, true parents (the optimum of prediction training)",
      (c) => batchPosteriorMean(c, prior),
      false,
    ),
    method(
      MLE,
      'in-context MLE with the true parents ("Bayes" in the paper)',
      (c) => batchEstimate(c, { estimator: "mle", unseen }),
      true,
    ),
    method(
      NAIVE,
      "in-context MLE on every earlier variable (no structure)",
      (c) => batchEstimate(c, { estimator: "naive", unseen }),
      true,
    ),
  ];
}

/** Length n's slice of a batch estimate ([S, L, sum k] packed) as [S, M, K] padded. */
function unpack(
  batch: EpisodeBatch,
  n: number,
  est: BatchEstimate,
  reportsFallback: boolean,
): MethodPrediction {
  const l = batch.lengths.indexOf(n);
  if (l < 0) throw new RangeError(`length ${n} is not one of the batch's lengths`);
  const { episodes: s, structure } = batch;
  const m = structure.variables.length;
  const k = maxStates(structure);
  const nl = batch.lengths.length;
  const offs = est.stateOffsets;
  const packed = offs[m]!;
  const probs = new Float64Array(s * m * k); // [S, M, K]
  const fallback = new Uint8Array(s * m); // [S, M]
  for (let e = 0; e < s; e++) {
    const src = (e * nl + l) * packed;
    for (let v = 0; v < m; v++) {
      probs.set(est.probs.subarray(src + offs[v]!, src + offs[v + 1]!), (e * m + v) * k);
    }
    fallback.set(est.unseen.subarray((e * nl + l) * m, (e * nl + l + 1) * m), e * m);
  }
  return reportsFallback ? { probs, fallback } : { probs };
}
