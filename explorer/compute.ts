/**
 * Everything the explorer computes, DOM-free, from the browser-safe library (src/core.ts)
 * along the CLI's code paths, so that the page shows what the CLI prints for the same inputs
 * (test/explorer/compute.test.ts checks it against `bnformer sample / predict / explain /
 * generate`):
 *   context     `sample --seed S --n N`: sampleRows(createRng(S), net, N)
 *   answers     `predict --engine E`: the engine bound to the context, asked one query
 *   attention   `explain --engine construction|pretrained`: explainModel of the construction,
 *               explainFamilyModel of the pretrained model, each drawn by attentionSvg
 *   generation  `generate --engine E --seed S`: generateRows(createRng(S), ...)
 * The worker (worker.ts) runs these off the main thread.
 */
import type {
  Dataset,
  Engine,
  FamilyModel,
  ModelExplanation,
  Network,
  PaperGraphName,
} from "../src/core.ts";
import {
  BnformerError,
  DEFAULT_BINARY_PRIOR,
  DEFAULT_UNSEEN_POLICY,
  MISSING,
  constructionEngine,
  constructionModel,
  construct,
  createRng,
  decodeSafetensors,
  estimatorEngine,
  explainFamilyModel,
  explainModel,
  familyEngine,
  generateRows,
  networkConditional,
  paperGraph,
  parseBif,
  sampleNetwork,
  sampleRows,
  specSchema,
  unflattenWeights,
} from "../src/core.ts";
import { familyLayout } from "../src/model/family-encoding.ts";
import type { AgreementSummary } from "../src/eval/attention-svg.ts";
import { agreementSummaries, attentionSvg, defaultShownHead } from "../src/eval/attention-svg.ts";
import type { Method } from "./state.ts";
import { isPaperGraphName, parseGivenText } from "./state.ts";

/** The construction's total-variation bound: the CLI's default --eps. */
export const EXPLORER_EPS = 1e-6;
/** Context rows listed in the attention picture: the CLI's default `explain --rows`. */
export const ATTENTION_ROWS = 20;
/** Context sizes of the TV-versus-n plot (plus the current n). */
export const TV_SIZES: readonly number[] = [10, 20, 50, 100, 200, 500, 1000, 2000];

/** Where a network comes from: a BIF text (built-in or uploaded) or a paper graph. */
export type NetworkSource =
  | { kind: "bif"; file: string; text: string }
  | { kind: "paper"; name: PaperGraphName; cptSeed: number };

/**
 * The network of `source`. A paper graph has no CPTs of its own: they are drawn from the
 * paper's prior (P(X=1 | parents) ~ U(0.1, 0.9)) with `cptSeed`; the page offers the result
 * as a BIF file, so the CLI can be run on the very same network.
 */
export function loadNetworkSource(source: NetworkSource): Network {
  if (source.kind === "bif") return parseBif(source.text, { file: source.file });
  return sampleNetwork(createRng(source.cptSeed), paperGraph(source.name), DEFAULT_BINARY_PRIOR);
}

/** A paper graph's source, or null when `name` is not one. */
export function paperSource(name: string, cptSeed: number): NetworkSource | null {
  return isPaperGraphName(name) ? { kind: "paper", name, cptSeed } : null;
}

/** The context of `bnformer sample --network NET --n n --seed seed`. */
export function sampleContext(net: Network, n: number, seed: number): Dataset {
  return sampleRows(createRng(seed), net, n);
}

/** One query: the target and a row holding its parents' states (MISSING elsewhere). */
export interface Query {
  target: number;
  row: Uint8Array;
}

/**
 * The query `targetName` / `given` ("A=a,B=b") describe on `net`: an unknown target is the
 * last variable, an unknown or absent parent state the parent's first state.
 */
export function resolveQuery(net: Network, targetName: string, given: string): Query {
  const found = net.variables.findIndex((v) => v.name === targetName);
  const target = found >= 0 ? found : net.variables.length - 1;
  const row = new Uint8Array(net.variables.length).fill(MISSING);
  const named = new Map(parseGivenText(given));
  for (const p of net.parents[target]!) {
    const k = net.variables[p]!.states.indexOf(named.get(net.variables[p]!.name) ?? "");
    row[p] = Math.max(0, k);
  }
  return { target, row };
}

/** The query's parents in the CLI's --given syntax ("A=a,B=b"). */
export function givenText(net: Network, q: Query): string {
  return net.parents[q.target]!.map(
    (p) => `${net.variables[p]!.name}=${net.variables[p]!.states[q.row[p]!]!}`,
  ).join(",");
}

/** The engine behind each method, as `--engine` builds it for a context of `rows` rows. */
export function methodEngine(method: Method, rows: number, pretrained: FamilyModel | null): Engine {
  switch (method) {
    case "mle":
    case "bdeu":
      return estimatorEngine({ estimator: method, unseen: DEFAULT_UNSEEN_POLICY });
    case "construction":
      return constructionEngine({ eps: EXPLORER_EPS, maxContext: Math.max(1, rows) });
    case "pretrained":
      if (pretrained === null)
        throw new BnformerError("config", "no pretrained model ships with this build");
      return familyEngine(pretrained, "pretrained");
  }
}

/** Total variation distance between two distributions over the same states. */
export function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i]! - q[i]!);
  return s / 2;
}

/** One method's answer to the query. */
export interface Answer {
  method: Method;
  /** The distribution over the target's states, or null when the method refused. */
  distribution: number[] | null;
  /** Total variation to the truth (NaN when refused). */
  tv: number;
  /** Milliseconds to bind the engine to the context and answer the query. */
  ms: number;
  /** Why the method refused (e.g. a family beyond the pretrained model's limits). */
  error?: string;
}

/** The true conditional of the query, read from the network's CPT. */
export function truthOf(net: Network, q: Query): number[] {
  return Array.from(networkConditional(net)(q.target, q.row));
}

/** `method`'s answer to `q` on `context`, timed; a BnformerError becomes a refusal. */
export function answer(
  net: Network,
  context: Dataset,
  q: Query,
  method: Method,
  pretrained: FamilyModel | null,
  truth: readonly number[] = truthOf(net, q),
): Answer {
  const start = performance.now();
  try {
    const p = methodEngine(method, context.rows, pretrained).bind(net, context)(q.target, q.row);
    const ms = performance.now() - start;
    return { method, distribution: Array.from(p), tv: totalVariation(p, truth), ms };
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    return { method, distribution: null, tv: NaN, ms: performance.now() - start, error: e.message };
  }
}

/** A transformer's attention for the query, as `bnformer explain` computes and draws it. */
export interface AttentionPicture {
  svg: string;
  distribution: number[];
  summaries: AgreementSummary[];
  /** Index of the head whose rows are listed. */
  shown: number;
}

/** The transformers whose attention the page draws. */
export type AttentionEngine = "construction" | "pretrained";

/** `explain`'s default view (head, SVG, summaries) of one explained query. */
function attentionPicture(
  net: Network,
  context: Dataset,
  q: Query,
  e: ModelExplanation,
): AttentionPicture {
  const base = { structure: net, context, target: q.target, query: q.row, heads: e.heads };
  const view = { ...base, shown: defaultShownHead(base), distribution: e.distribution };
  return {
    svg: attentionSvg(view, { maxRows: ATTENTION_ROWS }),
    distribution: Array.from(e.distribution),
    summaries: agreementSummaries(view),
    shown: view.shown,
  };
}

/** `bnformer explain --engine construction` for `q` on `context` (SVG of its default view). */
export function constructionAttention(net: Network, context: Dataset, q: Query): AttentionPicture {
  const c = construct(net, { eps: EXPLORER_EPS, maxContext: Math.max(1, context.rows) });
  return attentionPicture(
    net,
    context,
    q,
    explainModel(constructionModel(c), net, context, q.row, q.target),
  );
}

/**
 * `bnformer explain --engine pretrained` (or `model:DIR`) for `q` on `context`: every
 * context row its own token. A family beyond the model's limits is a BnformerError.
 */
export function pretrainedAttention(
  model: FamilyModel,
  net: Network,
  context: Dataset,
  q: Query,
): AttentionPicture {
  return attentionPicture(
    net,
    context,
    q,
    explainFamilyModel(model, net, context, q.row, q.target),
  );
}

/** The sizes of the TV plot for a current context of n rows: TV_SIZES and n, ascending. */
export function tvSizes(n: number): number[] {
  return [...new Set([...TV_SIZES, n])].sort((a, b) => a - b);
}

/** One point of the TV plot: every method's TV at the query on the context of m rows. */
export interface TvPoint {
  n: number;
  tv: Partial<Record<Method, number>>;
}

/** The TV of each method at `q` on the context of `m` rows with `seed` (what the page shows at n = m). */
export function tvPoint(
  net: Network,
  m: number,
  seed: number,
  q: Query,
  methods: readonly Method[],
  pretrained: FamilyModel | null,
): TvPoint {
  const context = sampleContext(net, m, seed);
  const truth = truthOf(net, q);
  const tv: Partial<Record<Method, number>> = {};
  for (const method of methods) tv[method] = answer(net, context, q, method, pretrained, truth).tv;
  return { n: m, tv };
}

/** `bnformer generate --engine method --n rows --seed seed` on `context`. */
export function generate(
  net: Network,
  context: Dataset,
  method: Method,
  rows: number,
  seed: number,
  pretrained: FamilyModel | null,
): Dataset {
  const conditional = methodEngine(method, context.rows, pretrained).bind(net, context);
  return generateRows(createRng(seed), net, rows, conditional);
}

// ---- The shipped pretrained model, as the build writes it (explorer/prepare-model.ts) ----

/** Format of the page's model description (pretrained/model.json). */
export const EXPLORER_MODEL_FORMAT = "bnformer-explorer-model/1";
/** Files of the pretrained model in the static folder. */
export const MODEL_JSON = "pretrained/model.json";
export const MODEL_WEIGHTS = "pretrained/model.safetensors";

/** pretrained/model.json: what the model is, its family limits and its spec. */
export interface ExplorerModelFile {
  format: typeof EXPLORER_MODEL_FORMAT;
  /** Where it came from, in words (shown on the page). */
  description: string;
  /** True for the model `--engine pretrained` runs (models/pretrained/); false for EXPLORER_MODEL. */
  shipped: boolean;
  kMax: number;
  dMax: number;
  spec: unknown;
}

/**
 * The family model of pretrained/model.json and its weights (safetensors bytes), checked:
 * the spec against its schema and the family layout, every weight's name and shape.
 */
export function familyModelFromFiles(json: unknown, weights: Uint8Array): FamilyModel {
  const file = MODEL_JSON;
  const m = json as Partial<ExplorerModelFile>;
  if (typeof m !== "object" || m === null || m.format !== EXPLORER_MODEL_FORMAT)
    throw new BnformerError("parse", `expected format "${EXPLORER_MODEL_FORMAT}"`, { file });
  const spec = specSchema(m.spec, { file, path: ["spec"] });
  const layout = familyLayout(m.kMax ?? NaN, m.dMax ?? NaN);
  if (spec.inputDim !== layout.width || spec.outputDim !== layout.dMax)
    throw new BnformerError("parse", "the spec does not fit the family layout (kMax, dMax)", {
      file,
    });
  const { tensors } = decodeSafetensors(weights, MODEL_WEIGHTS);
  return { spec, weights: unflattenWeights(spec, tensors), layout };
}
