/**
 * Exact Bayesian model averaging (BMA) over parent sets: the Bayes-optimal in-context
 * estimate when the variable order is known but the edges are not (docs/estimators.md, "BMA").
 *
 * Prior over structures (modular): each of the j variables before target v in topological
 * order (naiveConditioning) is a parent of v independently with probability p (edgeProb);
 * sets of more than K (maxParents) parents get no mass and the rest is renormalised.
 * p = 1 with K < j is the limit p -> 1: uniform over the sets of size K.
 * Prior over CPTs: every row independently from `prior` (uniform, beta or dirichlet).
 * Both factorise over targets, so the posterior over DAGs consistent with the order does too:
 *   P(S | D) ∝ p^|S| (1-p)^(j-|S|) prod_cfg ML(counts of v at configuration cfg of S)
 * with ML from logMarginalLikelihood (posterior.ts), and the predictive at a query is
 *   sum_S P(S | D) posteriorMean(counts of v at the query's configuration of S).
 * Everything is summed in log space (log-sum-exp); cost grows with the number of parent
 * sets, sum_{s <= K} C(j, s), which must stay <= MAX_PARENT_SETS.
 *
 * Missing values: all parent sets of a target are scored and averaged on the same rows,
 * those where the target and every candidate parent are observed. (Scoring each set on the
 * rows complete for it alone would compare likelihoods of different data, and favour sets
 * that drop rows.) Without missing values that is every row.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { topologicalOrder } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import type { CptPrior } from "../bn/priors.ts";
import { DEFAULT_BINARY_PRIOR, validatePrior } from "../bn/priors.ts";
import { checkDatasetShape, configCount, familyCounts } from "./counts.ts";
import { checkTarget, naiveConditioning } from "./options.ts";
import { logMarginalLikelihood, posteriorMean } from "./posterior.ts";
import type { Conditional } from "./generate.ts";

/** Options of the BMA estimator. */
export interface BmaOptions {
  /** Probability that an earlier variable is a parent, in [0, 1]. */
  edgeProb: number;
  /** Largest parent set (in-degree); default: no limit. */
  maxParents?: number;
  /** CPT prior; default defaultBmaPrior(structure). */
  prior?: CptPrior;
}

/** The default edge probability: every parent set equally likely a priori. */
export const DEFAULT_EDGE_PROB = 0.5;
/** Most parent sets enumerated per target (2^12: 12 earlier variables with no in-degree limit). */
export const MAX_PARENT_SETS = 1 << 12;
/** Most count-table entries kept per target, over all its parent sets. */
export const MAX_BMA_COUNT_ENTRIES = 1 << 24;

/** uniform(0.1, 0.9) when every variable is binary, else dirichlet(1) (as `train`'s default). */
export function defaultBmaPrior(structure: Structure): CptPrior {
  const binary = structure.variables.every((v) => v.states.length === 2);
  return binary ? DEFAULT_BINARY_PRIOR : { kind: "dirichlet", alpha: 1 };
}

interface ResolvedBmaOptions {
  readonly edgeProb: number;
  readonly maxParents: number;
  readonly prior: CptPrior;
}

/** Checks `opts` against `structure` and fills defaults; "config" errors name the option. */
export function resolveBmaOptions(structure: Structure, opts: BmaOptions): ResolvedBmaOptions {
  const p = opts.edgeProb;
  if (!(typeof p === "number" && p >= 0 && p <= 1)) {
    throw new BnformerError("config", `edge probability must be in [0, 1], got ${String(p)}`, {
      path: ["edgeProb"],
    });
  }
  const k = opts.maxParents ?? Infinity;
  if (!(k === Infinity || (Number.isInteger(k) && k >= 0))) {
    throw new BnformerError("config", `max parents must be an integer >= 0, got ${String(k)}`, {
      path: ["maxParents"],
    });
  }
  const prior = opts.prior ?? defaultBmaPrior(structure);
  validatePrior(structure, prior);
  return { edgeProb: p, maxParents: k, prior };
}

/** The posterior over one target's parent sets given a context. */
export interface ParentSetPosterior {
  readonly target: number;
  /** The variables before the target in topological order: the possible parents. */
  readonly candidates: readonly number[];
  /** Every allowed parent set (by size, then in candidate order). */
  readonly sets: readonly (readonly number[])[];
  /** The structure prior of each set (normalised over the allowed sets). */
  readonly prior: Float64Array;
  /** log P(target's column | its set's columns, set) on the scored rows. */
  readonly logMarginalLikelihood: Float64Array;
  /** P(set | context). */
  readonly posterior: Float64Array;
  /** edges[i] = P(candidates[i] is a parent of the target | context). */
  readonly edges: Float64Array;
  /** Rows scored: those observing the target and every candidate. */
  readonly rows: number;
}

/** A fitted target: its parent-set posterior and the count table of each set. */
interface TargetModel {
  readonly summary: ParentSetPosterior;
  readonly tables: readonly Float64Array[];
}

/** The posterior over `target`'s parent sets (and so over its incoming edges). */
export function parentSetPosterior(
  structure: Structure,
  context: Dataset,
  target: number,
  opts: BmaOptions,
): ParentSetPosterior {
  const o = resolveBmaOptions(structure, opts);
  checkTarget(structure, target);
  checkDatasetShape(structure, context);
  return fitTarget(structure, context, target, o).summary;
}

/** One possible edge and its posterior probability. */
export interface EdgePosterior {
  readonly from: number;
  readonly to: number;
  readonly probability: number;
}

/** P(from -> to | context) for every pair with `from` before `to` in topological order. */
export function edgePosteriors(
  structure: Structure,
  context: Dataset,
  opts: BmaOptions,
): EdgePosterior[] {
  const o = resolveBmaOptions(structure, opts);
  checkDatasetShape(structure, context);
  return topologicalOrder(structure).flatMap((to) => {
    const { candidates, edges } = fitTarget(structure, context, to, o).summary;
    return candidates.map((from, i) => ({ from, to, probability: edges[i]! }));
  });
}

/** The BMA predictive of `target` at `query` (state indices; every earlier variable set). */
export function estimateBma(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
  opts: BmaOptions,
): Float64Array {
  const o = resolveBmaOptions(structure, opts);
  checkTarget(structure, target);
  checkDatasetShape(structure, context);
  return predict(structure, fitTarget(structure, context, target, o), query, o.prior);
}

/**
 * The BMA conditional on `context` for generation and engines: each target is fitted on its
 * first call, and each configuration of its candidates is averaged once (cached).
 */
export function bmaConditional(
  structure: Structure,
  context: Dataset,
  opts: BmaOptions,
): Conditional {
  const o = resolveBmaOptions(structure, opts); // fail before generating anything
  checkDatasetShape(structure, context);
  const models = new Map<number, TargetModel>();
  const caches = new Map<number, Map<string, Float64Array>>();
  return (target, row) => {
    let model = models.get(target);
    if (model === undefined) {
      checkTarget(structure, target);
      models.set(target, (model = fitTarget(structure, context, target, o)));
      caches.set(target, new Map());
    }
    const cache = caches.get(target)!;
    const key = model.summary.candidates.map((c) => row[c]!).join(",");
    let p = cache.get(key);
    if (p === undefined) cache.set(key, (p = predict(structure, model, row, o.prior)));
    return p;
  };
}

/** Scores every allowed parent set of `target` (see the module header). */
function fitTarget(
  structure: Structure,
  context: Dataset,
  target: number,
  o: ResolvedBmaOptions,
): TargetModel {
  const candidates = naiveConditioning(structure, target);
  const sets = enumerateParentSets(structure, target, candidates, o.maxParents);
  const scored = completeRows(context, [target, ...candidates]);
  const k = structure.variables[target]!.states.length;
  const tables = sets.map((s) => familyCounts(structure, scored, target, s));
  const logMl = Float64Array.from(tables, (t) => {
    let sum = 0;
    for (let at = 0; at < t.length; at += k) {
      sum += logMarginalLikelihood(o.prior, t.subarray(at, at + k));
    }
    return sum;
  });
  const j = candidates.length;
  const logPrior = sets.map((s) => logStructurePrior(s.length, j, o.edgeProb, o.maxParents));
  const posterior = normalizeLog(logPrior.map((lp, i) => lp + logMl[i]!));
  if (posterior === null) {
    throw new BnformerError(
      "estimate",
      `the context has probability 0 under every parent set of "${structure.variables[target]!.name}" (the CPT prior excludes what it shows)`,
      { path: ["estimate", structure.variables[target]!.name] },
    );
  }
  const edges = new Float64Array(j);
  sets.forEach((s, i) => s.forEach((c) => (edges[candidates.indexOf(c)]! += posterior[i]!)));
  const summary: ParentSetPosterior = {
    target,
    candidates,
    sets,
    prior: normalizeLog(logPrior)!,
    logMarginalLikelihood: logMl,
    posterior,
    edges,
    rows: scored.rows,
  };
  return { summary, tables };
}

/** sum_S P(S | D) posteriorMean(counts of S at the query's configuration). */
function predict(
  structure: Structure,
  model: TargetModel,
  query: ArrayLike<number>,
  prior: CptPrior,
): Float64Array {
  const { target, sets, posterior } = model.summary;
  checkQueryGiven(structure, target, model.summary.candidates, query);
  const k = structure.variables[target]!.states.length;
  const out = new Float64Array(k);
  const row = new Float64Array(k);
  sets.forEach((set, i) => {
    const w = posterior[i]!;
    if (w === 0) return;
    let cfg = 0; // familyCounts' layout: the last conditioning variable fastest
    for (const c of set) cfg = cfg * structure.variables[c]!.states.length + query[c]!;
    posteriorMean(prior, model.tables[i]!.subarray(cfg * k, cfg * k + k), row);
    for (let s = 0; s < k; s++) out[s]! += w * row[s]!;
  });
  return out;
}

/** Throws unless `query` holds a valid state for every candidate parent of `target`. */
function checkQueryGiven(
  structure: Structure,
  target: number,
  candidates: readonly number[],
  query: ArrayLike<number>,
): void {
  for (const c of candidates) {
    const x = query[c];
    const variable = structure.variables[c]!;
    if (x === undefined || !Number.isInteger(x) || x < 0 || x >= variable.states.length) {
      throw new BnformerError(
        "config",
        `the BMA estimate of "${structure.variables[target]!.name}" needs every earlier variable; "${variable.name}" is ${x === MISSING ? "not given" : `state index ${String(x)}, not 0..${variable.states.length - 1}`}`,
        { path: ["query", variable.name] },
      );
    }
  }
}

/** log of the unnormalised structure prior of a set of `size` out of j candidates. */
function logStructurePrior(size: number, j: number, p: number, maxParents: number): number {
  if (p === 0) return size === 0 ? 0 : -Infinity;
  if (p === 1) return size === Math.min(j, maxParents) ? 0 : -Infinity;
  return size * Math.log(p) + (j - size) * Math.log1p(-p);
}

/** exp(x - logsumexp(x)), or null when every x is -Infinity. */
function normalizeLog(logw: ArrayLike<number>): Float64Array | null {
  let max = -Infinity;
  for (let i = 0; i < logw.length; i++) max = Math.max(max, logw[i]!);
  if (max === -Infinity) return null;
  const out = Float64Array.from(logw, (x) => Math.exp(x - max));
  let sum = 0;
  for (const x of out) sum += x;
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Every subset of `candidates` of at most maxParents elements, by size then candidate order. */
function enumerateParentSets(
  structure: Structure,
  target: number,
  candidates: readonly number[],
  maxParents: number,
): number[][] {
  const j = candidates.length;
  const top = Math.min(j, maxParents);
  const name = structure.variables[target]!.name;
  let count = 0;
  for (let s = 0, binom = 1; s <= top; s++, binom = (binom * (j - s + 1)) / s) {
    count += binom;
    if (count > MAX_PARENT_SETS) {
      throw new BnformerError(
        "estimate",
        `BMA over the parent sets of "${name}" (${j} earlier variables, at most ${maxParents === Infinity ? j : maxParents} parents) enumerates more than ${MAX_PARENT_SETS} sets (sum over s <= K of C(${j}, s)); lower the maximum number of parents`,
        { path: ["estimate", name] },
      );
    }
  }
  const k = structure.variables[target]!.states.length;
  const sets: number[][] = [];
  let entries = 0;
  const extend = (set: number[], from: number, size: number): void => {
    if (set.length === size) {
      entries += configCount(structure, set) * k;
      sets.push([...set]);
      return;
    }
    for (let i = from; i <= j - (size - set.length); i++) {
      set.push(candidates[i]!);
      extend(set, i + 1, size);
      set.pop();
    }
  };
  for (let size = 0; size <= top; size++) extend([], 0, size);
  if (entries > MAX_BMA_COUNT_ENTRIES) {
    throw new BnformerError(
      "estimate",
      `BMA over the parent sets of "${name}" needs ${entries} count-table entries, more than ${MAX_BMA_COUNT_ENTRIES}; lower the maximum number of parents`,
      { path: ["estimate", name] },
    );
  }
  return sets;
}

/** The rows of `data` that observe every variable of `vars` (`data` itself when all do). */
function completeRows(data: Dataset, vars: readonly number[]): Dataset {
  const m = data.vars;
  const keep: number[] = [];
  for (let r = 0; r < data.rows; r++) {
    if (vars.every((v) => data.data[r * m + v] !== MISSING)) keep.push(r);
  }
  if (keep.length === data.rows) return data;
  const cells = new Uint8Array(keep.length * m);
  keep.forEach((r, i) => cells.set(data.data.subarray(r * m, (r + 1) * m), i * m));
  return { vars: m, rows: keep.length, data: cells };
}
