/**
 * In-context estimators of a conditional distribution, and whole-network fitting.
 *
 * For target v with conditioning set C (options.ts) and counts c_j of v = j over the context
 * rows that agree with the query on C (rows missing v or a variable of C are left out),
 * n = sum_j c_j, k states, pseudo-count a per cell:
 *   mle / naive / marginal:  p_j = c_j / n;            n = 0: the unseen policy (policy.ts)
 *   dirichlet / bdeu / k2:   p_j = (c_j + a) / (n + k a); n = 0 gives the prior mean 1/k,
 *                            and the unseen policy is not consulted (the estimate is defined).
 *   backoff:                 backoff.ts (MLE over the rows matching the most parents; it has
 *                            its own answer when nothing matches, so no policy either).
 * fitNetwork returns a network over the same variables whose parents are the estimator's
 * conditioning sets: the structure's parents (mle, dirichlet, bdeu, k2, backoff), every
 * earlier variable in topological order (naive: the complete DAG), or none (marginal).
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import { decodeParentConfig } from "../bn/cpt.ts";
import type { UnseenSite } from "./policy.ts";
import { applyUnseenPolicy } from "./policy.ts";
import { estimateBackoff } from "./backoff.ts";
import {
  checkDatasetShape,
  configCount,
  familyCounts,
  marginalCounts,
  queryCounts,
  total,
} from "./counts.ts";
import type { EstimatorOptions, ResolvedEstimatorOptions } from "./options.ts";
import {
  checkTarget,
  conditioningSet,
  isBayesian,
  pseudoCount,
  resolveEstimatorOptions,
} from "./options.ts";

/**
 * Distribution over `target`'s states at the query's configuration of its conditioning set,
 * estimated from `context`. `query` holds a state index per variable; entries for the
 * target and the variables after it are ignored.
 */
export function estimateConditional(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
  opts: EstimatorOptions,
): Float64Array {
  const o = resolveEstimatorOptions(opts);
  checkTarget(structure, target);
  checkDatasetShape(structure, context);
  if (o.estimator === "backoff") return estimateBackoff(structure, context, target, query);
  const cond = conditioningSet(structure, target, o.estimator);
  checkQuery(structure, target, cond, query);
  const counts = queryCounts(structure, context, target, cond, query);
  const out = new Float64Array(counts.length);
  const site = (): UnseenSite => ({
    structure,
    target,
    conditioning: cond,
    states: cond.map((p) => query[p]!),
    contextRows: context.rows,
  });
  finishRow(structure, context, target, cond, counts, 0, out, 0, o, site);
  return out;
}

/**
 * Fits every CPT from `data` with the estimator; the returned network's parents are the
 * estimator's conditioning sets (see the module header). An unseen configuration gets the
 * unseen policy (mle, naive, marginal) or the prior mean (Bayesian estimators).
 */
export function fitNetwork(structure: Structure, data: Dataset, opts: EstimatorOptions): Network {
  const o = resolveEstimatorOptions(opts);
  checkDatasetShape(structure, data);
  const parents = structure.variables.map((_, v) => conditioningSet(structure, v, o.estimator));
  const fitted: Structure = { name: structure.name, variables: structure.variables, parents };
  const cpts = structure.variables.map((variable, v) => {
    if (o.estimator === "backoff") return backoffTable(structure, data, v);
    const k = variable.states.length;
    const counts = familyCounts(structure, data, v, parents[v]!);
    const cpt = new Float64Array(counts.length);
    for (let cfg = 0; cfg < counts.length / k; cfg++) {
      const site = (): UnseenSite => ({
        structure,
        target: v,
        conditioning: parents[v]!,
        states: decodeParentConfig(fitted, v, cfg),
        contextRows: data.rows,
      });
      finishRow(structure, data, v, parents[v]!, counts, cfg * k, cpt, cfg * k, o, site);
    }
    return cpt;
  });
  return { ...fitted, cpts };
}

/**
 * Turns the counts `counts[offset .. offset + k)` into the estimate in `out` at `outOffset`:
 * the posterior mean for Bayesian estimators, counts / n otherwise, the unseen policy at n = 0.
 */
function finishRow(
  structure: Structure,
  data: Dataset,
  v: number,
  cond: readonly number[],
  counts: Float64Array,
  offset: number,
  out: Float64Array,
  outOffset: number,
  o: ResolvedEstimatorOptions,
  site: () => UnseenSite,
): void {
  const k = structure.variables[v]!.states.length;
  const n = total(counts, offset, k);
  if (n === 0 && !isBayesian(o.estimator)) {
    applyUnseenPolicy(o.unseen, marginalCounts(structure, data, v), site, out, outOffset);
    return;
  }
  const a = pseudoCount(structure, v, cond, o);
  const denom = n + k * a;
  for (let j = 0; j < k; j++) out[outOffset + j] = (counts[offset + j]! + a) / denom;
}

/** Throws unless the query has one entry per variable and valid states on `cond`. */
function checkQuery(
  structure: Structure,
  target: number,
  cond: readonly number[],
  query: ArrayLike<number>,
): void {
  const m = structure.variables.length;
  if (query.length !== m) {
    throw new BnformerError(
      "config",
      `the query has ${query.length} entries; expected one per variable (${m})`,
      { path: ["query"] },
    );
  }
  for (const p of cond) {
    const x = query[p]!;
    const variable = structure.variables[p]!;
    if (!Number.isInteger(x) || x < 0 || x >= variable.states.length) {
      throw new BnformerError(
        "config",
        `query value ${x} of "${variable.name}" (conditioning "${structure.variables[target]!.name}") is not a state index 0..${variable.states.length - 1}`,
        { path: ["query", variable.name] },
      );
    }
  }
}

/** v's CPT with each row the back-off estimate at that parent configuration. */
function backoffTable(structure: Structure, data: Dataset, v: number): Float64Array {
  const k = structure.variables[v]!.states.length;
  const parents = structure.parents[v]!;
  const configs = configCount(structure, parents);
  const cpt = new Float64Array(configs * k);
  const query = new Uint8Array(structure.variables.length).fill(MISSING);
  for (let cfg = 0; cfg < configs; cfg++) {
    decodeParentConfig(structure, v, cfg).forEach((x, i) => (query[parents[i]!] = x));
    cpt.set(estimateBackoff(structure, data, v, query), cfg * k);
  }
  return cpt;
}
