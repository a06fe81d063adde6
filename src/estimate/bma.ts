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
 * sets, sum_{s <= K} C(j, s), which must stay <= MAX_PARENT_SETS (parent-sets.ts).
 *
 * Missing values: all parent sets of a target are scored and averaged on the same rows,
 * those where the target and every candidate parent are observed. (Scoring each set on the
 * rows complete for it alone would compare likelihoods of different data, and favour sets
 * that drop rows.) Without missing values that is every row.
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "../bn/network.ts";
import { topologicalOrder } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import type { CptPrior } from "../bn/priors.ts";
import { DEFAULT_BINARY_PRIOR, validatePrior } from "../bn/priors.ts";
import { decodeParentConfig } from "../bn/cpt.ts";
import { MAX_COUNT_TABLE_ENTRIES, checkDatasetShape, configCount, familyCounts } from "./counts.ts";
import { checkTarget, naiveConditioning } from "./options.ts";
import { logMarginalLikelihood, posteriorMean } from "./posterior.ts";
import type { Conditional } from "./generate.ts";
import { enumerateParentSets, logStructurePrior } from "./parent-sets.ts";

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
  /** Posterior-mean rows in the layout of `tables`, filled on first use (NaN = not yet). */
  readonly means: readonly Float64Array[];
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

/** estimateBma at `query` and the target's parent-set posterior, from one fit (for evaluation). */
export function estimateBmaWithPosterior(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
  opts: BmaOptions,
): { probs: Float64Array; posterior: ParentSetPosterior } {
  const o = resolveBmaOptions(structure, opts);
  checkTarget(structure, target);
  checkDatasetShape(structure, context);
  const model = fitTarget(structure, context, target, o);
  return { probs: predict(structure, model, query, o.prior), posterior: model.summary };
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

/**
 * The network whose CPTs are the BMA predictive: each variable's parents are every earlier
 * variable in topological order and each CPT row is estimateBma at that configuration.
 * Each set's posterior means are computed once per configuration of the set (see mix).
 */
export function fitBmaNetwork(structure: Structure, data: Dataset, opts: BmaOptions): Network {
  const o = resolveBmaOptions(structure, opts);
  checkDatasetShape(structure, data);
  const parents = structure.variables.map((_, v) => naiveConditioning(structure, v));
  const fitted: Structure = { name: structure.name, variables: structure.variables, parents };
  const cpts = structure.variables.map((variable, v) => {
    const k = variable.states.length;
    const configs = configCount(structure, parents[v]!);
    if (configs * k > MAX_COUNT_TABLE_ENTRIES) {
      throw new BnformerError(
        "estimate",
        `the BMA CPT of "${variable.name}" over its ${parents[v]!.length} earlier variables needs ${configs} rows x ${k} states, more than ${MAX_COUNT_TABLE_ENTRIES} entries`,
        { path: ["estimate", variable.name] },
      );
    }
    const model = fitTarget(structure, data, v, o);
    const cpt = new Float64Array(configs * k);
    const query = new Uint8Array(structure.variables.length);
    for (let cfg = 0; cfg < configs; cfg++) {
      decodeParentConfig(fitted, v, cfg).forEach((x, i) => (query[parents[v]![i]!] = x));
      mix(structure, model, query, o.prior, cpt.subarray(cfg * k, cfg * k + k));
    }
    return cpt;
  });
  return { ...fitted, cpts };
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
  return { summary, tables, means: tables.map((t) => new Float64Array(t.length).fill(NaN)) };
}

/** sum_S P(S | D) posteriorMean(counts of S at the query's configuration). */
function predict(
  structure: Structure,
  model: TargetModel,
  query: ArrayLike<number>,
  prior: CptPrior,
): Float64Array {
  const { target, candidates } = model.summary;
  checkQueryGiven(structure, target, candidates, query);
  const out = new Float64Array(structure.variables[target]!.states.length);
  return mix(structure, model, query, prior, out);
}

/**
 * out = sum_S P(S | D) posteriorMean(counts of S at the query's configuration), each set's
 * row mean computed once and kept in model.means (generation and fitting revisit rows).
 */
function mix(
  structure: Structure,
  model: TargetModel,
  query: ArrayLike<number>,
  prior: CptPrior,
  out: Float64Array,
): Float64Array {
  const { target, sets, posterior } = model.summary;
  const k = structure.variables[target]!.states.length;
  out.fill(0);
  sets.forEach((set, i) => {
    const w = posterior[i]!;
    if (w === 0) return;
    let cfg = 0; // familyCounts' layout: the last conditioning variable fastest
    for (const c of set) cfg = cfg * structure.variables[c]!.states.length + query[c]!;
    const at = cfg * k;
    const means = model.means[i]!;
    if (Number.isNaN(means[at])) {
      posteriorMean(prior, model.tables[i]!.subarray(at, at + k), means, at);
    }
    for (let s = 0; s < k; s++) out[s]! += w * means[at + s]!;
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
