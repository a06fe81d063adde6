/**
 * Evaluation episodes and the method interface of the evaluation protocol (PAPER.md §3).
 *
 * An episode is one CPT set drawn from the prior, a context of N rows sampled from it, and a
 * fresh query row sampled from the same network. Episode e of a stream uses `rng.fork(e)`
 * and inside it fork(0) for the CPTs, fork(1) for the context and fork(2) for the query, so
 * an episode is the same whatever the batch size, the first episode of the batch, or N
 * (the context rows are drawn one row after another, so a longer context extends a
 * shorter one). A context of length n is the first n rows of the episode's context.
 *
 * Shapes (dimension letters): S episodes in a batch, N context rows, M variables, K the
 * largest cardinality, L evaluation lengths. Node v's distribution occupies entries
 * [0, k_v) of its K slots; the rest are 0 in the truth and ignored in predictions.
 *
 * A method answers, for every episode and every node v, the distribution of v at the
 * query's configuration of v's parents, from the first n context rows. The query row is
 * complete (one batch serves every target): a method predicting v must read only the
 * query's entries of variables before v in topological order.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { cardinalities } from "../bn/network.ts";
import type { Rng } from "../bn/rng.ts";
import { createRng } from "../bn/rng.ts";
import { cptRow, parentConfigIndex } from "../bn/cpt.ts";
import type { CptPrior } from "../bn/priors.ts";
import { sampleNetwork } from "../bn/priors.ts";
import { sampleRows } from "../bn/sample.ts";

/** What a method sees: S episodes' contexts and queries (never the CPTs). */
export interface EpisodeBatch {
  readonly structure: Structure;
  /** Index of this batch's first episode in its stream (episode i here is firstEpisode + i). */
  readonly firstEpisode: number;
  readonly episodes: number; // S
  readonly rows: number; // N (the largest evaluation length)
  /** Every length the protocol will ask about, increasing (methods may precompute them all). */
  readonly lengths: readonly number[];
  /** [S, N, M] state indices. */
  readonly contexts: Uint8Array;
  /** [S, M] complete query rows; see the module header for what a method may read. */
  readonly queries: Uint8Array;
}

/** A batch plus the truth the protocol scores against. */
export interface EpisodeDraw {
  readonly batch: EpisodeBatch;
  /** [S, M, K]: the true CPT row of each node at the query's parent configuration. */
  readonly truth: Float64Array;
}

/** A method's answer: probabilities [S, M, K], optionally where it used its unseen fallback. */
export interface MethodPrediction {
  readonly probs: Float64Array;
  /** [S, M]: 1 where the method's conditioning configuration was unseen (it fell back). */
  readonly fallback?: Uint8Array;
}

/** Anything that predicts each node's conditional at the query from the first n rows. */
export interface Method {
  /** Unique within a run; used in every output (CSV, legends, tables). */
  readonly name: string;
  /** One line for the report, e.g. "MLE with the true parents". */
  readonly description?: string;
  /** Probabilities [S, M, K] (or a MethodPrediction) for context length n (one of batch.lengths). */
  predict(
    batch: EpisodeBatch,
    n: number,
  ): Float64Array | MethodPrediction | Promise<Float64Array | MethodPrediction>;
}

/** Largest cardinality K of the structure (the last axis of predictions and truth). */
export function maxStates(structure: Structure): number {
  return Math.max(...cardinalities(structure));
}

/** The stream of episodes for evaluation seed `evalSeed` and replicate (training) seed `seed`. */
export function episodeStream(evalSeed: number, seed: number): Rng {
  return createRng(evalSeed).fork(seed);
}

/**
 * Episodes first .. first + count - 1 of `stream`, each with `rows` context rows; episode e
 * uses stream.fork(e) (see the module header).
 */
export function drawEpisodes(
  stream: Rng,
  structure: Structure,
  prior: CptPrior,
  first: number,
  count: number,
  rows: number,
  lengths: readonly number[] = [rows],
): EpisodeDraw {
  for (const [what, x] of [
    ["first episode", first],
    ["episode count", count],
    ["context rows", rows],
  ] as const) {
    if (!Number.isInteger(x) || x < 0) {
      throw new BnformerError("config", `${what} must be an integer >= 0, got ${x}`, {
        path: ["episodes"],
      });
    }
  }
  const m = structure.variables.length;
  const k = maxStates(structure);
  const cards = cardinalities(structure);
  const contexts = new Uint8Array(count * rows * m); // [S, N, M]
  const queries = new Uint8Array(count * m); // [S, M]
  const truth = new Float64Array(count * m * k); // [S, M, K]
  for (let i = 0; i < count; i++) {
    const rng = stream.fork(first + i);
    const net = sampleNetwork(rng.fork(0), structure, prior);
    contexts.set(sampleRows(rng.fork(1), net, rows).data, i * rows * m);
    const query = sampleRows(rng.fork(2), net, 1).data;
    queries.set(query, i * m);
    for (let v = 0; v < m; v++) {
      const row = cptRow(net.cpts[v]!, cards[v]!, parentConfigIndex(net, v, query));
      truth.set(row, (i * m + v) * k);
    }
  }
  const batch = {
    structure,
    firstEpisode: first,
    episodes: count,
    rows,
    lengths,
    contexts,
    queries,
  };
  return { batch, truth };
}
