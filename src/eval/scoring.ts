/**
 * Scoring of one replicate seed (the inner loop of protocol.ts): draws the seed's episodes
 * batch by batch, asks every method at every length, checks each prediction is a
 * distribution, and accumulates per (method, length, node) the sum and sum of squares of
 * TV (tvDistance, metrics.ts) over episodes, plus the node average of each episode, the
 * unseen counts and the methods' fallback counts. Cells give mean, standard error
 * (sample sd / sqrt(episodes)) and fractions.
 */
import { BnformerError } from "../errors.ts";
import { cardinalities } from "../bn/network.ts";
import { batchCounts } from "../estimate/batch.ts";
import { tvDistance } from "./metrics.ts";
import type { EpisodeBatch, Method, MethodPrediction } from "./episodes.ts";
import { drawEpisodes, episodeStream, maxStates } from "./episodes.ts";
import type { ProtocolConfig, ProtocolProgress } from "./protocol.ts";

/** Node label of the node-averaged rows. */
export const NODE_MEAN = "(mean)";
/** Largest |sum - 1| (and most negative entry) accepted in a prediction (float32 softmax). */
export const PREDICTION_TOLERANCE = 1e-4;

/** One (method, seed, length, node) result: a row of the CSV. */
export interface TvCell {
  readonly method: string;
  readonly seed: number;
  readonly length: number;
  /** Node name, or NODE_MEAN for the node average. */
  readonly node: string;
  readonly tvMean: number;
  /** Standard error of tvMean over episodes (sample sd / sqrt(episodes)). */
  readonly tvSe: number;
  /** Fraction of episodes whose query parent configuration is absent from the first n rows. */
  readonly unseenFraction: number;
  /** Fraction of episodes where this method used its unseen fallback; null if not reported. */
  readonly fallbackFraction: number | null;
  readonly episodes: number;
}

/** Sums over episodes for one seed. Index order: method i, length l, node v (M + 1 = mean). */
class Accumulator {
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  readonly fallback: Float64Array;
  readonly unseen: Float64Array; // [L, M]
  readonly reportsFallback: boolean[];

  constructor(
    methods: number,
    readonly lengths: number,
    readonly nodes: number,
  ) {
    const size = methods * lengths * (nodes + 1);
    this.sum = new Float64Array(size);
    this.sumSq = new Float64Array(size);
    this.fallback = new Float64Array(size);
    this.unseen = new Float64Array(lengths * nodes);
    this.reportsFallback = new Array<boolean>(methods).fill(false);
  }

  at(i: number, l: number, v: number): number {
    return (i * this.lengths + l) * (this.nodes + 1) + v;
  }

  add(i: number, l: number, v: number, tv: number): void {
    const a = this.at(i, l, v);
    this.sum[a]! += tv;
    this.sumSq[a]! += tv * tv;
  }
}

/** Scores `methods` on `config.episodes` episodes of replicate `seed`; one cell per (method, length, node). */
export async function runSeed(
  config: ProtocolConfig,
  seed: number,
  methods: readonly Method[],
  onProgress?: (p: ProtocolProgress) => void,
): Promise<TvCell[]> {
  const { structure, lengths, episodes } = config;
  const m = structure.variables.length;
  const acc = new Accumulator(methods.length, lengths.length, m);
  const stream = episodeStream(config.evalSeed, seed);
  const rows = lengths[lengths.length - 1]!;
  for (let first = 0; first < episodes; first += config.batchSize) {
    const count = Math.min(config.batchSize, episodes - first);
    const { batch, truth } = drawEpisodes(
      stream,
      structure,
      config.prior,
      first,
      count,
      rows,
      lengths,
    );
    countUnseen(batch, acc);
    for (let i = 0; i < methods.length; i++) {
      for (let l = 0; l < lengths.length; l++) {
        const out = await methods[i]!.predict(batch, lengths[l]!);
        scoreBatch(batch, truth, out, methods[i]!.name, i, l, acc);
      }
    }
    onProgress?.({ seed, done: first + count, total: episodes });
  }
  return cellsOf(config, seed, methods, acc);
}

/** Adds, per (length, node), the episodes whose query parent configuration is unseen. */
function countUnseen(batch: EpisodeBatch, acc: Accumulator): void {
  const counts = batchCounts(batch);
  const offs = counts.stateOffsets;
  const m = acc.nodes;
  const nl = acc.lengths;
  for (let e = 0; e < batch.episodes; e++) {
    for (let l = 0; l < nl; l++) {
      const base = (e * nl + l) * offs[m]!;
      for (let v = 0; v < m; v++) {
        let n = 0;
        for (let j = offs[v]!; j < offs[v + 1]!; j++) n += counts.parents[base + j]!;
        if (n === 0) acc.unseen[l * m + v]!++;
      }
    }
  }
}

/** Validates one prediction and adds its per-node and node-mean TVs. */
function scoreBatch(
  batch: EpisodeBatch,
  truth: Float64Array,
  out: Float64Array | MethodPrediction,
  name: string,
  i: number,
  l: number,
  acc: Accumulator,
): void {
  const { probs, fallback } =
    out instanceof Float64Array ? { probs: out, fallback: undefined } : out;
  const structure = batch.structure;
  const m = structure.variables.length;
  const k = maxStates(structure);
  const cards = cardinalities(structure);
  const s = batch.episodes;
  if (probs.length !== s * m * k || (fallback !== undefined && fallback.length !== s * m)) {
    throw new BnformerError(
      "estimate",
      `method "${name}" returned ${probs.length} probabilities${fallback ? ` and ${fallback.length} fallback flags` : ""}; [S=${s}, M=${m}, K=${k}] needs ${s * m * k}${fallback ? ` and ${s * m}` : ""}`,
      { path: ["eval", name, `length ${batch.lengths[l]}`] },
    );
  }
  if (fallback !== undefined) acc.reportsFallback[i] = true;
  for (let e = 0; e < s; e++) {
    let mean = 0;
    for (let v = 0; v < m; v++) {
      const o = (e * m + v) * k;
      const p = probs.subarray(o, o + cards[v]!);
      checkDistribution(p, name, batch, e, v, l);
      const tv = tvDistance(p, truth.subarray(o, o + cards[v]!));
      acc.add(i, l, v, tv);
      mean += tv / m;
      if (fallback !== undefined && fallback[e * m + v]) acc.fallback[acc.at(i, l, v)]!++;
    }
    acc.add(i, l, m, mean);
  }
}

function checkDistribution(
  p: Float64Array,
  name: string,
  batch: EpisodeBatch,
  e: number,
  v: number,
  l: number,
): void {
  let sum = 0;
  let ok = true;
  for (let j = 0; j < p.length; j++) {
    ok &&= p[j]! >= -PREDICTION_TOLERANCE && Number.isFinite(p[j]!);
    sum += p[j]!;
  }
  if (ok && Math.abs(sum - 1) <= PREDICTION_TOLERANCE) return;
  const node = batch.structure.variables[v]!.name;
  throw new BnformerError(
    "estimate",
    `method "${name}" predicted [${Array.from(p).join(", ")}]; expected ${p.length} probabilities >= 0 summing to 1 (tolerance ${PREDICTION_TOLERANCE})`,
    {
      path: ["eval", name, `length ${batch.lengths[l]}`, `episode ${batch.firstEpisode + e}`, node],
    },
  );
}

function cellsOf(
  config: ProtocolConfig,
  seed: number,
  methods: readonly Method[],
  acc: Accumulator,
): TvCell[] {
  const s = config.episodes;
  const m = acc.nodes;
  const names = config.structure.variables.map((x) => x.name);
  const cells: TvCell[] = [];
  methods.forEach((method, i) => {
    config.lengths.forEach((length, l) => {
      let unseenMean = 0;
      let fallbackMean = 0;
      for (let v = 0; v <= m; v++) {
        const a = acc.at(i, l, v);
        const mean = acc.sum[a]! / s;
        const variance = s > 1 ? Math.max(0, (acc.sumSq[a]! - s * mean * mean) / (s - 1)) : 0;
        const unseen = v < m ? acc.unseen[l * m + v]! / s : unseenMean / m;
        const fallback = v < m ? acc.fallback[a]! / s : fallbackMean / m;
        unseenMean += v < m ? unseen : 0;
        fallbackMean += v < m ? fallback : 0;
        cells.push({
          method: method.name,
          seed,
          length,
          node: v < m ? names[v]! : NODE_MEAN,
          tvMean: mean,
          tvSe: Math.sqrt(variance / s),
          unseenFraction: unseen,
          fallbackFraction: acc.reportsFallback[i] ? fallback : null,
          episodes: s,
        });
      }
    });
  });
  return cells;
}
