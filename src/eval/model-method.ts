/**
 * A transformer (trained or constructed) as an evaluation Method (episodes.ts), batched
 * through the jax-js executor (src/model/jax/executor.ts), float32.
 *
 * For a context length n, each episode becomes one sequence: its first n context rows
 * (one shared context encoding, contextVisible "all", no target mark) followed by M query
 * tokens, one per target, each showing the query row's variables before its target
 * (src/model/encoding.ts). Sequences are padded with PAD tokens to a length bucket and
 * run in chunks of a fixed number of sequences per bucket (the last chunk filled with
 * all-PAD sequences), so the executor compiles once per bucket. The readout of each query
 * is softmaxed over its target's own states (entries beyond them are 0); a spec whose
 * output is already "probabilities" (the construction) is read as it is.
 */
import { BnformerError } from "../errors.ts";
import { cardinalities } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import type { TransformerModel } from "../model/engine.ts";
import type { TokenLayout } from "../model/encoding.ts";
import { encodeBatch, queriesForTargets, tokenLayout } from "../model/encoding.ts";
import { TOKEN_PAD } from "../model/spec.ts";
import type { JaxExecutor, JaxParams, TokenBatch } from "../model/jax/executor.ts";
import { bucketLength, createExecutor, paramsFromWeights } from "../model/jax/executor.ts";
import { jaxLib } from "../model/jax/setup.ts";
import type { EpisodeBatch, Method } from "./episodes.ts";
import type { MethodFactory } from "./protocol.ts";
import { baselineMethods } from "./baselines.ts";
import { maxStates } from "./episodes.ts";

/** Options of `modelMethod`. */
export interface ModelMethodOptions {
  readonly name: string;
  readonly description?: string;
  /** Token buckets (ascending); a sequence is padded to the first bucket >= its length. */
  readonly buckets?: readonly number[];
  /** Sequences x tokens per forward pass (memory vs call overhead; no effect on results). */
  readonly tokensPerChunk?: number;
}

/** Default buckets: powers of two, so lengths up to 1024 + M compile at most 8 shapes. */
export const DEFAULT_EVAL_BUCKETS: readonly number[] = [16, 32, 64, 128, 256, 512, 1024, 2048];
/** Default chunk size in tokens. */
export const DEFAULT_TOKENS_PER_CHUNK = 16384;

/** A Method that owns jax arrays: call `dispose` when the evaluation is over. */
export interface ModelMethod extends Method {
  dispose(): void;
}

/** Wraps `model` as a Method; its structure fixes the layout every batch must have. */
export async function modelMethod(
  model: TransformerModel,
  opts: ModelMethodOptions,
): Promise<ModelMethod> {
  if ((model.encoding?.contextVisible ?? "all") !== "all" || model.shareContext !== true) {
    throw new BnformerError(
      "config",
      'modelMethod runs models with one shared context encoding (contextVisible "all", shareContext)',
      { path: ["eval", opts.name] },
    );
  }
  const executor = await createExecutor(model.spec);
  const params = paramsFromWeights(model.spec, model.weights);
  const layout = tokenLayout(model.structure);
  const buckets = opts.buckets ?? DEFAULT_EVAL_BUCKETS;
  const budget = opts.tokensPerChunk ?? DEFAULT_TOKENS_PER_CHUNK;
  return {
    name: opts.name,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    predict: (batch, n) => predictBatch(executor, params, layout, batch, n, buckets, budget),
    dispose() {
      const { tree } = jaxLib();
      for (const a of tree.leaves(params)) if (a.refCount > 0) a.dispose();
      executor.dispose();
    },
  };
}

async function predictBatch(
  executor: JaxExecutor,
  params: JaxParams,
  layout: TokenLayout,
  batch: EpisodeBatch,
  n: number,
  buckets: readonly number[],
  budget: number,
): Promise<Float64Array> {
  const M = layout.vars;
  const cards = cardinalities(batch.structure);
  if (cards.length !== M || cards.some((d, i) => d !== layout.cards[i])) {
    throw new BnformerError(
      "config",
      `the model's token layout has ${M} variables with cardinalities [${layout.cards.join(",")}]; ` +
        `"${batch.structure.name}" has [${cards.join(",")}]`,
      { path: ["eval", "structure"] },
    );
  }
  if (!Number.isInteger(n) || n < 1 || n > batch.rows)
    throw new RangeError(`context length ${n} is outside 1..${batch.rows}`);
  const S = batch.episodes;
  const K = maxStates(batch.structure);
  const O = executor.spec.outputDim;
  const logits = executor.spec.output === "logits";
  const T = bucketLength(n + M, buckets);
  const chunk = Math.max(1, Math.floor(budget / T));
  const probs = new Float64Array(S * M * K);
  for (let first = 0; first < S; first += chunk) {
    const count = Math.min(chunk, S - first);
    const tokens = encodeChunk(layout, batch, n, first, count, chunk, T);
    const { outputs } = await executor.forward(params, tokens);
    // outputs: (count M, O), episodes in order, targets in order within each.
    for (let q = 0; q < count * M; q++) {
      const [k, from, at] = [cards[q % M]!, q * O, (first * M + q) * K];
      if (logits) softmaxInto(outputs, from, k, probs, at);
      else for (let s = 0; s < k; s++) probs[at + s] = outputs[from + s]!;
    }
  }
  return probs;
}

/** Episodes first..first+count-1 as `chunk` sequences of T tokens (the rest all PAD). */
function encodeChunk(
  layout: TokenLayout,
  batch: EpisodeBatch,
  n: number,
  first: number,
  count: number,
  chunk: number,
  T: number,
): TokenBatch {
  const M = layout.vars;
  const targets = Array.from({ length: M }, (_, m) => m);
  const N = batch.rows;
  const episodes = [];
  for (let e = first; e < first + count; e++) {
    const context: Dataset = {
      vars: M,
      rows: n,
      data: batch.contexts.subarray(e * N * M, (e * N + n) * M),
    };
    const query: Dataset = { vars: M, rows: 1, data: batch.queries.subarray(e * M, (e + 1) * M) };
    episodes.push({ context, queries: queriesForTargets(query, targets) });
  }
  const enc = encodeBatch(layout, episodes, { contextVisible: "all", tokens: T });
  if (count === chunk) return enc;
  const I = layout.width;
  const tokens = new Float32Array(chunk * T * I);
  tokens.set(enc.tokens);
  const kinds = new Uint8Array(chunk * T).fill(TOKEN_PAD);
  kinds.set(enc.kinds);
  return { tokens, kinds, shape: [chunk, T, I] };
}

/** Softmax of logits[from .. from + k) into out[at ..]. */
export function softmaxInto(
  logits: Float32Array,
  from: number,
  k: number,
  out: Float64Array,
  at: number,
): void {
  let max = -Infinity;
  for (let s = 0; s < k; s++) max = Math.max(max, logits[from + s]!);
  let sum = 0;
  for (let s = 0; s < k; s++) sum += out[at + s] = Math.exp(logits[from + s]! - max);
  for (let s = 0; s < k; s++) out[at + s]! /= sum;
}

/** A model to add to every seed's methods, built for that seed. */
export interface SeedModel {
  readonly model: TransformerModel;
  readonly name: string;
  readonly description?: string;
}

/**
 * A MethodFactory (protocol.ts) giving, for each seed, the baselines plus the models of
 * `modelsFor(seed)` as ModelMethods; it frees the previous seed's models when the next seed
 * starts. Call `close` after `runProtocol` to free the last ones.
 */
export function modelMethodFactory(
  modelsFor: (seed: number) => readonly SeedModel[],
  opts: Omit<ModelMethodOptions, "name" | "description"> = {},
): { factory: MethodFactory; close(): void } {
  let live: ModelMethod[] = [];
  const close = () => {
    for (const m of live) m.dispose();
    live = [];
  };
  const factory: MethodFactory = async (seed, config) => {
    close();
    for (const s of modelsFor(seed)) {
      const desc = s.description !== undefined ? { description: s.description } : {};
      live.push(await modelMethod(s.model, { ...opts, name: s.name, ...desc }));
    }
    return [...baselineMethods(config.prior, config.unseen), ...live];
  };
  return { factory, close };
}
