/**
 * Batched in-context estimation for the evaluation shape: S episodes, each a context of N
 * rows over M variables and one query row; for every episode, every prefix length in
 * `lengths` and every node v, the estimate of P(v | query's parent configuration) from the
 * first `length` context rows, with a flag when that configuration is unseen.
 *
 * One pass over each episode's rows counts incrementally and snapshots the counts at each
 * prefix length, so all lengths cost one count of the longest. Per row it builds a bitmask
 * of the variables equal to the query, so "matches on the parents" (or on the naive prefix)
 * is one AND per node. The same counts serve every estimator (batchEstimate) and the
 * posterior mean under a training prior (batchPosteriorMean).
 *
 * Layouts (flat, row-major): contexts [S, N, M], queries [S, M]; counts and probabilities
 * [S, L, K] with K = sum_v k_v and node v's states at stateOffsets[v] .. stateOffsets[v+1];
 * unseen flags [S, L, M]. Missing cells follow counts.ts: a row with v or one of its
 * conditioning variables missing is not counted for v.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { MISSING } from "../bn/dataset.ts";
import { applyUnseenPolicy } from "./policy.ts";
import type { UnseenSite } from "./policy.ts";
import type { EstimatorOptions } from "./options.ts";
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

/** Bit masks of each node's conditioning set, W 32-bit words per node. */
function masks(sets: readonly (readonly number[])[], w: number): Int32Array {
  const out = new Int32Array(sets.length * w); // signed, like the result of &, so bit 31 compares equal
  sets.forEach((set, v) => {
    for (const p of set) out[v * w + (p >>> 5)]! |= 1 << (p & 31);
  });
  return out;
}

/** One counting pass per episode, snapshotting at each prefix length. */
export function batchCounts(input: BatchInput, opts: { naive?: boolean } = {}): BatchCounts {
  const { structure, contexts, queries, episodes: s, rows: n, lengths } = input;
  const m = structure.variables.length;
  checkBatch(input);
  const cards = Int32Array.from(structure.variables, (v) => v.states.length);
  const offs = new Int32Array(m + 1);
  for (let v = 0; v < m; v++) offs[v + 1] = offs[v]! + cards[v]!;
  const kTot = offs[m]!;
  const w = (m + 31) >>> 5;
  const parentSets = structure.parents;
  const naiveSets = opts.naive
    ? structure.variables.map((_, v) => naiveConditioning(structure, v))
    : [];
  checkQueries(input, opts.naive ? [...parentSets, ...naiveSets] : parentSets);
  const pm = masks(parentSets, w);
  const nm = masks(naiveSets, w);
  const nl = lengths.length;
  const outP = new Int32Array(s * nl * kTot);
  const outN = opts.naive ? new Int32Array(s * nl * kTot) : null;
  const outM = new Int32Array(s * nl * kTot);
  const cntP = new Int32Array(kTot);
  const cntN = new Int32Array(kTot);
  const cntM = new Int32Array(kTot);
  const eq = new Int32Array(w);
  for (let e = 0; e < s; e++) {
    cntP.fill(0);
    cntN.fill(0);
    cntM.fill(0);
    const q = e * m;
    let li = 0;
    const snapshot = (): void => {
      const at = (e * nl + li) * kTot;
      outP.set(cntP, at);
      outN?.set(cntN, at);
      outM.set(cntM, at);
      li++;
    };
    while (li < nl && lengths[li] === 0) snapshot();
    for (let i = 0; li < nl && i < n; i++) {
      const base = (e * n + i) * m;
      eq.fill(0);
      for (let v = 0; v < m; v++) {
        const x = contexts[base + v]!;
        if (x === queries[q + v] && x !== MISSING) eq[v >>> 5]! |= 1 << (v & 31);
      }
      for (let v = 0; v < m; v++) {
        const x = contexts[base + v]!;
        if (x === MISSING) continue;
        if (x >= cards[v]!) throw badCellError(structure, e * n + i, v, x);
        const off = offs[v]! + x;
        cntM[off]!++;
        let okP = true;
        let okN = outN !== null;
        for (let j = 0; j < w; j++) {
          const bits = eq[j]!;
          const a = pm[v * w + j]!;
          okP = okP && (bits & a) === a;
          if (okN) {
            const b = nm[v * w + j]!;
            okN = (bits & b) === b;
          }
        }
        if (okP) cntP[off]!++;
        if (okN) cntN[off]!++;
      }
      if (i + 1 === lengths[li]) snapshot();
    }
  }
  return {
    structure,
    queries,
    episodes: s,
    lengths,
    stateOffsets: offs,
    parents: outP,
    naive: outN,
    marginal: outM,
  };
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

/**
 * Estimates from shared counts: mle, dirichlet, bdeu, k2 on the parent counts, naive on the
 * prefix counts (batchCounts with naive), marginal on the marginal counts. Unseen
 * configurations follow the options' unseen policy (mle, naive, marginal) or get the prior
 * mean (Bayesian estimators); the unseen flag is set either way.
 */
export function batchEstimate(counts: BatchCounts, opts: EstimatorOptions): BatchEstimate {
  const o = resolveEstimatorOptions(opts);
  const { structure, stateOffsets: offs, lengths } = counts;
  if (o.estimator === "backoff") {
    throw new BnformerError("config", `batchEstimate does not implement "backoff"`, {
      path: ["estimator"],
    });
  }
  const source =
    o.estimator === "naive"
      ? counts.naive
      : o.estimator === "marginal"
        ? counts.marginal
        : counts.parents;
  if (source === null) {
    throw new BnformerError("config", `naive estimates need batchCounts(..., { naive: true })`, {
      path: ["estimator"],
    });
  }
  const m = structure.variables.length;
  const sets = structure.variables.map((_, v) => conditioningSet(structure, v, o.estimator));
  const alpha = sets.map((set, v) => pseudoCount(structure, v, set, o));
  const bayes = isBayesian(o.estimator);
  return fillEstimates(counts, (e, l, v, at, probs) => {
    const k = offs[v + 1]! - offs[v]!;
    let nn = 0;
    for (let j = 0; j < k; j++) nn += source[at + j]!;
    if (nn === 0 && !bayes) {
      const site = (): UnseenSite => ({
        structure,
        target: v,
        conditioning: sets[v]!,
        states: sets[v]!.map((p) => counts.queries[e * m + p]!),
        contextRows: lengths[l]!,
      });
      applyUnseenPolicy(o.unseen, counts.marginal.subarray(at, at + k), site, probs, at);
      return nn === 0;
    }
    const a = alpha[v]!;
    for (let j = 0; j < k; j++) probs[at + j] = (source[at + j]! + a) / (nn + k * a);
    return nn === 0;
  });
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
