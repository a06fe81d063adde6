/**
 * Batched in-context estimation for the evaluation shape: S episodes, each a context of N
 * rows over M variables and one query row; for every episode, every prefix length in
 * `lengths` and every node v, the estimate of P(v | query's parent configuration) from the
 * first `length` context rows, with a flag when that configuration is unseen.
 *
 * One pass over each episode's rows counts incrementally and snapshots the counts at each
 * prefix length, so all lengths cost one count of the longest. Per row it marks the
 * variables equal to the query; "matches on the parents" is an AND over the parent list and
 * "matches on the naive prefix" a running AND along the topological order. The same counts
 * serve every estimator (batchEstimate) and the posterior mean under a training prior
 * (batchPosteriorMean).
 *
 * Layouts (flat, row-major): contexts [S, N, M], queries [S, M]; counts and probabilities
 * [S, L, K] with K = sum_v k_v and node v's states at stateOffsets[v] .. stateOffsets[v+1];
 * unseen flags [S, L, M]. Missing cells follow counts.ts: a row with v or one of its
 * conditioning variables missing is not counted for v.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { topologicalOrder } from "../bn/network.ts";
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

/** One counting pass per episode, snapshotting at each prefix length. */
export function batchCounts(input: BatchInput, opts: { naive?: boolean } = {}): BatchCounts {
  const { structure, queries, episodes: s, lengths } = input;
  checkBatch(input);
  const naive = opts.naive === true;
  const sets = naive
    ? [...structure.parents, ...structure.variables.map((_, v) => naiveConditioning(structure, v))]
    : structure.parents;
  checkQueries(input, sets);
  const plan = makePlan(structure, lengths);
  const size = s * lengths.length * plan.kTot;
  const out: Tallies = {
    parents: new Int32Array(size),
    naive: naive ? new Int32Array(size) : null,
    marginal: new Int32Array(size),
  };
  for (let e = 0; e < s; e++) countEpisode(input, plan, e, out);
  const offs = plan.offs;
  return {
    structure,
    queries,
    episodes: s,
    lengths,
    stateOffsets: offs,
    ...out,
  };
}

/** Count arrays for the three conditioning sets (naive null when not asked for). */
interface Tallies {
  parents: Int32Array;
  naive: Int32Array | null;
  marginal: Int32Array;
}

/** Loop-invariant tables: state offsets, topological order, parent lists and masks. */
interface Plan {
  cards: Int32Array;
  offs: Int32Array; // M + 1 offsets into the K axis
  kTot: number;
  order: Int32Array; // topological order (the naive prefix grows along it)
  pstart: Int32Array; // parents of v are plist[pstart[v] .. pstart[v + 1])
  plist: Int32Array;
  /** M <= MASK_VARS only: bit masks of v's parents and of v's naive prefix. */
  pmask: Int32Array | null;
  nmask: Int32Array | null;
  lengths: Int32Array;
}

/** Up to this many variables a row's equalities to the query fit one int32 bit mask. */
const MASK_VARS = 31;

function makePlan(structure: Structure, lengths: readonly number[]): Plan {
  const m = structure.variables.length;
  const cards = Int32Array.from(structure.variables, (v) => v.states.length);
  const offs = new Int32Array(m + 1);
  for (let v = 0; v < m; v++) offs[v + 1] = offs[v]! + cards[v]!;
  const pstart = new Int32Array(m + 1);
  structure.parents.forEach((ps, v) => (pstart[v + 1] = pstart[v]! + ps.length));
  const toMask = (set: readonly number[]) => set.reduce((a, p) => a | (1 << p), 0);
  const small = m <= MASK_VARS;
  return {
    cards,
    offs,
    kTot: offs[m]!,
    order: Int32Array.from(topologicalOrder(structure)),
    pstart,
    plist: Int32Array.from(structure.parents.flat()),
    pmask: small ? Int32Array.from(structure.parents, toMask) : null,
    nmask: small
      ? Int32Array.from(structure.variables, (_, v) => toMask(naiveConditioning(structure, v)))
      : null,
    lengths: Int32Array.from(lengths),
  };
}

/** Running counts of one episode; `snapshot` copies them into row (e, l) of the output. */
class EpisodeTally {
  readonly p: Int32Array;
  readonly n: Int32Array;
  readonly m: Int32Array;
  constructor(kTot: number) {
    this.p = new Int32Array(kTot);
    this.n = new Int32Array(kTot);
    this.m = new Int32Array(kTot);
  }
  snapshot(out: Tallies, at: number): void {
    out.parents.set(this.p, at);
    out.naive?.set(this.n, at);
    out.marginal.set(this.m, at);
  }
}

/**
 * Counts episode e row by row, snapshotting before row i when i is a context length.
 * A row matches v's parents when it equals the query on each; it matches v's naive prefix
 * when it equals the query on every earlier variable in topological order. Equality is
 * branch-free, (d - 1) >>> 31 being 1 iff d = 0; a MISSING cell never equals a conditioning
 * variable's query value (validated < 255). With M <= MASK_VARS the equalities form one bit
 * mask and each match is one AND; otherwise parents are ANDed from a list and the prefix
 * is a running AND along the topological order.
 */
function countEpisode(input: BatchInput, plan: Plan, e: number, out: Tallies): void {
  const { structure, contexts, rows: n } = input;
  const { cards, offs, kTot, order, pstart, plist, pmask, nmask, lengths } = plan;
  const m = cards.length;
  const nl = lengths.length;
  const naive = out.naive !== null;
  const query = input.queries.subarray(e * m, (e + 1) * m);
  const t = new EpisodeTally(kTot);
  const { p: cntP, n: cntN, m: cntM } = t;
  const eq = new Int32Array(m);
  let li = 0;
  for (let i = 0; ; i++) {
    while (li < nl && lengths[li] === i) t.snapshot(out, (e * nl + li++) * kTot);
    if (li === nl) return; // lengths <= N, so this ends the loop by i = N
    const base = (e * n + i) * m;
    if (pmask !== null && nmask !== null) {
      let bits = 0;
      for (let v = 0; v < m; v++) bits |= (((contexts[base + v]! ^ query[v]!) - 1) >>> 31) << v;
      for (let v = 0; v < m; v++) {
        const x = contexts[base + v]!;
        if (x >= cards[v]!) {
          if (x === MISSING) continue;
          throw badCellError(structure, e * n + i, v, x);
        }
        const off = offs[v]! + x;
        const a = pmask[v]!;
        cntM[off]!++;
        cntP[off]! += (((bits & a) ^ a) - 1) >>> 31;
        if (naive) {
          const b = nmask[v]!;
          cntN[off]! += (((bits & b) ^ b) - 1) >>> 31;
        }
      }
      continue;
    }
    for (let v = 0; v < m; v++) eq[v] = ((contexts[base + v]! ^ query[v]!) - 1) >>> 31;
    let prefix = 1;
    for (let r = 0; r < m; r++) {
      const v = order[r]!;
      const x = contexts[base + v]!;
      if (x >= cards[v]!) {
        if (x !== MISSING) throw badCellError(structure, e * n + i, v, x);
        prefix &= eq[v]!;
        continue;
      }
      const off = offs[v]! + x;
      let ok = 1;
      for (let j = pstart[v]!; j < pstart[v + 1]!; j++) ok &= eq[plist[j]!]!;
      cntM[off]!++;
      cntP[off]! += ok;
      cntN[off]! += prefix;
      prefix &= eq[v]!;
    }
  }
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
  const alpha = Float64Array.from(sets, (set, v) => pseudoCount(structure, v, set, o));
  const bayes = isBayesian(o.estimator);
  const kTot = offs[m]!;
  const nl = lengths.length;
  const probs = new Float64Array(counts.episodes * nl * kTot);
  const unseen = new Uint8Array(counts.episodes * nl * m);
  for (let el = 0; el < counts.episodes * nl; el++) {
    for (let v = 0; v < m; v++) {
      const at = el * kTot + offs[v]!;
      const k = offs[v + 1]! - offs[v]!;
      let nn = 0;
      for (let j = 0; j < k; j++) nn += source[at + j]!;
      if (nn === 0) unseen[el * m + v] = 1;
      if (nn === 0 && !bayes) {
        const [e, l] = [Math.floor(el / nl), el % nl];
        const site = (): UnseenSite => ({
          structure,
          target: v,
          conditioning: sets[v]!,
          states: sets[v]!.map((p) => counts.queries[e * m + p]!),
          contextRows: lengths[l]!,
        });
        applyUnseenPolicy(o.unseen, counts.marginal, site, probs, at, at, k);
        continue;
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
