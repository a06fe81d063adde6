/**
 * Engines: what answers "distribution of `target` given this partial row" on a context.
 * An engine binds to a structure and a context and returns a `Conditional`, the function
 * `generateRows` (src/estimate/generate.ts) draws from; so the same seed gives the same
 * rows from any two engines whose probabilities agree (docs/construction.md, "Generation").
 *
 * - `estimatorEngine` / "mle": the counting estimators (contextConditional).
 * - `transformerEngine`: any spec + weights run by the float64 reference executor; the
 *   context is encoded and run once (prepareContext) and each call costs one query token.
 * - `constructionEngine`: the constructed transformer of construction.ts.
 * - `familyEngine`: a network-agnostic model (family-encoding.ts) on any structure within
 *   its limits; each target's family context is encoded and run once, each call costs one
 *   query token.
 * A row-local model (`contextIsRowLocal`: the construction) never holds a whole encoded
 * context: it keeps each layer's context keys and values, built in chunks, while they fit
 * in `contextCacheBytes`, and past that streams the context through each query in chunks,
 * so its memory is bounded whatever the context's length (docs/construction.md, "Memory").
 * `explainModel` returns what `bnformer explain` shows: one query's output and the attention of
 * every layer and head (`explainQuery`: the construction's layer 2 and its back-off rows).
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { sliceRows } from "../bn/dataset.ts";
import type { Conditional } from "../estimate/generate.ts";
import { contextConditional } from "../estimate/generate.ts";
import type { EstimatorOptions } from "../estimate/options.ts";
import type { BackoffSupport } from "../estimate/backoff.ts";
import { backoffSupport } from "../estimate/backoff.ts";
import type { TransformerSpec, TransformerWeights } from "./spec.ts";
import { contextAttentionOf } from "./spec.ts";
import type { EncodingOptions, TokenLayout } from "./encoding.ts";
import { encodeContext, encodeQueries, tokenLayout } from "./encoding.ts";
import type { FamilyLayout } from "./family-encoding.ts";
import {
  checkFamilyFits,
  distinctFamilyRows,
  encodeFamilyContext,
  encodeFamilyQueries,
} from "./family-encoding.ts";
import type { ContextCache, ContextSource, Intervention, LayerKV } from "./reference.ts";
import {
  contextIsRowLocal,
  forwardQueries,
  forwardQueriesStreamed,
  countedContextCache,
  prepareContext,
  prepareContextChunked,
} from "./reference.ts";
import type { Construction, ConstructionOptions } from "./construction.ts";
import { construct } from "./construction.ts";

/** Something that answers conditionals on a context. */
export interface Engine {
  readonly name: string;
  /** The conditional of this engine on `context` over `structure`. */
  bind(structure: Structure, context: Dataset): Conditional;
}

/** The counting estimator engine (default: in-context MLE with the default unseen policy). */
export function estimatorEngine(opts: EstimatorOptions = { estimator: "mle" }): Engine {
  return {
    name: opts.estimator,
    bind: (structure, context) => contextConditional(structure, context, opts),
  };
}

/** A transformer to run: spec, weights, and how its tokens are encoded. */
export interface TransformerModel {
  structure: Structure;
  spec: TransformerSpec;
  weights: TransformerWeights;
  encoding?: EncodingOptions;
  /**
   * true: one context encoding without a target mark serves every target (needs
   * contextVisible "all"); false (default): the context is encoded per target, marked.
   */
  shareContext?: boolean;
  /** Refuse contexts longer than this (the construction's guarantee stops there). */
  maxContext?: number;
  /**
   * Row-local models only: the largest context cache (keys and values of every layer) kept
   * in memory; a longer context is streamed through each query in chunks instead.
   * Default CONTEXT_CACHE_BYTES.
   */
  contextCacheBytes?: number;
}

/** Default `contextCacheBytes`: 64 MiB. */
export const CONTEXT_CACHE_BYTES = 64 * 2 ** 20;

function sameStructure(a: Structure, b: Structure): boolean {
  return (
    a.variables.length === b.variables.length &&
    a.variables.every((v, i) => v.states.length === b.variables[i]!.states.length) &&
    a.parents.every((ps, i) => ps.join(",") === b.parents[i]!.join(","))
  );
}

/** Throws unless `model` may answer queries on `context` over `structure`. */
function checkRunnable(model: TransformerModel, structure: Structure, context: Dataset): void {
  if (!sameStructure(structure, model.structure)) {
    throw new BnformerError(
      "config",
      `the model was built for network "${model.structure.name}", not for "${structure.name}" (variables, states or parents differ)`,
      { path: ["structure"] },
    );
  }
  if (model.maxContext !== undefined && context.rows > model.maxContext) {
    throw new BnformerError(
      "config",
      `the context has ${context.rows} rows; this model's guarantee holds up to maxContext = ${model.maxContext}; build it with a larger maxContext`,
      { path: ["maxContext"] },
    );
  }
}

/** The float64 reference executor as an engine; outputs are restricted to the target's states. */
export function transformerEngine(model: TransformerModel, name = "transformer"): Engine {
  const layout = tokenLayout(model.structure);
  const share = model.shareContext ?? false;
  if (share && (model.encoding?.contextVisible ?? "all") !== "all") {
    throw new BnformerError("config", 'shareContext needs contextVisible "all"', {
      path: ["shareContext"],
    });
  }
  return {
    name,
    bind(structure, context) {
      checkRunnable(model, structure, context);
      const rowLocal = contextIsRowLocal(model.spec, model.weights);
      const cacheBytes =
        8 * context.rows * model.spec.layers.reduce((n, l) => n + 2 * l.heads * l.headDim, 0);
      const stream = rowLocal && cacheBytes > (model.contextCacheBytes ?? CONTEXT_CACHE_BYTES);
      const sourceFor = (key: number): ContextSource => ({
        rows: context.rows,
        encode: (start, end) =>
          encodeContext(layout, sliceRows(context, start, end), model.encoding ?? {}, key, start),
      });
      const caches = new Map<number, ContextCache>();
      const cacheFor = (target: number): ContextCache | ContextSource => {
        const key = share ? -1 : target;
        if (stream) return sourceFor(key);
        let cache = caches.get(key);
        if (!cache) {
          cache = rowLocal
            ? prepareContextChunked(model.spec, model.weights, sourceFor(key))
            : prepareContext(
                model.spec,
                model.weights,
                encodeContext(layout, context, model.encoding ?? {}, key),
              );
          caches.set(key, cache);
        }
        return cache;
      };
      return (target, partialRow) => runQuery(model, layout, cacheFor(target), target, partialRow);
    },
  };
}

function runQuery(
  model: TransformerModel,
  layout: TokenLayout,
  context: ContextCache | ContextSource,
  target: number,
  row: ArrayLike<number>,
): Float64Array {
  const tokens = encodeQueries(layout, [{ row, target }]);
  const { outputs } =
    "layers" in context
      ? forwardQueries(model.spec, model.weights, context, tokens, { keepAttention: false })
      : forwardQueriesStreamed(model.spec, model.weights, context, tokens);
  return targetDistribution(model.spec, layout, outputs, target);
}

/** The target's distribution from a query's readout (softmaxed over its states if logits). */
function targetDistribution(
  spec: TransformerSpec,
  layout: TokenLayout,
  outputs: Float64Array,
  target: number,
): Float64Array {
  return readout(spec, outputs, layout.cards[target]!);
}

/** The distribution over a target's k states from a query's readout (softmax over those only). */
function readout(spec: TransformerSpec, outputs: Float64Array, k: number): Float64Array {
  const p = Float64Array.from(outputs.subarray(0, k));
  if (spec.output === "logits") {
    let max = -Infinity;
    for (const x of p) max = Math.max(max, x);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += p[i] = Math.exp(p[i]! - max);
    for (let i = 0; i < k; i++) p[i]! /= sum;
  }
  return p;
}

/** A network-agnostic model: spec and weights over family tokens. */
export interface FamilyModel {
  spec: TransformerSpec;
  weights: TransformerWeights;
  layout: FamilyLayout;
}

/**
 * A family model as an engine (float64 reference executor): any structure, each target
 * refused with a "config" error naming it when its family exceeds kMax parents or dMax states.
 */
export function familyEngine(model: FamilyModel, name = "family"): Engine {
  // Context tokens that see only themselves have states that depend on the token alone:
  // keep them across calls, so a context costs one pass per token never seen before.
  const tokenStates =
    contextAttentionOf(model.spec) === "self" ? new Map<string, LayerKV[]>() : null;
  return {
    name,
    bind(structure, context) {
      const caches = new Map<number, ContextCache>();
      return (target, partialRow) => {
        let cache = caches.get(target);
        if (!cache) {
          checkFamilyFits(model.layout, structure, target);
          if (tokenStates) {
            cache = countedFamilyContext(model, tokenStates, structure, target, context);
          } else {
            const tokens = encodeFamilyContext(model.layout, structure, target, context);
            cache = prepareContext(model.spec, model.weights, tokens);
          }
          caches.set(target, cache);
        }
        const q = encodeFamilyQueries(model.layout, structure, target, [partialRow]);
        const { outputs } = forwardQueries(model.spec, model.weights, cache, q, {
          keepAttention: false,
        });
        return readout(model.spec, outputs, structure.variables[target]!.states.length);
      };
    },
  };
}

/** Most token states a family engine keeps; past it the memo starts over. */
const MAX_TOKEN_STATES = 1 << 16;

/**
 * The counted context of `target` for a family model whose context tokens see only
 * themselves: each distinct family row once, with its count (countedContextCache), its
 * per-layer keys and values taken from `tokenStates` or computed and added there.
 */
function countedFamilyContext(
  model: FamilyModel,
  tokenStates: Map<string, LayerKV[]>,
  structure: Structure,
  target: number,
  context: Dataset,
): ContextCache {
  const { spec, weights, layout } = model;
  const { rows, counts } = distinctFamilyRows(structure, target, context);
  const members = [target, ...structure.parents[target]!];
  const M = rows.vars;
  // A token is its target's cardinality, its number of parents and the members' values.
  const key = (r: number) =>
    `${structure.variables[target]!.states.length}|${members.map((m) => rows.data[r * M + m]).join(",")}`;
  const keys = Array.from({ length: rows.rows }, (_, r) => key(r));
  const unseen = keys.flatMap((k, r) => (tokenStates.has(k) ? [] : [r]));
  if (unseen.length > 0) {
    if (tokenStates.size + unseen.length > MAX_TOKEN_STATES) tokenStates.clear();
    const fresh = sliceRowsAt(rows, unseen);
    const tokens = encodeFamilyContext(layout, structure, target, fresh);
    const run = prepareContext(spec, weights, tokens);
    unseen.forEach((r, i) =>
      tokenStates.set(
        keys[r]!,
        run.layers.map((kv, l) => {
          const HE = spec.layers[l]!.heads * spec.layers[l]!.headDim;
          return { k: kv.k.slice(i * HE, (i + 1) * HE), v: kv.v.slice(i * HE, (i + 1) * HE) };
        }),
      ),
    );
  }
  const layers = spec.layers.map((ls, l) => {
    const HE = ls.heads * ls.headDim;
    const k = new Float64Array(keys.length * HE);
    const v = new Float64Array(keys.length * HE);
    keys.forEach((key, r) => {
      const s = tokenStates.get(key)![l]!;
      k.set(s.k, r * HE);
      v.set(s.v, r * HE);
    });
    return { k, v };
  });
  return countedContextCache(spec, weights, layers, counts);
}

/** The rows `at` of `d`, in that order. */
function sliceRowsAt(d: Dataset, at: readonly number[]): Dataset {
  const data = new Uint8Array(at.length * d.vars);
  at.forEach((r, i) => data.set(d.data.subarray(r * d.vars, (r + 1) * d.vars), i * d.vars));
  return { vars: d.vars, rows: at.length, data };
}

/** The constructed transformer as an engine (built here from options, or given). */
export function constructionEngine(source: ConstructionOptions | Construction): Engine {
  const cache = new Map<Structure, Construction>();
  const get = (structure: Structure): Construction => {
    if ("spec" in source) return source;
    let c = cache.get(structure);
    if (!c) cache.set(structure, (c = construct(structure, source)));
    return c;
  };
  return {
    name: "construction",
    bind(structure, context) {
      const c = get(structure);
      return transformerEngine(constructionModel(c), "construction").bind(structure, context);
    },
  };
}

/** A construction as a TransformerModel (one shared, unmarked context encoding). */
export function constructionModel(c: Construction): TransformerModel {
  return {
    structure: c.structure,
    spec: c.spec,
    weights: c.weights,
    encoding: { contextVisible: "all" },
    shareContext: true,
    maxContext: c.params.maxContext,
  };
}

/** One head's attention of the query token. */
export interface HeadAttention {
  /** 1-based layer and head numbers (as shown to users). */
  layer: number;
  head: number;
  /** Weight on each context row (length N). */
  weights: Float64Array;
  /** Weight of the query on itself. */
  selfWeight: number;
}

/** Any transformer's answer to one query, with every layer's and head's attention. */
export interface ModelExplanation {
  /** The model's distribution over the target's states (what its engine returns). */
  distribution: Float64Array;
  /** Layer by layer, head by head. */
  heads: HeadAttention[];
}

/** A query to explain: a row (entries at and after the target are ignored) and its target. */
export interface TargetQuery {
  row: ArrayLike<number>;
  target: number;
}

/**
 * Changes to the forward passes of `explainQueries` (reference.ts `Intervention`), with
 * `query` the index in the list of queries explained. Layers are 0-based.
 */
export interface QueryIntervention extends Omit<Intervention, "onQueryMlp"> {
  /** Each layer's MLP output (length D) at each query token. */
  onQueryMlp?: (layer: number, query: number, output: Float64Array) => void;
}

/** `q` for one forwardQueries call whose i-th query token is `queries[at[i]]`. */
function interventionFor(q: QueryIntervention | undefined, at: readonly number[]): Intervention {
  if (!q) return {};
  return {
    ...(q.ablateAttention ? { ablateAttention: q.ablateAttention } : {}),
    ...(q.ablateMlp ? { ablateMlp: q.ablateMlp } : {}),
    ...(q.queryAttention
      ? {
          queryAttention: (l: number, h: number, i: number, w: Float64Array) =>
            q.queryAttention!(l, h, at[i]!, w),
        }
      : {}),
    ...(q.onQueryMlp
      ? {
          onQueryMlp: (l: number, out: Float64Array) => {
            const D = out.length / at.length;
            at.forEach((qi, i) => q.onQueryMlp!(l, qi, out.subarray(i * D, (i + 1) * D)));
          },
        }
      : {}),
  };
}

/** Every layer's and head's attention of query i of a forwardQueries call with N context tokens. */
function headsOf(
  spec: TransformerSpec,
  attention: Float64Array[],
  i: number,
  Q: number,
  N: number,
): HeadAttention[] {
  const heads: HeadAttention[] = [];
  spec.layers.forEach((ls, l) => {
    for (let h = 0; h < ls.heads; h++) {
      const at = (h * Q + i) * (N + 1);
      const a = attention[l]!.subarray(at, at + N + 1);
      heads.push({
        layer: l + 1,
        head: h + 1,
        weights: Float64Array.from(a.subarray(0, N)),
        selfWeight: a[N]!,
      });
    }
  });
  return heads;
}

/**
 * Runs queries through `model` on the float64 reference executor, keeping every attention
 * map, optionally changed by `intervention` (the attention kept is the model's own, before
 * `queryAttention` replaces it); each distribution is computed as `transformerEngine`
 * computes it. A shared context is run once for every query.
 */
export function explainModelQueries(
  model: TransformerModel,
  structure: Structure,
  context: Dataset,
  queries: readonly TargetQuery[],
  intervention?: QueryIntervention,
): ModelExplanation[] {
  checkRunnable(model, structure, context);
  const layout = tokenLayout(model.structure);
  const shared = model.shareContext ?? false;
  const groups = new Map<number, number[]>(); // context key -> query indices
  queries.forEach((q, i) => {
    const key = shared ? -1 : q.target;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const out = new Array<ModelExplanation>(queries.length);
  const N = context.rows;
  for (const [key, at] of groups) {
    const iv = interventionFor(intervention, at);
    const cache = prepareContext(
      model.spec,
      model.weights,
      encodeContext(layout, context, model.encoding ?? {}, key),
      iv,
    );
    const tokens = encodeQueries(
      layout,
      at.map((i) => queries[i]!),
    );
    const { outputs, attention } = forwardQueries(model.spec, model.weights, cache, tokens, {
      intervention: iv,
    });
    const O = outputs.length / at.length;
    at.forEach((qi, i) => {
      out[qi] = {
        distribution: targetDistribution(
          model.spec,
          layout,
          outputs.subarray(i * O, (i + 1) * O),
          queries[qi]!.target,
        ),
        heads: headsOf(model.spec, attention, i, at.length, N),
      };
    });
  }
  return out;
}

/**
 * Runs one query through `model` on the float64 reference executor, keeping every
 * attention map; the distribution is computed as `transformerEngine` computes it.
 */
export function explainModel(
  model: TransformerModel,
  structure: Structure,
  context: Dataset,
  row: ArrayLike<number>,
  target: number,
): ModelExplanation {
  return explainModelQueries(model, structure, context, [{ row, target }])[0]!;
}

/**
 * Queries through a family model on the float64 reference executor, every context row its
 * own token (nothing counted), keeping every attention map, optionally changed by
 * `intervention` (as in `explainModelQueries`): the distributions are the ones
 * `familyEngine` returns (up to rounding, it counts identical rows).
 */
export function explainFamilyQueries(
  model: FamilyModel,
  structure: Structure,
  context: Dataset,
  queries: readonly TargetQuery[],
  intervention?: QueryIntervention,
): ModelExplanation[] {
  const groups = new Map<number, number[]>(); // target -> query indices
  queries.forEach((q, i) => {
    const group = groups.get(q.target);
    if (group) group.push(i);
    else groups.set(q.target, [i]);
  });
  const out = new Array<ModelExplanation>(queries.length);
  const N = context.rows;
  for (const [target, at] of groups) {
    checkFamilyFits(model.layout, structure, target);
    const iv = interventionFor(intervention, at);
    const cache = prepareContext(
      model.spec,
      model.weights,
      encodeFamilyContext(model.layout, structure, target, context),
      iv,
    );
    const rows = at.map((i) => queries[i]!.row);
    const q = encodeFamilyQueries(model.layout, structure, target, rows);
    const { outputs, attention } = forwardQueries(model.spec, model.weights, cache, q, {
      intervention: iv,
    });
    const O = outputs.length / at.length;
    const K = structure.variables[target]!.states.length;
    at.forEach((qi, i) => {
      out[qi] = {
        distribution: readout(model.spec, outputs.subarray(i * O, (i + 1) * O), K),
        heads: headsOf(model.spec, attention, i, at.length, N),
      };
    });
  }
  return out;
}

/** One query through a family model (`explainFamilyQueries`). */
export function explainFamilyModel(
  model: FamilyModel,
  structure: Structure,
  context: Dataset,
  row: ArrayLike<number>,
  target: number,
): ModelExplanation {
  return explainFamilyQueries(model, structure, context, [{ row, target }])[0]!;
}

/** One query explained: the model's distribution, its layer-2 attention and the back-off rows. */
export interface QueryExplanation {
  /** The construction's distribution over the target's states. */
  distribution: Float64Array;
  /** Layer-2 attention of the query on each context row (length N). */
  weights: Float64Array;
  /** Layer-2 attention of the query on itself. */
  selfWeight: number;
  /** The back-off estimate and the rows it averages (what the attention should pick). */
  support: BackoffSupport;
}

/** Runs one query through the construction and returns its last layer's attention. */
export function explainQuery(
  c: Construction,
  context: Dataset,
  row: ArrayLike<number>,
  target: number,
): QueryExplanation {
  const { distribution, heads } = explainModel(
    constructionModel(c),
    c.structure,
    context,
    row,
    target,
  );
  const last = heads[heads.length - 1]!; // layer 2 has one head
  return {
    distribution,
    weights: last.weights,
    selfWeight: last.selfWeight,
    support: backoffSupport(c.structure, context, target, row),
  };
}
