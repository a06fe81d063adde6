/**
 * The fast executor: the TransformerSpec forward pass (spec.ts) on @jax-js/jax, float32,
 * batched. It computes the same function as `forwardReference` (src/model/reference.ts):
 * y = x W + b, optional pre-LN with a two-pass LayerNorm, exact (erf) GELU, the explicit
 * mask of `attends` (i sees j iff i == j or (kind[j] == CONTEXT and kind[i] != PAD)), scores
 * scaled by 1/sqrt(E), and the readout at QUERY tokens (probabilities or logits as the spec
 * says; no softmax is applied here).
 *
 * Contract:
 * - Typed arrays in, typed arrays out: jax arrays never leave src/model/jax/ and src/train/.
 *   `TokenBatch` is B sequences of T tokens: tokens (B, T, I), kinds (B, T).
 * - `forwardCore` is the traced function: parameters are arguments (never captured), it
 *   consumes every argument it is given (jax-js ownership), and it is what training
 *   differentiates.
 * - A `JaxExecutor` owns one jitted forward per spec; every new (B, T) recompiles, so callers
 *   pad T to a few buckets (`padBatch`).
 * - Masked scores get a finite -1e9 bias, never -Infinity: every row keeps at least its own
 *   token, and the masked weights are exactly 0 in float32 (exp underflows).
 */
import type { Array as JArray } from "@jax-js/jax";
import { BnformerError } from "../../errors.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "../spec.ts";
import {
  LAYER_NORM_EPS,
  TOKEN_CONTEXT,
  TOKEN_PAD,
  TOKEN_QUERY,
  flattenWeights,
  paramShapes,
  unflattenWeights,
  validateSpec,
  validateWeights,
} from "../spec.ts";
import { jaxLib, loadJax } from "./setup.ts";

/** Added to masked attention scores: exp(-1e9) is exactly 0 in float32, and never NaN. */
export const MASK_BIAS = -1e9;

export type LnParams = {
  gamma: JArray;
  beta: JArray;
};
export type LayerParams = {
  ln1?: LnParams;
  attn: {
    wq: JArray;
    bq: JArray;
    wk: JArray;
    bk: JArray;
    wv: JArray;
    bv: JArray;
    wo: JArray;
    bo: JArray;
  };
  ln2?: LnParams;
  mlp?: { w1: JArray; b1: JArray; w2: JArray; b2: JArray };
};
/** Parameters as jax arrays, in the nested layout of `TransformerWeights`. */
export type JaxParams = {
  embed: { w: JArray; b: JArray };
  layers: LayerParams[];
  lnF?: LnParams;
  out: { w: JArray; b: JArray };
};

/** B sequences of T tokens each, flat row-major (the shape of `encodeBatch`'s output). */
export interface TokenBatch {
  /** (B, T, I) */
  readonly tokens: Float32Array | Float64Array;
  /** (B, T): TOKEN_CONTEXT | TOKEN_QUERY | TOKEN_PAD */
  readonly kinds: Uint8Array;
  /** [B, T, I] */
  readonly shape: readonly [number, number, number];
}

/** Where and in which precision arrays are made: float32 on wasm unless a test asks otherwise. */
export interface Placement {
  /** "float64" only for checks on the "cpu" device (wasm float64 is not true double). */
  dtype?: "float32" | "float64";
  device?: "wasm" | "cpu";
}

/** A jax array from typed data with `shape`, placed as asked (default float32 on wasm). */
export function toJax(
  data: ArrayLike<number>,
  shape: readonly number[],
  place: Placement = {},
): JArray {
  const { numpy: np } = jaxLib();
  const f64 = place.dtype === "float64";
  const typed = f64 ? Float64Array.from(data) : Float32Array.from(data);
  const opts = { dtype: f64 ? np.float64 : np.float32, device: place.device ?? "wasm" };
  return np.array(typed, opts).reshape([...shape]);
}

/** Jax parameters from typed-array weights (validated against `paramShapes`). */
export function paramsFromWeights(
  spec: TransformerSpec,
  weights: TransformerWeights,
  place: Placement = {},
): JaxParams {
  validateSpec(spec);
  validateWeights(spec, weights);
  const flat = new Map<string, JArray>();
  for (const [name, t] of flattenWeights(weights)) flat.set(name, toJax(t.data, t.shape, place));
  return nestByName(spec, flat);
}

/** Nests dotted-name leaves (`paramShapes` names) into the `JaxParams` layout. */
function nestByName(spec: TransformerSpec, flat: Map<string, JArray>): JaxParams {
  const root: Record<string, unknown> = {};
  for (const name of paramShapes(spec).keys()) {
    const parts = name.split(".");
    let node: Record<string, unknown> = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const key = parts[i]!;
      node[key] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {};
      node = node[key] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = flat.get(name);
  }
  return root as unknown as JaxParams;
}

/** Dotted names and arrays of `params`, in `paramShapes` order. */
export function paramEntries(spec: TransformerSpec, params: JaxParams): [string, JArray][] {
  const out: [string, JArray][] = [];
  const root = params as unknown as Record<string, unknown>;
  for (const name of paramShapes(spec).keys()) {
    let node: unknown = root;
    for (const part of name.split(".")) node = (node as Record<string, unknown>)[part];
    out.push([name, node as JArray]);
  }
  return out;
}

/** Reads `params` back as Float32 weights; does not consume them. */
export async function weightsFromParams(
  spec: TransformerSpec,
  params: JaxParams,
): Promise<TransformerWeights> {
  const flat = new Map<string, Tensor>();
  for (const [name, a] of paramEntries(spec, params)) {
    const data = (await a.ref.data()) as Float32Array;
    flat.set(name, { shape: [...a.shape], data: Float32Array.from(data) });
  }
  return unflattenWeights(spec, flat);
}

/** Two-pass LayerNorm over the last axis of x (R, D); consumes all arguments. */
function layerNorm(x: JArray, ln: LnParams): JArray {
  const { numpy: np } = jaxLib();
  const mean = x.ref.mean(-1, { keepdims: true });
  const xc = x.sub(mean); // (R, D)
  const v = xc.ref.mul(xc.ref).mean(-1, { keepdims: true }); // (R, 1)
  const inv = np.reciprocal(np.sqrt(v.add(LAYER_NORM_EPS)));
  return xc.mul(inv).mul(ln.gamma).add(ln.beta);
}

/** x (R, in) W (in, out) + b; consumes all arguments. */
function linear(x: JArray, w: JArray, b: JArray): JArray {
  const { numpy: np } = jaxLib();
  return np.matmul(x, w).add(b);
}

/**
 * Additive attention bias (B, 1, T T), row-major over (i, j), from float masks
 * ctx (B, T) = [kind == CONTEXT] and live (B, T) = [kind != PAD]: 0 where `attends`,
 * MASK_BIAS elsewhere. Consumes both.
 */
export function attentionBias(ctx: JArray, live: JArray): JArray {
  const { numpy: np } = jaxLib();
  const [B, T] = ctx.shape as [number, number];
  const pair = live.reshape([B, T, 1]).mul(ctx.reshape([B, 1, T])); // (B, T, T)
  const allowed = np.maximum(pair, np.eye(T)); // i == j always allowed
  return allowed
    .sub(1)
    .mul(-MASK_BIAS)
    .reshape([B, 1, T * T]);
}

/** One attention sublayer on a (B T, D) with bias (B, 1, T T); consumes a, lw and bias. */
function attention(
  spec: TransformerSpec,
  l: number,
  a: JArray,
  lw: LayerParams["attn"],
  bias: JArray,
  B: number,
  T: number,
): JArray {
  const { numpy: np, nn } = jaxLib();
  const { heads: H, headDim: E } = spec.layers[l]!;
  const q = linear(a.ref, lw.wq, lw.bq).reshape([B, T, H, E]).transpose([0, 2, 1, 3]); // (B, H, T, E)
  const k = linear(a.ref, lw.wk, lw.bk).reshape([B, T, H, E]).transpose([0, 2, 3, 1]); // (B, H, E, T)
  const v = linear(a, lw.wv, lw.bv).reshape([B, T, H, E]).transpose([0, 2, 1, 3]); // (B, H, T, E)
  // Scores and softmax on flattened views, (B, H, T T) then (B H T, T): fewer index
  // divisions per element in jax-js's scalar exp kernel (~20% faster softmax, measured).
  const s = np
    .matmul(q, k)
    .mul(1 / Math.sqrt(E))
    .reshape([B, H, T * T])
    .add(bias);
  const w = nn.softmax(s.reshape([B * H * T, T]), -1).reshape([B, H, T, T]);
  const o = np
    .matmul(w, v)
    .transpose([0, 2, 1, 3])
    .reshape([B * T, H * E]); // (B T, H E)
  return linear(o, lw.wo, lw.bo); // (B T, D)
}

function activate(spec: TransformerSpec, u: JArray): JArray {
  const { nn } = jaxLib();
  return spec.activation === "relu" ? nn.relu(u) : nn.gelu(u, { approximate: false });
}

/**
 * The traced forward pass: x (B, T, I), ctx and live (B, T) float masks -> readout at every
 * token (B T, O). Consumes params and inputs; pure (usable under jit and valueAndGrad).
 */
export function forwardCore(
  spec: TransformerSpec,
  p: JaxParams,
  x: JArray,
  ctx: JArray,
  live: JArray,
): JArray {
  const [B, T, I] = x.shape as [number, number, number];
  const bias = attentionBias(ctx, live); // (B, 1, T T)
  let h = linear(x.reshape([B * T, I]), p.embed.w, p.embed.b); // (B T, D)
  spec.layers.forEach((ls, l) => {
    const lw = p.layers[l]!;
    const a = lw.ln1 ? layerNorm(h.ref, lw.ln1) : h.ref;
    h = h.add(attention(spec, l, a, lw.attn, bias.ref, B, T));
    if (ls.mlpHidden > 0 && lw.mlp) {
      const m = lw.ln2 ? layerNorm(h.ref, lw.ln2) : h.ref;
      const u = activate(spec, linear(m, lw.mlp.w1, lw.mlp.b1)); // (B T, F)
      h = h.add(linear(u, lw.mlp.w2, lw.mlp.b2));
    }
  });
  bias.dispose();
  const f = p.lnF ? layerNorm(h, p.lnF) : h;
  return linear(f, p.out.w, p.out.b); // (B T, O)
}

/** Float masks ctx = [kind == CONTEXT], live = [kind != PAD], both (B, T), as typed arrays. */
export function kindMasks(batch: TokenBatch): { ctx: Float32Array; live: Float32Array } {
  const n = batch.kinds.length;
  const ctx = new Float32Array(n);
  const live = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = batch.kinds[i]!;
    ctx[i] = k === TOKEN_CONTEXT ? 1 : 0;
    live[i] = k === TOKEN_PAD ? 0 : 1;
  }
  return { ctx, live };
}

/** Throws unless the batch's arrays fit (B, T, I) and every kind is known. */
export function validateBatch(spec: TransformerSpec, batch: TokenBatch): void {
  const [B, T, I] = batch.shape;
  const bad = (what: string) => new BnformerError("data", what, { path: ["batch"] });
  if (![B, T, I].every((n) => Number.isInteger(n) && n >= 1))
    throw bad(`shape must be three positive integers [B, T, I], got [${batch.shape}]`);
  if (I !== spec.inputDim)
    throw bad(`tokens have width I = ${I}; the spec expects ${spec.inputDim}`);
  if (batch.tokens.length !== B * T * spec.inputDim)
    throw bad(
      `tokens have ${batch.tokens.length} values; expected B ${B} x T ${T} x I ${spec.inputDim}`,
    );
  if (batch.kinds.length !== B * T)
    throw bad(`kinds have ${batch.kinds.length} entries; expected B ${B} x T ${T}`);
  for (let i = 0; i < batch.kinds.length; i++) {
    const k = batch.kinds[i]!;
    if (k !== TOKEN_CONTEXT && k !== TOKEN_QUERY && k !== TOKEN_PAD)
      throw bad(`kinds[${i}] = ${k} is not CONTEXT, QUERY or PAD`);
  }
}

/**
 * Pads each sequence to length `T2 >= T` with PAD tokens (zeros): PAD tokens attend only to
 * themselves and nobody attends to them, so no other output changes.
 */
export function padBatch(batch: TokenBatch, T2: number): TokenBatch {
  const [B, T, inputDim] = batch.shape;
  if (T2 === T) return batch;
  if (T2 < T)
    throw new BnformerError("data", `cannot pad length ${T} down to ${T2}`, { path: ["batch"] });
  const tokens = new Float32Array(B * T2 * inputDim);
  const kinds = new Uint8Array(B * T2).fill(TOKEN_PAD);
  for (let b = 0; b < B; b++) {
    tokens.set(batch.tokens.subarray(b * T * inputDim, (b + 1) * T * inputDim), b * T2 * inputDim);
    kinds.set(batch.kinds.subarray(b * T, (b + 1) * T), b * T2);
  }
  return { tokens, kinds, shape: [B, T2, inputDim] };
}

/** The smallest bucket >= T (buckets ascending); T itself when no bucket fits. */
export function bucketLength(T: number, buckets: readonly number[]): number {
  for (const b of buckets) if (b >= T) return b;
  return T;
}

/** Outputs of a batched forward pass. */
export interface JaxForwardResult {
  /** (Q, O): one row per QUERY token, sequences in order, tokens in order within each. */
  outputs: Float32Array;
  /** Queries per sequence (B). */
  queriesPerSequence: Int32Array;
}

/** One jitted forward pass per spec; create with `createExecutor`, free with `dispose`. */
export interface JaxExecutor {
  readonly spec: TransformerSpec;
  /** Readouts at QUERY tokens; does not consume `params`. */
  forward(params: JaxParams, batch: TokenBatch): Promise<JaxForwardResult>;
  /** Readouts at every token (B, T, O), for mask tests and inspection. */
  forwardAll(params: JaxParams, batch: TokenBatch): Promise<Float32Array>;
  dispose(): void;
}

/** Loads jax-js (if needed) and builds the jitted forward pass of `spec`. */
export async function createExecutor(spec: TransformerSpec): Promise<JaxExecutor> {
  validateSpec(spec);
  const jax = await loadJax();
  const { tree } = jax;
  const run = jax.jit((p: JaxParams, x: JArray, ctx: JArray, live: JArray) =>
    forwardCore(spec, p, x, ctx, live),
  );
  const forwardAll = async (params: JaxParams, batch: TokenBatch): Promise<Float32Array> => {
    validateBatch(spec, batch);
    const [B, T] = batch.shape;
    const { ctx, live } = kindMasks(batch);
    const x = toJax(batch.tokens, [B, T, spec.inputDim]);
    const y = run(tree.ref(params), x, toJax(ctx, [B, T]), toJax(live, [B, T]));
    return Float32Array.from((await y.data()) as Float32Array);
  };
  return {
    spec,
    forwardAll,
    async forward(params, batch) {
      const all = await forwardAll(params, batch);
      return selectQueries(batch, all, spec.outputDim);
    },
    dispose: () => run.dispose(),
  };
}

/** Rows of `all` (B T, O) at QUERY tokens, in order. */
export function selectQueries(batch: TokenBatch, all: Float32Array, O: number): JaxForwardResult {
  const [B, T] = batch.shape;
  const kinds = batch.kinds;
  const perSeq = new Int32Array(B);
  let Q = 0;
  for (let i = 0; i < B * T; i++) if (kinds[i] === TOKEN_QUERY) Q++;
  const outputs = new Float32Array(Q * O);
  let r = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (kinds[i] !== TOKEN_QUERY) continue;
      outputs.set(all.subarray(i * O, (i + 1) * O), r * O);
      r++;
      perSeq[b]!++;
    }
  }
  return { outputs, queriesPerSequence: perSeq };
}
