/**
 * The evaluation of a structure-free model (issue 10, docs/structure-free.md): a row-token
 * transformer trained on random DAGs and never told the structure, against exact Bayesian
 * model averaging over parent sets (BMA, src/estimate/bma.ts) under the same structure and
 * CPT priors, the known-structure posterior mean and MLE, and naive.
 *
 * Sets of networks: "held-out random" (a new `modularRandomDag` per episode, the model's
 * training prior; its node count and p, K unless overridden) and fixed graphs (chain7,
 * tree7, general5). A fixed graph with fewer variables than the model's layout is padded
 * with independent root variables appended after its own (so they precede nothing and no
 * method's answer for the graph's own nodes changes), and only its own nodes are scored.
 * An episode draws (held-out: a DAG, then) CPTs from the prior, a context of the longest
 * length (shorter lengths use its prefix) and `edgeQueries` query rows; the first is the TV
 * query. TV is node-averaged (pretrained.ts `nodeAveragedTv`): TV to the true CPT row at the
 * query's parent configuration, averaged over the scored nodes. A point is one (set,
 * length, method, seed): the mean over episodes; across seeds mean ± sd.
 *
 * Edge recovery: for every pair i < j of scored nodes and episode, the model's sensitivity
 * score is the TV between its conditional of j at a query row and at the same row with x_i
 * changed to each other state, averaged over those states and the query rows; BMA's score
 * is its posterior P(i -> j | context). Each is scored by the AUROC of the pooled (episode,
 * pair) scores against the true edges (ties count one half), per (set, length, seed).
 *
 * The model runs through the jax-js executor (float32), batched: per length, chunks of
 * episodes whose sequences are the n context rows then every query token (M targets per
 * query row, plus one token per (pair, other state)), each length one compiled shape.
 * Every draw comes from createRng(evalSeed) forked by set, seed and episode.
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "../bn/network.ts";
import { cardinalities } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { createRng } from "../bn/rng.ts";
import type { ModularDagOptions } from "../bn/families.ts";
import { modularRandomDag } from "../bn/families.ts";
import type { CptPrior } from "../bn/priors.ts";
import { priorLabel, sampleNetwork } from "../bn/priors.ts";
import { sampleRows } from "../bn/sample.ts";
import { posteriorMean } from "../estimate/posterior.ts";
import { queryCounts } from "../estimate/counts.ts";
import { estimateBmaWithPosterior } from "../estimate/bma.ts";
import { estimatorEngine } from "../model/engine.ts";
import type { Query, TokenLayout } from "../model/encoding.ts";
import { encodeBatch } from "../model/encoding.ts";
import { TOKEN_PAD } from "../model/spec.ts";
import type { JaxExecutor, JaxParams, TokenBatch } from "../model/jax/executor.ts";
import { createExecutor, paramsFromWeights } from "../model/jax/executor.ts";
import { jaxLib } from "../model/jax/setup.ts";
import type { StructureFreeModel } from "../train/pretrained-free.ts";
import { structureLayout } from "../train/tasks.ts";
import { modularDagOptions } from "../train/tasks.ts";
import { tvDistance } from "./metrics.ts";
import { meanSd, meetsTarget } from "./summary.ts";
import { csv } from "./results-io.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "./baselines.ts";
import {
  DEFAULT_EVAL_SEED,
  HELD_OUT_NAME,
  MODEL,
  nodeAveragedTv,
  requirePositiveInteger,
} from "./pretrained.ts";
import { DEFAULT_TOKENS_PER_CHUNK, softmaxInto } from "./model-method.ts";

/** The BMA method's name. */
export const BMA = "bma";

/** The methods in the order tables and figures show them. */
export const STRUCTURE_FREE_METHODS = [MODEL, BMA, POSTERIOR_MEAN, MLE, NAIVE] as const;

/** The lengths. */
export const STRUCTURE_FREE_LENGTHS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200];

/** The target: the model's TV at most this times BMA's on held-out random DAGs. */
export const BMA_FACTOR = 1.1;

/** Evaluation settings; `defaultStructureFreeOptions` gives the issue's. */
export interface StructureFreeEvalOptions {
  readonly episodes: number;
  readonly seeds: number;
  readonly evalSeed: number;
  readonly lengths: readonly number[];
  /** The held-out random DAGs (and the structure prior BMA assumes everywhere). */
  readonly heldOut: ModularDagOptions;
  /** The fixed graphs (CPTs from `prior` per episode); each fits the model's layout once padded. */
  readonly fixed: readonly Structure[];
  /** CPT prior of every episode, and BMA's and the posterior mean's. */
  readonly prior: CptPrior;
  /** Query rows per episode the sensitivity score averages over (the first is the TV query). */
  readonly edgeQueries: number;
  /** Sequences x tokens per forward pass (memory vs call overhead; no effect on results). */
  readonly tokensPerChunk: number;
}

/** The settings for `model`: its own DAG and CPT priors, the paper graphs given. */
export function defaultStructureFreeOptions(
  model: Pick<StructureFreeModel, "task">,
  fixed: readonly Structure[],
): StructureFreeEvalOptions {
  const r = model.task.config.randomDag;
  if (r === null)
    throw new BnformerError(
      "config",
      "the model was trained on given structures, not random DAGs: nothing structure-free to evaluate",
      { path: ["task", "randomDag"] },
    );
  const modular = modularDagOptions(r);
  const heldOut: ModularDagOptions = modular ?? {
    // An edge-range model: held out on the modular prior over its node count.
    nodes: { min: r.nodes, max: r.nodes },
    states: { min: r.states, max: r.states },
    edgeProb: 0.35,
    maxParents: 3,
  };
  return {
    episodes: 2000,
    seeds: 3,
    evalSeed: DEFAULT_EVAL_SEED,
    lengths: STRUCTURE_FREE_LENGTHS,
    heldOut,
    fixed,
    prior: model.task.config.prior,
    edgeQueries: 1,
    tokensPerChunk: DEFAULT_TOKENS_PER_CHUNK,
  };
}

/** One (set, length, method, seed): mean node-averaged TV over the seed's episodes. */
export interface StructureFreePoint {
  readonly network: string;
  readonly length: number;
  readonly method: string;
  readonly seed: number;
  readonly tv: number;
  readonly episodes: number;
}

/** One (set, length, score, seed): AUROC of the pooled edge scores; null without both classes. */
export interface EdgePoint {
  readonly network: string;
  readonly length: number;
  /** "model-sensitivity" or "bma-posterior". */
  readonly score: string;
  readonly seed: number;
  readonly auroc: number | null;
  /** (episode, pair) items scored, and how many of them are true edges. */
  readonly pairs: number;
  readonly edges: number;
}

/** The model's TV over BMA's (or another reference's) at one (set, length). */
export interface StructureFreeRatio {
  readonly network: string;
  readonly length: number;
  readonly reference: string;
  /** Mean over seeds of the per-seed ratio; null when a reference TV is 0. */
  readonly ratio: number | null;
  readonly ratioSd: number | null;
  /** The check (held-out vs BMA only); null elsewhere. */
  readonly met: boolean | null;
}

/** Everything one evaluation produced. */
export interface StructureFreeEvalResult {
  readonly model: string;
  readonly options: StructureFreeEvalOptions;
  readonly points: StructureFreePoint[];
  readonly edges: EdgePoint[];
  readonly ratios: StructureFreeRatio[];
  readonly seconds: number;
}

export const MODEL_SENSITIVITY = "model-sensitivity";
export const BMA_POSTERIOR = "bma-posterior";

/** One set of networks: its name, its scored node count and how an episode draws a network. */
interface NetworkSet {
  readonly name: string;
  /** Nodes scored: the first `scored` of every network (the rest pad a smaller graph). */
  readonly scored: number;
  structure(rng: ReturnType<typeof createRng>): Structure;
}

/** An episode: the network, its longest context and its query rows. */
interface Episode {
  readonly net: Network;
  readonly context: Dataset;
  readonly queries: Dataset;
}

/** AUROC of `scores` against `labels` (1 = positive), ties counted one half; null without both classes. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let t = i; t <= j; t++)
      if (labels[idx[t]!]) {
        pos++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * `structure` with independent root variables appended up to the layout's variable count
 * (states from the layout); refused unless the result has the model's layout.
 */
export function padToLayout(structure: Structure, layout: TokenLayout): Structure {
  const m = structure.variables.length;
  const bad = (why: string) =>
    new BnformerError(
      "config",
      `network "${structure.name}" does not fit the model's layout (${layout.vars} variables, ` +
        `cardinalities [${layout.cards.join(",")}], in index order): ${why}`,
      { path: ["structure"] },
    );
  if (m > layout.vars) throw bad(`it has ${m} variables`);
  const cards = cardinalities(structure);
  if (cards.some((k, i) => k !== layout.cards[i])) throw bad(`cardinalities [${cards.join(",")}]`);
  if (structure.parents.some((ps, v) => ps.some((p) => p >= v)))
    throw bad("its variables are not in topological order");
  const names = new Set(structure.variables.map((v) => v.name));
  const extra = Array.from({ length: layout.vars - m }, (_, i) => {
    let name = `pad${i + 1}`;
    while (names.has(name)) name = `_${name}`;
    const states = Array.from({ length: layout.cards[m + i]! }, (_, s) => String(s));
    return { name, states };
  });
  return {
    name: structure.name,
    variables: [...structure.variables, ...extra],
    parents: [...structure.parents, ...extra.map(() => [])],
  };
}

function prefix(d: Dataset, n: number): Dataset {
  return { vars: d.vars, rows: n, data: d.data.subarray(0, n * d.vars) };
}

const MLE_ENGINE = estimatorEngine({ estimator: "mle" });
const NAIVE_ENGINE = estimatorEngine({ estimator: "naive" });

/** Accumulates TV sums and edge scores. */
class Sums {
  private readonly tv = new Map<string, StructureFreePoint>();
  private readonly edgeItems = new Map<
    string,
    { key: Omit<EdgePoint, "auroc" | "pairs" | "edges">; scores: number[]; labels: number[] }
  >();
  addTv(network: string, length: number, method: string, seed: number, tv: number): void {
    const key = JSON.stringify([network, length, method, seed]);
    const p = this.tv.get(key) ?? { network, length, method, seed, tv: 0, episodes: 0 };
    this.tv.set(key, { ...p, tv: p.tv + tv, episodes: p.episodes + 1 });
  }
  addEdge(
    network: string,
    length: number,
    score: string,
    seed: number,
    value: number,
    isEdge: boolean,
  ): void {
    const key = JSON.stringify([network, length, score, seed]);
    let s = this.edgeItems.get(key);
    if (!s)
      this.edgeItems.set(
        key,
        (s = { key: { network, length, score, seed }, scores: [], labels: [] }),
      );
    s.scores.push(value);
    s.labels.push(isEdge ? 1 : 0);
  }
  points(): StructureFreePoint[] {
    return [...this.tv.values()].map((p) => ({ ...p, tv: p.tv / p.episodes }));
  }
  edges(): EdgePoint[] {
    return [...this.edgeItems.values()].map(({ key, scores, labels }) => ({
      ...key,
      auroc: auroc(scores, labels),
      pairs: scores.length,
      edges: labels.reduce((a, b) => a + b, 0),
    }));
  }
}

/** The model's batched forward passes (see the module header). */
interface ModelRunner {
  /**
   * For episodes at context length n: tv [E, M, K] (the first query row's conditionals) and
   * sens [E, P] (P = M (M - 1) / 2 pairs i < j, j outer) sensitivity scores.
   */
  run(episodes: readonly Episode[], n: number): Promise<{ tv: Float64Array; sens: Float64Array }>;
  dispose(): void;
}

async function modelRunner(
  t: Pick<StructureFreeModel, "spec" | "weights" | "task">,
  edgeQueries: number,
  tokensPerChunk: number,
): Promise<ModelRunner> {
  const layout = structureLayout(t.task);
  const executor = await createExecutor(t.spec);
  const params = paramsFromWeights(t.spec, t.weights);
  return {
    run: (episodes, n) =>
      runModel(executor, params, layout, episodes, n, edgeQueries, tokensPerChunk),
    dispose() {
      const { tree } = jaxLib();
      for (const a of tree.leaves(params)) if (a.refCount > 0) a.dispose();
      executor.dispose();
    },
  };
}

/** Every query token of one episode: per query row, M targets, then each (pair, other state). */
function episodeQueries(layout: TokenLayout, queries: Dataset, rows: number): Query[] {
  const M = layout.vars;
  const out: Query[] = [];
  for (let r = 0; r < rows; r++) {
    const row = queries.data.subarray(r * M, (r + 1) * M);
    for (let j = 0; j < M; j++) out.push({ row, target: j });
    for (let j = 1; j < M; j++)
      for (let i = 0; i < j; i++)
        for (let s = 0; s < layout.cards[i]!; s++) {
          if (s === row[i]) continue;
          const changed = Uint8Array.from(row);
          changed[i] = s;
          out.push({ row: changed, target: j });
        }
  }
  return out;
}

async function runModel(
  executor: JaxExecutor,
  params: JaxParams,
  layout: TokenLayout,
  episodes: readonly Episode[],
  n: number,
  R: number,
  tokensPerChunk: number,
): Promise<{ tv: Float64Array; sens: Float64Array }> {
  const M = layout.vars;
  const K = layout.maxCard;
  const O = executor.spec.outputDim;
  const P = (M * (M - 1)) / 2;
  const E = episodes.length;
  const tv = new Float64Array(E * M * K);
  const sens = new Float64Array(E * P);
  const queryCount = episodeQueries(layout, episodes[0]!.queries, R).length;
  const T = n + queryCount; // one compiled shape per length
  const chunk = Math.max(1, Math.floor(tokensPerChunk / T));
  const base = new Float64Array(K);
  const other = new Float64Array(K);
  for (let first = 0; first < E; first += chunk) {
    const count = Math.min(chunk, E - first);
    const seqs = episodes.slice(first, first + count).map((e) => ({
      context: prefix(e.context, n),
      queries: episodeQueries(layout, e.queries, R),
    }));
    const enc = encodeBatch(layout, seqs, { contextVisible: "all", tokens: T });
    const { outputs } = await executor.forward(params, padSequences(enc, chunk, T));
    // outputs: one row per query token, episodes in order, queries in episodeQueries order.
    for (let b = 0; b < count; b++) {
      const e = first + b;
      let q = b * queryCount;
      const row = episodes[e]!.queries.data;
      const at = (out: Float64Array, target: number) => {
        out.fill(0);
        softmaxInto(outputs, q * O, layout.cards[target]!, out, 0);
        q++;
      };
      for (let r = 0; r < R; r++) {
        const baseRows: Float64Array[] = [];
        for (let j = 0; j < M; j++) {
          at(base, j);
          baseRows.push(Float64Array.from(base));
          if (r === 0) tv.set(base, (e * M + j) * K);
        }
        let pair = 0;
        for (let j = 1; j < M; j++)
          for (let i = 0; i < j; i++, pair++) {
            const k = layout.cards[i]!;
            let sum = 0;
            for (let s = 0; s < k; s++) {
              if (s === row[r * M + i]) continue;
              at(other, j);
              sum += tvDistance(other, baseRows[j]!);
            }
            sens[e * P + pair]! += sum / (k - 1) / R;
          }
      }
    }
  }
  return { tv, sens };
}

/** `enc` with all-PAD sequences appended up to `chunk` (one compiled shape per T). */
function padSequences(enc: TokenBatch, chunk: number, T: number): TokenBatch {
  const [B, , I] = enc.shape;
  if (B === chunk) return enc;
  const tokens = new Float32Array(chunk * T * I);
  tokens.set(enc.tokens);
  const kinds = new Uint8Array(chunk * T).fill(TOKEN_PAD);
  kinds.set(enc.kinds);
  return { tokens, kinds, shape: [chunk, T, I] };
}

function checkOptions(o: StructureFreeEvalOptions): void {
  const positive = requirePositiveInteger;
  positive("episodes", o.episodes);
  positive("seeds", o.seeds);
  positive("edgeQueries", o.edgeQueries);
  positive("tokensPerChunk", o.tokensPerChunk);
  if (o.lengths.length === 0)
    throw new BnformerError("config", "give at least one context length", { path: ["lengths"] });
  o.lengths.forEach((n, i) => {
    positive("length", n);
    if (i > 0 && n <= o.lengths[i - 1]!)
      throw new BnformerError("config", `lengths must increase, got ${o.lengths.join(",")}`, {
        path: ["lengths"],
      });
  });
}

/**
 * Evaluates `t` on every set (see the module header); deterministic given the options.
 * `log` gets one line per finished (seed, set).
 */
export async function evaluateStructureFree(
  t: Pick<StructureFreeModel, "spec" | "weights" | "task">,
  o: StructureFreeEvalOptions,
  modelLabel: string,
  log: (line: string) => void = () => {},
): Promise<StructureFreeEvalResult> {
  checkOptions(o);
  const started = Date.now();
  const layout = structureLayout(t.task);
  const h = o.heldOut;
  if (h.nodes.min !== layout.vars || h.nodes.max !== layout.vars)
    throw new BnformerError(
      "config",
      `held-out DAGs must have the model's ${layout.vars} variables, got ${h.nodes.min}..${h.nodes.max}`,
      { path: ["heldOut", "nodes"] },
    );
  const sets: NetworkSet[] = [
    {
      name: HELD_OUT_NAME,
      scored: layout.vars,
      structure: (rng) => {
        const s = modularRandomDag(rng, h);
        return { ...s, name: HELD_OUT_NAME };
      },
    },
    ...o.fixed.map((s) => {
      const padded = padToLayout(s, layout);
      return { name: s.name, scored: s.variables.length, structure: () => padded };
    }),
  ];
  const bma = { edgeProb: h.edgeProb, maxParents: h.maxParents, prior: o.prior };
  const sums = new Sums();
  const runner = await modelRunner(t, o.edgeQueries, o.tokensPerChunk);
  const longest = o.lengths[o.lengths.length - 1]!;
  const M = layout.vars;
  const K = layout.maxCard;
  try {
    for (let seed = 0; seed < o.seeds; seed++) {
      for (const [si, set] of sets.entries()) {
        const episodes: Episode[] = [];
        for (let e = 0; e < o.episodes; e++) {
          const rng = createRng(o.evalSeed)
            .fork(si + 1)
            .fork(seed)
            .fork(e);
          const net = sampleNetwork(rng.fork(1), set.structure(rng.fork(0)), o.prior);
          episodes.push({
            net,
            context: sampleRows(rng.fork(2), net, longest),
            queries: sampleRows(rng.fork(3), net, o.edgeQueries),
          });
        }
        for (const n of o.lengths) {
          const { tv, sens } = await runner.run(episodes, n);
          episodes.forEach((ep, e) => {
            const { net } = ep;
            const context = prefix(ep.context, n);
            const query = ep.queries.data.subarray(0, M);
            const add = (method: string, x: number) => sums.addTv(set.name, n, method, seed, x);
            const tvOf = (cond: (v: number) => ArrayLike<number>) =>
              nodeAveragedTv(net, query, cond, set.scored);
            add(
              MODEL,
              tvOf((v) =>
                tv.subarray((e * M + v) * K, (e * M + v) * K + net.variables[v]!.states.length),
              ),
            );
            const bmaEdges: number[][] = [];
            add(
              BMA,
              tvOf((v) => {
                const r = estimateBmaWithPosterior(net, context, v, query, bma);
                const { candidates, edges } = r.posterior;
                bmaEdges[v] = Array.from(
                  { length: v },
                  (_, i) => edges[candidates.indexOf(i)] ?? 0,
                );
                return r.probs;
              }),
            );
            add(
              POSTERIOR_MEAN,
              tvOf((v) =>
                posteriorMean(o.prior, queryCounts(net, context, v, net.parents[v]!, query)),
              ),
            );
            const mle = MLE_ENGINE.bind(net, context);
            add(
              MLE,
              tvOf((v) => mle(v, query)),
            );
            const naive = NAIVE_ENGINE.bind(net, context);
            add(
              NAIVE,
              tvOf((v) => naive(v, query)),
            );
            // Edge scores over the scored nodes' pairs i < j.
            let pair = 0;
            for (let j = 1; j < M; j++)
              for (let i = 0; i < j; i++, pair++) {
                if (j >= set.scored) continue;
                const isEdge = net.parents[j]!.includes(i);
                sums.addEdge(
                  set.name,
                  n,
                  MODEL_SENSITIVITY,
                  seed,
                  sens[(e * (M * (M - 1))) / 2 + pair]!,
                  isEdge,
                );
                sums.addEdge(set.name, n, BMA_POSTERIOR, seed, bmaEdges[j]![i]!, isEdge);
              }
          });
        }
        log(
          `seed ${seed}, ${set.name}: ${o.episodes} episodes x ${o.lengths.length} lengths (${((Date.now() - started) / 1000).toFixed(0)} s)`,
        );
      }
    }
  } finally {
    runner.dispose();
  }
  const points = sums.points();
  return {
    model: modelLabel,
    options: o,
    points,
    edges: sums.edges(),
    ratios: structureFreeRatios(points),
    seconds: (Date.now() - started) / 1000,
  };
}

/** Per (set, length): the model's TV over BMA's and over the posterior mean's, per seed then mean ± sd. */
export function structureFreeRatios(points: readonly StructureFreePoint[]): StructureFreeRatio[] {
  const keys = new Map<string, { network: string; length: number }>();
  for (const p of points) keys.set(JSON.stringify([p.network, p.length]), p);
  const out: StructureFreeRatio[] = [];
  for (const { network, length } of keys.values()) {
    const at = (method: string) =>
      points
        .filter((p) => p.network === network && p.length === length && p.method === method)
        .sort((a, b) => a.seed - b.seed);
    const model = at(MODEL);
    for (const reference of [BMA, POSTERIOR_MEAN]) {
      const ref = at(reference);
      const ratios = model.map((p, i) => p.tv / ref[i]!.tv);
      const ok = ratios.length > 0 && ratios.length === ref.length && ratios.every(Number.isFinite);
      const r = ok ? meanSd(ratios) : { mean: null, sd: null };
      const checked = network === HELD_OUT_NAME && reference === BMA;
      out.push({
        network,
        length,
        reference,
        ratio: r.mean,
        ratioSd: r.sd,
        met: checked ? meetsTarget(r.mean, BMA_FACTOR) : null,
      });
    }
  }
  return out;
}

// ---- Outputs ----

/** Every TV point, one CSV row each. */
export function structureFreePointsCsv(r: StructureFreeEvalResult): string {
  return csv(
    ["network", "length", "method", "seed", "tv", "episodes"],
    r.points.map((p) => [p.network, p.length, p.method, p.seed, p.tv, p.episodes]),
  );
}

/** Every edge-recovery point, one CSV row each. */
export function structureFreeEdgesCsv(r: StructureFreeEvalResult): string {
  return csv(
    ["network", "length", "score", "seed", "auroc", "pairs", "edges"],
    r.edges.map((p) => [p.network, p.length, p.score, p.seed, p.auroc, p.pairs, p.edges]),
  );
}

/** The result as JSON (fixed graphs by name). */
export function structureFreeResultJson(r: StructureFreeEvalResult): string {
  const { fixed, ...rest } = r.options;
  return (
    JSON.stringify(
      {
        format: "bnformer-structure-free-eval/1",
        model: r.model,
        seconds: r.seconds,
        options: { ...rest, fixed: fixed.map((s) => s.name) },
        points: r.points,
        edges: r.edges,
        ratios: r.ratios,
      },
      null,
      2,
    ) + "\n"
  );
}

const fmt = (x: { mean: number; sd: number | null }, digits = 4) =>
  x.sd === null ? x.mean.toFixed(digits) : `${x.mean.toFixed(digits)} ± ${x.sd.toFixed(digits)}`;

/** The networks of a result, in the order they were evaluated. */
export function resultNetworks(r: Pick<StructureFreeEvalResult, "points">): string[] {
  return [...new Set(r.points.map((p) => p.network))];
}

/** Mean ± sd over seeds of one (network, length, method)'s TV; null when absent. */
export function pointSummary(
  r: Pick<StructureFreeEvalResult, "points">,
  network: string,
  length: number,
  method: string,
): { mean: number; sd: number | null } | null {
  const tvs = r.points
    .filter((p) => p.network === network && p.length === length && p.method === method)
    .map((p) => p.tv);
  return tvs.length === 0 ? null : meanSd(tvs);
}

/** The markdown report: setup, a TV table per network with the ratios, the edge AUROCs. */
export function renderStructureFreeReport(r: StructureFreeEvalResult, figure?: string): string {
  const o = r.options;
  const h = o.heldOut;
  const out = [
    "# Structure-free model vs exact BMA",
    "",
    `Model: ${r.model}. ${o.episodes} episodes per point, ${o.seeds} evaluation seed(s) ` +
      `(createRng(${o.evalSeed}) forked per network set, seed and episode), ${r.seconds.toFixed(0)} s. ` +
      `Numbers are mean ± sd over seeds; ratios the mean ± sd of per-seed ratios on the same episodes. ` +
      `TV is node-averaged, to the true CPT row at one fresh query row's parent configuration.`,
    "",
    `Held-out networks: modularRandomDag with ${h.nodes.min} nodes, ${h.states.min} states, edge probability ` +
      `${h.edgeProb}, at most ${h.maxParents} parents; every network's CPTs from ${priorLabel(o.prior)}. ` +
      `BMA assumes exactly these priors (over parent sets given the variable order, and over CPTs). ` +
      `Fixed graphs with fewer variables than the model are padded with independent root variables ` +
      `after their own; only their own nodes are scored.`,
    "",
    `Methods: **model** (never told the structure), **bma** (exact model averaging over parent sets), ` +
      `**posterior-mean** and **mle** (told the true parents), **naive** (MLE on every earlier variable).`,
    "",
  ];
  if (figure !== undefined) out.push(`![TV against context length](${figure})`, "");
  for (const network of resultNetworks(r)) {
    out.push(
      `## ${network}`,
      "",
      `| n | ${STRUCTURE_FREE_METHODS.join(" | ")} | model ÷ bma | model ÷ posterior-mean |${network === HELD_OUT_NAME ? " target |" : ""}`,
      `| ---: | ${STRUCTURE_FREE_METHODS.map(() => "---:").join(" | ")} | ---: | ---: |${network === HELD_OUT_NAME ? " --- |" : ""}`,
    );
    for (const n of o.lengths) {
      const tvs = STRUCTURE_FREE_METHODS.map((m) => {
        const s = pointSummary(r, network, n, m);
        return s === null ? "—" : fmt(s);
      });
      const ratio = (ref: string) => {
        const x = r.ratios.find(
          (q) => q.network === network && q.length === n && q.reference === ref,
        );
        return x?.ratio == null ? "—" : fmt({ mean: x.ratio, sd: x.ratioSd }, 3);
      };
      const check = r.ratios.find(
        (q) => q.network === network && q.length === n && q.reference === BMA,
      );
      const verdict =
        network === HELD_OUT_NAME
          ? ` ${check?.met ? "met" : "missed"} (≤ ${BMA_FACTOR.toFixed(2)}) |`
          : "";
      out.push(
        `| ${n} | ${tvs.join(" | ")} | ${ratio(BMA)} | ${ratio(POSTERIOR_MEAN)} |${verdict}`,
      );
    }
    out.push("");
  }
  out.push(
    "## Edge recovery (AUROC against the true edges)",
    "",
    `Per pair i < j of a network's own nodes and episode: the model's **sensitivity** (TV between its ` +
      `conditional of j at a query row and at that row with x_i changed, averaged over the other states and ` +
      `${o.edgeQueries} query row(s)) and BMA's **edge posterior** P(i → j | context); AUROC of the pooled ` +
      `(episode, pair) scores, mean ± sd over seeds (0.5 = chance).`,
    "",
    `| network | n | model sensitivity | bma posterior |`,
    `| --- | ---: | ---: | ---: |`,
  );
  for (const network of resultNetworks(r)) {
    for (const n of o.lengths) {
      const cell = (score: string) => {
        const xs = r.edges
          .filter((p) => p.network === network && p.length === n && p.score === score)
          .map((p) => p.auroc);
        if (xs.length === 0 || xs.some((x) => x === null)) return "—";
        return fmt(meanSd(xs as number[]), 3);
      };
      out.push(`| ${network} | ${n} | ${cell(MODEL_SENSITIVITY)} | ${cell(BMA_POSTERIOR)} |`);
    }
  }
  const checks = r.ratios.filter((x) => x.met !== null);
  out.push(
    "",
    `${checks.filter((c) => c.met).length} of ${checks.length} held-out lengths meet model TV ≤ ${BMA_FACTOR.toFixed(2)} × BMA's.`,
    "",
  );
  return out.join("\n");
}
