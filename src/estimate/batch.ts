/**
 * Batched in-context estimation for the evaluation shape: S episodes, each a context of N
 * rows over M variables and one query row; for every episode, every prefix length in
 * `lengths` and every node v, the estimate of P(v | query's parent configuration) from the
 * first `length` context rows, with a flag when that configuration is unseen.
 *
 * One pass over each episode's rows counts incrementally and snapshots the counts at each
 * prefix length, so all lengths cost one count of the longest. The row loop lives in
 * batch-kernel.ts: compiled per structure for large batches, interpreted otherwise, with
 * identical counts. The same counts serve every estimator (batchEstimate) and the posterior
 * mean under a training prior (batchPosteriorMean).
 *
 * Layouts (flat, row-major): contexts [S, N, M], queries [S, M]; counts and probabilities
 * [S, L, K] with K = sum_v k_v and node v's states at stateOffsets[v] .. stateOffsets[v+1];
 * unseen flags [S, L, M]. Missing cells follow counts.ts: a row with v or one of its
 * conditioning variables missing is not counted for v.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { MISSING } from "../bn/dataset.ts";
import { compiledCounter, interpretedCounter, makeCountPlan } from "./batch-kernel.ts";
import type { CountPlan, CountsOut, EpisodeCounter } from "./batch-kernel.ts";
import { applyUnseenPolicy } from "./policy.ts";
import type { UnseenSite } from "./policy.ts";
import type { EstimatorName, EstimatorOptions } from "./options.ts";
import {
  conditioningSet,
  isBayesian,
  naiveConditioning,
  pseudoCount,
  resolveEstimatorOptions,
} from "./options.ts";
import { badCellError } from "./counts.ts";
import type { CptPrior } from "../bn/priors.ts";
import { posteriorMean, uniformPosteriorMean } from "./posterior.ts";

/** The evaluation batch: S contexts of N rows and one query row per episode. */
export interface BatchInput {
  readonly structure: Structure;
  /** [S, N, M] state indices (MISSING allowed). */
  readonly contexts: Uint8Array;
  /** [S, M] query rows; the variables some node conditions on must be observed. */
  readonly queries: Uint8Array;
  readonly episodes: number; // S
  readonly rows: number; // N
  /** Strictly increasing prefix lengths in 0..N (L of them). */
  readonly lengths: readonly number[];
}

/** Counts of every node's states among the prefix rows, per episode and length. */
export interface BatchCounts {
  readonly structure: Structure;
  readonly queries: Uint8Array;
  readonly episodes: number;
  readonly lengths: readonly number[];
  /** Offsets of each node's states in the K axis (M + 1 entries; K = last). */
  readonly stateOffsets: Int32Array;
  /** [S, L, K]: rows matching the query on v's parents. */
  readonly parents: Int32Array;
  /** [S, L, K]: rows matching the query on every variable before v (null unless asked). */
  readonly naive: Int32Array | null;
  /** [S, L, K]: all rows observing v (the context marginal). */
  readonly marginal: Int32Array;
}

/** Estimates [S, L, K] and unseen flags [S, L, M] (1 when no prefix row matched). */
export interface BatchEstimate {
  readonly stateOffsets: Int32Array;
  readonly probs: Float64Array;
  readonly unseen: Uint8Array;
}

/** One counting pass per episode, snapshotting at each prefix length. */
export function batchCounts(input: BatchInput, opts: { naive?: boolean } = {}): BatchCounts {
  const { structure, queries, contexts, episodes: s, rows: n, lengths } = input;
  checkBatch(input);
  const naive = opts.naive === true;
  const sets = naive
    ? [...structure.parents, ...structure.variables.map((_, v) => naiveConditioning(structure, v))]
    : structure.parents;
  checkQueries(input, sets);
  const plan = makeCountPlan(structure, naive);
  const m = plan.cards.length;
  const kTot = plan.offs[m]!;
  const nl = lengths.length;
  const size = s * nl * kTot;
  const out: CountsOut = {
    parents: new Int32Array(size),
    naive: naive ? new Int32Array(size) : null,
    marginal: new Int32Array(size),
  };
  const counter = chooseCounter(plan, s, lengths);
  for (let e = 0; e < s; e++) {
    counter.start(queries, e * m);
    let done = 0;
    for (let l = 0; l < nl; l++) {
      const base = e * n * m;
      const bad = counter.add(contexts, base + done * m, base + lengths[l]! * m);
      if (bad >= 0) throw badCellError(structure, Math.floor(bad / m), bad % m, contexts[bad]!);
      done = lengths[l]!;
      counter.read(out, (e * nl + l) * kTot);
    }
  }
  return { structure, queries, episodes: s, lengths, stateOffsets: plan.offs, ...out };
}

/**
 * Below this many context cells read, the compiled loop's start (compiling, then running
 * unoptimised until V8 optimises it; tens of ms in a cold process) costs more than it
 * saves: measured crossover between 70,000 and 350,000 cells.
 */
const KERNEL_MIN_CELLS = 1 << 18;
/** Above this many variables the straight-line row loop gets too long to optimise well. */
const KERNEL_MAX_VARS = 256;
/** Largest total of family tables (configurations x states over all nodes) to compile. */
const KERNEL_MAX_FAMILY = 1 << 14;
/**
 * Compile only while reading (about F + 2K terms per length, F = family table entries) costs
 * at most this many times the row work (M per row): an interpreted (row, node) step costs
 * over 10 compiled steps or read terms (measured ~34, ~2.5 and ~2.7 ns; bench/results/mle.md).
 */
const KERNEL_READ_RATIO = 8;

/** The compiled counter when it pays (see the constants); the interpreted one otherwise. */
function chooseCounter(plan: CountPlan, s: number, lengths: readonly number[]): EpisodeCounter {
  const m = plan.cards.length;
  const longest = lengths.length > 0 ? lengths[lengths.length - 1]! : 0;
  const family = plan.fbase[m]!;
  const readWork = lengths.length * (family + 2 * plan.offs[m]!);
  const compile =
    s * longest * m >= KERNEL_MIN_CELLS &&
    m <= KERNEL_MAX_VARS &&
    family <= KERNEL_MAX_FAMILY &&
    readWork <= KERNEL_READ_RATIO * longest * m;
  return compile ? compiledCounter(plan) : interpretedCounter(plan);
}

function checkBatch(input: BatchInput): void {
  const { structure, contexts, queries, episodes: s, rows: n, lengths } = input;
  const m = structure.variables.length;
  const bad = (what: string): never => {
    throw new BnformerError("config", what, { path: ["batch"] });
  };
  if (!Number.isInteger(s) || s < 0 || !Number.isInteger(n) || n < 0)
    bad(`episodes and rows must be integers >= 0, got ${s} and ${n}`);
  if (contexts.length !== s * n * m)
    bad(`contexts hold ${contexts.length} cells; [S=${s}, N=${n}, M=${m}] needs ${s * n * m}`);
  if (queries.length !== s * m)
    bad(`queries hold ${queries.length} cells; [S=${s}, M=${m}] needs ${s * m}`);
  lengths.forEach((len, i) => {
    if (!Number.isInteger(len) || len < 0 || len > n)
      bad(`context length ${len} is not an integer in 0..${n}`);
    if (i > 0 && len <= lengths[i - 1]!)
      bad(`context lengths must increase strictly; ${len} follows ${lengths[i - 1]}`);
  });
}

/** Every query cell a node conditions on must be a valid, observed state. */
function checkQueries(input: BatchInput, sets: readonly (readonly number[])[]): void {
  const { structure, queries, episodes: s } = input;
  const m = structure.variables.length;
  const used = new Set<number>(sets.flat());
  for (let e = 0; e < s; e++) {
    for (const p of used) {
      const x = queries[e * m + p]!;
      const variable = structure.variables[p]!;
      if (x >= variable.states.length) {
        throw new BnformerError(
          "data",
          `query of episode ${e}: "${variable.name}" is ${x === MISSING ? "missing" : `state index ${x}`}; a conditioning variable needs a state in 0..${variable.states.length - 1}`,
          { path: ["queries", `episode ${e}`, variable.name] },
        );
      }
    }
  }
}

/** The counts an estimator divides: by parents, by every earlier variable (naive), or none. */
function countsFor(counts: BatchCounts, estimator: EstimatorName): Int32Array {
  if (estimator === "backoff") {
    throw new BnformerError("config", `batchEstimate does not implement "backoff"`, {
      path: ["estimator"],
    });
  }
  const source =
    estimator === "naive"
      ? counts.naive
      : estimator === "marginal"
        ? counts.marginal
        : counts.parents;
  if (source === null) {
    throw new BnformerError("config", `naive estimates need batchCounts(..., { naive: true })`, {
      path: ["estimator"],
    });
  }
  return source;
}

/**
 * Estimates from shared counts: mle, dirichlet, bdeu, k2 on the parent counts, naive on the
 * prefix counts (batchCounts with naive), marginal on the marginal counts. Unseen
 * configurations follow the options' unseen policy (mle, naive, marginal) or get the prior
 * mean (Bayesian estimators); the unseen flag is set either way.
 */
export function batchEstimate(counts: BatchCounts, opts: EstimatorOptions): BatchEstimate {
  const o = resolveEstimatorOptions(opts);
  const { structure, stateOffsets: offs, lengths } = counts;
  const source = countsFor(counts, o.estimator);
  const m = structure.variables.length;
  const sets = structure.variables.map((_, v) => conditioningSet(structure, v, o.estimator));
  const alpha = Float64Array.from(sets, (set, v) => pseudoCount(structure, v, set, o));
  const bayes = isBayesian(o.estimator);
  const kTot = offs[m]!;
  const nl = lengths.length;
  const probs = new Float64Array(counts.episodes * nl * kTot);
  const unseen = new Uint8Array(counts.episodes * nl * m);
  // One site function for the whole call, reading the current cell: the policy builds the
  // site only to name it in an error, and a closure per unseen cell showed in profiles.
  let [siteEl, siteV] = [0, 0];
  const site = (): UnseenSite => ({
    structure,
    target: siteV,
    conditioning: sets[siteV]!,
    states: sets[siteV]!.map((p) => counts.queries[Math.floor(siteEl / nl) * m + p]!),
    contextRows: lengths[siteEl % nl]!,
  });
  for (let el = 0; el < counts.episodes * nl; el++) {
    for (let v = 0; v < m; v++) {
      const at = el * kTot + offs[v]!;
      const k = offs[v + 1]! - offs[v]!;
      let nn = 0;
      for (let j = 0; j < k; j++) nn += source[at + j]!;
      if (nn === 0) {
        unseen[el * m + v] = 1;
        if (!bayes) {
          siteEl = el;
          siteV = v;
          applyUnseenPolicy(o.unseen, counts.marginal, site, probs, at, at, k);
          continue;
        }
      }
      const a = alpha[v]!;
      const denom = nn + k * a; // divide (not multiply by 1/denom): bit-equal to estimateConditional
      for (let j = 0; j < k; j++) probs[at + j] = (source[at + j]! + a) / denom;
    }
  }
  return { stateOffsets: offs, probs, unseen };
}

/**
 * Posterior means under the training prior (posterior.ts) from the parent counts: the
 * Bayes-optimal baseline. The uniform prior's quadrature is memoised per (count, n) within
 * the call. The unseen flag marks n = 0 (where the estimate is the prior mean).
 */
export function batchPosteriorMean(counts: BatchCounts, prior: CptPrior): BatchEstimate {
  const { stateOffsets: offs } = counts;
  const memo = new Map<number, number>();
  const nMax = counts.lengths.length > 0 ? counts.lengths[counts.lengths.length - 1]! : 0;
  const src = counts.parents;
  return fillEstimates(counts, (_e, _l, v, at, probs) => {
    const k = offs[v + 1]! - offs[v]!;
    const row = src.subarray(at, at + k);
    let nn = 0;
    for (let j = 0; j < k; j++) nn += row[j]!;
    if (prior.kind === "uniform" && k === 2) {
      const key = nn * (nMax + 1) + row[1]!;
      let p1 = memo.get(key);
      if (p1 === undefined) {
        p1 = uniformPosteriorMean(row[1]!, nn, prior.low, prior.high);
        memo.set(key, p1);
      }
      probs[at] = 1 - p1;
      probs[at + 1] = p1;
    } else {
      posteriorMean(prior, row, probs, at);
    }
    return nn === 0;
  });
}

/** Runs `cell` for every (episode, length, node), collecting probabilities and unseen flags. */
function fillEstimates(
  counts: BatchCounts,
  cell: (e: number, l: number, v: number, at: number, probs: Float64Array) => boolean,
): BatchEstimate {
  const { stateOffsets: offs, episodes: s, lengths } = counts;
  const m = offs.length - 1;
  const kTot = offs[m]!;
  const nl = lengths.length;
  const probs = new Float64Array(s * nl * kTot);
  const unseen = new Uint8Array(s * nl * m);
  for (let e = 0; e < s; e++) {
    for (let l = 0; l < nl; l++) {
      const row = (e * nl + l) * kTot;
      for (let v = 0; v < m; v++) {
        if (cell(e, l, v, row + offs[v]!, probs)) unseen[(e * nl + l) * m + v] = 1;
      }
    }
  }
  return { stateOffsets: offs, probs, unseen };
}

/** Counts plus the known-structure MLE and the naive MLE, sharing one counting pass. */
export function batchInContextMle(
  input: BatchInput,
  opts: Pick<EstimatorOptions, "unseen"> = {},
): { counts: BatchCounts; mle: BatchEstimate; naive: BatchEstimate } {
  const counts = batchCounts(input, { naive: true });
  const policy = opts.unseen === undefined ? {} : { unseen: opts.unseen };
  return {
    counts,
    mle: batchEstimate(counts, { estimator: "mle", ...policy }),
    naive: batchEstimate(counts, { estimator: "naive", ...policy }),
  };
}
