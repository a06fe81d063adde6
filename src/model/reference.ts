/**
 * The float64 reference executor: the specification every other executor is tested
 * against. Plain loops, no dependency, the forward pass exactly as stated in spec.ts:
 * embed, then per layer an (optionally pre-LN) masked multi-head attention sublayer and an
 * MLP sublayer, each added to the residual stream, then (LN_F and) the readout at every
 * QUERY token. Exact GELU through an accurate erf, two-pass LayerNorm, softmax with the
 * maximum subtracted, scores scaled by 1/sqrt(E).
 *
 * Two entry points compute the same numbers:
 * - `forwardReference` runs any token sequence with any kinds and returns every layer's
 *   attention (H, T, T) (zero where the mask forbids a pair);
 * - `prepareContext` + `forwardQueries` exploit the mask (context tokens never see queries,
 *   so their states do not depend on them): the context is run once and each query then costs
 *   O(N) per layer. Its attention rows are (H, Q, N + 1), the last column being the query itself.
 */
import { BnformerError } from "../errors.ts";
import type {
  ContextAttention,
  LayerNormWeights,
  LayerWeights,
  Tensor,
  TransformerSpec,
  TransformerWeights,
} from "./spec.ts";
import {
  LAYER_NORM_EPS,
  TOKEN_CONTEXT,
  TOKEN_PAD,
  TOKEN_QUERY,
  attends,
  contextAttentionOf,
  flattenWeights,
  validateSpec,
  validateWeights,
} from "./spec.ts";

/** What a forward pass returns: readouts at QUERY tokens (Q, O) and per-layer attention. */
export interface ForwardResult {
  /** (Q, O): one row per QUERY token in token order; probabilities or logits per spec.output. */
  outputs: Float64Array;
  /** Per layer (H, T, T): weight of key j in query i's softmax; empty when not kept. */
  attention: Float64Array[];
}

/** Options of `forwardReference` and `forwardQueries`. */
export interface ForwardOptions {
  /**
   * Keep the attention maps (default true). false saves memory and skips the heads whose
   * rows of Wo are all zero (they add exactly nothing); the outputs are the same bits.
   */
  keepAttention?: boolean;
  /** Changes to the forward pass, for studying what each part computes (probe.ts). */
  intervention?: Intervention;
}

/**
 * Changes to a forward pass. Layers are 0-based. An ablated sublayer adds nothing to the
 * residual stream (zero ablation, bias included) at every token, context and query alike;
 * `queryAttention` rewrites the attention of query tokens only (`forwardQueries`).
 */
export interface Intervention {
  ablateAttention?: ReadonlySet<number>;
  ablateMlp?: ReadonlySet<number>;
  /**
   * Given a query's attention in (layer, head) as the model computes it (length N + 1, the
   * query itself last), the weights to use instead, or null to keep them.
   */
  queryAttention?: (
    layer: number,
    head: number,
    query: number,
    weights: Float64Array,
  ) => Float64Array | null;
  /** Receives each layer's MLP sublayer output at the query tokens, (Q, D) row-major. */
  onQueryMlp?: (layer: number, output: Float64Array) => void;
}

/** Error function, |error| < 2e-16 absolute: a positive series below 3, a continued fraction above. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const r = ax < 3 ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** Complementary error function 1 - erf(x), accurate in relative terms for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 1 + erf(-x);
  return x < 3 ? 1 - erfSeries(x) : erfcContinuedFraction(x);
}

/** erf(x) = 2x/sqrt(pi) e^{-x^2} sum_n (2x^2)^n / (1*3*...*(2n+1)): all terms positive, no cancellation. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return ((2 * x) / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** erfc(x) for x >= 3 by the Laplace continued fraction, evaluated with Lentz's method. */
function erfcContinuedFraction(x: number): number {
  // erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Exact GELU: x Phi(x) = x/2 erfc(-x / sqrt 2) (erfc keeps the tail accurate for x << 0). */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x / Math.SQRT2);
}

/** y (rows, out) = x (rows, in) W (in, out) + b (out). */
function linear(x: Float64Array, rows: number, w: Tensor, b: Tensor): Float64Array {
  const [inDim, outDim] = w.shape as [number, number];
  const W = w.data;
  const B = b.data;
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const yo = r * outDim;
    for (let j = 0; j < outDim; j++) y[yo + j] = B[j]!;
    const xo = r * inDim;
    for (let k = 0; k < inDim; k++) {
      const xk = x[xo + k]!;
      if (xk === 0) continue; // exact: adding 0 * w changes nothing (weights are finite)
      const wo = k * outDim;
      for (let j = 0; j < outDim; j++) y[yo + j] += xk * W[wo + j]!;
    }
  }
  return y;
}

/** Two-pass LayerNorm of each row of x (rows, D): mean first, then the centred variance. */
function layerNorm(x: Float64Array, rows: number, ln: LayerNormWeights): Float64Array {
  const D = ln.gamma.shape[0]!;
  const g = ln.gamma.data;
  const be = ln.beta.data;
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    const o = r * D;
    let mean = 0;
    for (let k = 0; k < D; k++) mean += x[o + k]!;
    mean /= D;
    let v = 0;
    for (let k = 0; k < D; k++) {
      const c = x[o + k]! - mean;
      v += c * c;
    }
    const inv = 1 / Math.sqrt(v / D + LAYER_NORM_EPS);
    for (let k = 0; k < D; k++) y[o + k] = (x[o + k]! - mean) * inv * g[k]! + be[k]!;
  }
  return y;
}

function activate(spec: TransformerSpec, u: Float64Array): void {
  if (spec.activation === "relu") {
    for (let i = 0; i < u.length; i++) if (u[i]! < 0) u[i] = 0;
  } else {
    for (let i = 0; i < u.length; i++) u[i] = gelu(u[i]!);
  }
}

/**
 * h += MLP(LN2(h)) for `rows` rows, when the layer has an MLP and it is not ablated;
 * returns the MLP's output (rows, D), or null.
 */
function mlpSublayer(
  spec: TransformerSpec,
  lw: LayerWeights,
  h: Float64Array,
  rows: number,
  ablate = false,
): Float64Array | null {
  if (!lw.mlp || ablate) return null;
  const x = lw.ln2 ? layerNorm(h, rows, lw.ln2) : h;
  const u = linear(x, rows, lw.mlp.w1, lw.mlp.b1); // (rows, F)
  activate(spec, u);
  const m = linear(u, rows, lw.mlp.w2, lw.mlp.b2); // (rows, D)
  for (let i = 0; i < h.length; i++) h[i] += m[i]!;
  return m;
}

function checkModel(spec: TransformerSpec, w: TransformerWeights): void {
  validateSpec(spec);
  validateWeights(spec, w);
  for (const [name, t] of flattenWeights(w)) {
    // Finite weights make skipping zero inputs in `linear` exact (0 * w = 0).
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) {
        throw new BnformerError("spec", `weight "${name}" has a non-finite value`, {
          path: [name],
        });
      }
    }
  }
}

function checkTokens(spec: TransformerSpec, tokens: Float64Array, T: number): void {
  const I = spec.inputDim;
  if (!Number.isInteger(T) || tokens.length !== T * I) {
    const expected = Number.isInteger(T)
      ? `expected ${T} tokens x inputDim ${I} = ${T * I}`
      : `expected a multiple of inputDim ${I}`;
    throw new BnformerError("spec", `tokens have ${tokens.length} values; ${expected}`, {
      path: ["tokens"],
    });
  }
}

/** sum_e a[ao + e] b[bo + e] for e < n. */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let d = 0;
  for (let e = 0; e < n; e++) d += a[ao + e]! * b[bo + e]!;
  return d;
}

/** y[yo + e] += w x[xo + e] for e < n. */
function axpy(
  w: number,
  x: Float64Array,
  xo: number,
  y: Float64Array,
  yo: number,
  n: number,
): void {
  for (let e = 0; e < n; e++) y[yo + e] += w * x[xo + e]!;
}

/**
 * True when head `hd`'s rows of Wo (H E, D) are all zero: the head then adds exactly
 * nothing, and its attention is computed only when the maps are kept.
 */
function silentHead(wo: Tensor, hd: number, E: number): boolean {
  const D = wo.shape[1]!;
  const data = wo.data;
  for (let i = hd * E * D; i < (hd + 1) * E * D; i++) if (data[i] !== 0) return false;
  return true;
}

/** Softmax of s[0..n) in place, maximum subtracted first. */
function softmaxInPlace(s: Float64Array, n: number): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (s[j]! > max) max = s[j]!;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(s[j]! - max);
    s[j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) s[j]! /= sum;
}

/** Per-layer keys and values of a run, (T, H E) each, for `prepareContext`. */
export interface LayerKV {
  k: Float64Array;
  v: Float64Array;
}

/**
 * The forward pass over T tokens with the spec's mask (see `attends`).
 * tokens (T, I) row-major; kinds (T). Returns readouts at QUERY tokens and attention maps.
 */
export function forwardReference(
  spec: TransformerSpec,
  weights: TransformerWeights,
  tokens: Float64Array,
  kinds: Uint8Array,
  opts: ForwardOptions = {},
): ForwardResult {
  const T = kinds.length;
  checkModel(spec, weights);
  checkTokens(spec, tokens, T);
  const run = runTokens(
    spec,
    weights,
    tokens,
    kinds,
    opts.keepAttention ?? true,
    null,
    opts.intervention,
  );
  return { outputs: readout(spec, weights, run.h, kinds), attention: run.attention };
}

/**
 * The keys each token may attend to, in token order: `attends` (spec.ts) evaluated once.
 * Context tokens see exactly the context tokens (they share one list), or only themselves.
 */
function allowedKeys(kinds: Uint8Array, mode: ContextAttention): Int32Array[] {
  const T = kinds.length;
  const ctx: number[] = [];
  for (let j = 0; j < T; j++) if (kinds[j] === TOKEN_CONTEXT) ctx.push(j);
  const contextKeys = Int32Array.from(ctx);
  const out: Int32Array[] = [];
  for (let i = 0; i < T; i++) {
    let keys: Int32Array;
    if (kinds[i] === TOKEN_CONTEXT) keys = mode === "context" ? contextKeys : Int32Array.of(i);
    else if (kinds[i] === TOKEN_PAD) keys = Int32Array.of(i);
    else {
      // Context tokens before i, i itself, context tokens after i.
      let before = 0;
      while (before < ctx.length && ctx[before]! < i) before++;
      keys = new Int32Array(ctx.length + 1);
      keys.set(contextKeys.subarray(0, before));
      keys[before] = i;
      keys.set(contextKeys.subarray(before), before + 1);
    }
    out.push(keys);
  }
  // The shortcut must agree with the mask's one definition.
  for (let i = 0; i < T; i += Math.max(1, T >> 4)) {
    let n = 0;
    for (let j = 0; j < T; j++) if (attends(kinds, i, j, mode)) n++;
    if (n !== out[i]!.length) throw new Error(`allowedKeys: mask mismatch at token ${i}`);
  }
  return out;
}

function runTokens(
  spec: TransformerSpec,
  w: TransformerWeights,
  tokens: Float64Array,
  kinds: Uint8Array,
  keepAttention: boolean,
  record: LayerKV[] | null,
  intervention?: Intervention,
): { h: Float64Array; attention: Float64Array[] } {
  const T = kinds.length;
  const h = linear(tokens, T, w.embed.w, w.embed.b); // (T, D)
  const attention: Float64Array[] = [];
  const allowed = allowedKeys(kinds, contextAttentionOf(spec));
  spec.layers.forEach((ls, l) => {
    const lw = w.layers[l]!;
    const H = ls.heads;
    const E = ls.headDim;
    const HE = H * E;
    const { q, k, v } = projectQKV(lw, h, T); // (T, H E) each
    if (record) {
      record.push({ k, v });
      // A cache needs only the last layer's keys and values, not its outputs.
      if (l === spec.layers.length - 1) return;
    }
    const att = keepAttention ? new Float64Array(H * T * T) : null; // (H, T, T)
    const ctx = new Float64Array(T * HE); // (T, H E): heads concatenated
    const s = new Float64Array(T);
    const scale = 1 / Math.sqrt(E);
    for (let hd = 0; hd < H; hd++) {
      if (!att && silentHead(lw.attn.wo, hd, E)) continue;
      for (let i = 0; i < T; i++) {
        const js = allowed[i]!;
        const qo = i * HE + hd * E;
        for (let a = 0; a < js.length; a++) s[a] = dot(q, qo, k, js[a]! * HE + hd * E, E) * scale;
        softmaxInPlace(s, js.length);
        for (let a = 0; a < js.length; a++) {
          if (att) att[(hd * T + i) * T + js[a]!] = s[a]!;
          axpy(s[a]!, v, js[a]! * HE + hd * E, ctx, qo, E);
        }
      }
    }
    if (att) attention.push(att);
    finishLayer(spec, lw, h, ctx, T, l, intervention);
  });
  return { h, attention };
}

/** A layer's queries, keys and values of `rows` residual rows (after LN1 when it has one). */
function projectQKV(
  lw: LayerWeights,
  h: Float64Array,
  rows: number,
): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const x = lw.ln1 ? layerNorm(h, rows, lw.ln1) : h;
  return {
    q: linear(x, rows, lw.attn.wq, lw.attn.bq),
    k: linear(x, rows, lw.attn.wk, lw.attn.bk),
    v: linear(x, rows, lw.attn.wv, lw.attn.bv),
  };
}

/**
 * The rest of layer `l`, in place on h: output projection of the heads, residual, MLP.
 * Returns the MLP's output (rows, D), null when it has none or it is ablated.
 */
function finishLayer(
  spec: TransformerSpec,
  lw: LayerWeights,
  h: Float64Array,
  heads: Float64Array,
  rows: number,
  l: number,
  intervention?: Intervention,
): Float64Array | null {
  if (!intervention?.ablateAttention?.has(l)) {
    const o = linear(heads, rows, lw.attn.wo, lw.attn.bo); // (rows, D)
    for (let i = 0; i < rows * spec.dModel; i++) h[i] += o[i]!;
  }
  return mlpSublayer(spec, lw, h, rows, intervention?.ablateMlp?.has(l) ?? false);
}

/** (LN_F and) the readout at every QUERY token, in token order: (Q, O). */
function readout(
  spec: TransformerSpec,
  w: TransformerWeights,
  h: Float64Array,
  kinds: Uint8Array,
): Float64Array {
  const D = spec.dModel;
  const rows: number[] = [];
  for (let i = 0; i < kinds.length; i++) if (kinds[i] === TOKEN_QUERY) rows.push(i);
  const hq = new Float64Array(rows.length * D); // (Q, D)
  rows.forEach((i, r) => hq.set(h.subarray(i * D, (i + 1) * D), r * D));
  const x = w.lnF ? layerNorm(hq, rows.length, w.lnF) : hq;
  return linear(x, rows.length, w.out.w, w.out.b); // (Q, O)
}

/**
 * A context run once: its per-layer keys and values, reusable by any number of queries.
 * It belongs to the spec and weights (the same objects) it was prepared with.
 */
export interface ContextCache {
  readonly spec: TransformerSpec;
  readonly weights: TransformerWeights;
  /** Context tokens N. */
  readonly n: number;
  readonly layers: readonly LayerKV[];
  /**
   * log(multiplicity) of each cached token when the cache holds each distinct context
   * token once (`countedContextCache`); absent when every token is cached as itself.
   */
  readonly logCounts?: Float64Array;
}

/** Runs N context tokens (T = N, all CONTEXT) once and keeps each layer's keys and values. */
export function prepareContext(
  spec: TransformerSpec,
  weights: TransformerWeights,
  tokens: Float64Array,
  intervention?: Intervention,
): ContextCache {
  const N = tokens.length / spec.inputDim;
  checkModel(spec, weights);
  checkTokens(spec, tokens, N);
  const kinds = new Uint8Array(N).fill(TOKEN_CONTEXT);
  const layers: LayerKV[] = [];
  runTokens(spec, weights, tokens, kinds, false, layers, intervention);
  return { spec, weights, n: N, layers };
}

/**
 * A counted context for a model whose context tokens attend only to themselves
 * (`contextAttention: "self"`): each distinct context token once, its per-layer keys and
 * values (N, H E) each (from `prepareContext` of the same spec and weights, or kept from
 * earlier contexts: such a token's state depends on the token alone), and how many times it
 * occurs. A query's softmax over the full context equals its softmax over the distinct
 * tokens with log(count) added to their scores, so `forwardQueries` gives the full
 * context's outputs up to rounding, its attention rows per distinct token.
 */
export function countedContextCache(
  spec: TransformerSpec,
  weights: TransformerWeights,
  layers: readonly LayerKV[],
  counts: ArrayLike<number>,
): ContextCache {
  requireSelfContext(spec);
  // Called once per context and target with the same model: check the weights once.
  if (checkedForCounting.get(weights) !== spec) {
    checkModel(spec, weights);
    checkedForCounting.set(weights, spec);
  }
  const n = counts.length;
  layers.forEach((kv, l) => {
    const size = n * spec.layers[l]!.heads * spec.layers[l]!.headDim;
    if (l >= spec.layers.length || kv.k.length !== size || kv.v.length !== size)
      throw new BnformerError("data", `layer ${l}: keys and values do not fit ${n} tokens`, {
        path: ["layers", String(l)],
      });
  });
  if (layers.length !== spec.layers.length)
    throw new BnformerError("data", `${layers.length} layers of keys for ${spec.layers.length}`, {
      path: ["layers"],
    });
  const logCounts = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const c = counts[j]!;
    if (!(Number.isInteger(c) && c >= 1))
      throw new BnformerError("data", `count ${j} must be an integer >= 1, got ${c}`, {
        path: ["counts"],
      });
    logCounts[j] = Math.log(c);
  }
  return { spec, weights, n, layers, logCounts };
}

const checkedForCounting = new WeakMap<TransformerWeights, TransformerSpec>();

function requireSelfContext(spec: TransformerSpec): void {
  if (contextAttentionOf(spec) !== "self")
    throw new BnformerError(
      "spec",
      'a counted context needs a model whose context tokens attend only to themselves (contextAttention "self")',
      { path: ["spec", "contextAttention"] },
    );
}

/**
 * Each of Q query tokens (Q, I) against a prepared context: the same numbers as
 * `forwardReference` on [context..., query] for every query. Attention per layer is
 * (H, Q, N + 1): columns 0..N-1 the context tokens, column N the query itself.
 */
export function forwardQueries(
  spec: TransformerSpec,
  weights: TransformerWeights,
  cache: ContextCache,
  queries: Float64Array,
  opts: ForwardOptions = {},
): ForwardResult {
  const Q = queries.length / spec.inputDim;
  const keep = opts.keepAttention ?? true;
  // The model was validated by prepareContext; only the same objects may use the cache.
  if (cache.spec !== spec || cache.weights !== weights) {
    throw new BnformerError(
      "spec",
      "the context cache was prepared with another spec or other weights",
      { path: ["cache"] },
    );
  }
  checkTokens(spec, queries, Q);
  const N = cache.n;
  const logCounts = cache.logCounts;
  const h = linear(queries, Q, weights.embed.w, weights.embed.b); // (Q, D)
  const attention: Float64Array[] = [];
  spec.layers.forEach((ls, l) => {
    const lw = weights.layers[l]!;
    const H = ls.heads;
    const E = ls.headDim;
    const HE = H * E;
    const { q, k, v } = projectQKV(lw, h, Q); // (Q, H E) each
    const { k: ck, v: cv } = cache.layers[l]!; // (N, H E)
    const att = keep ? new Float64Array(H * Q * (N + 1)) : null; // (H, Q, N + 1)
    const scratch = new Float64Array(N + 1);
    const ctx = new Float64Array(Q * HE);
    const scale = 1 / Math.sqrt(E);
    for (let hd = 0; hd < H; hd++) {
      if (!att && silentHead(lw.attn.wo, hd, E)) continue;
      for (let i = 0; i < Q; i++) {
        const s = att ? att.subarray((hd * Q + i) * (N + 1), (hd * Q + i + 1) * (N + 1)) : scratch;
        const qo = i * HE + hd * E;
        // Keys in token order: the N context tokens, then the query itself.
        for (let j = 0; j < N; j++) s[j] = dot(q, qo, ck, j * HE + hd * E, E) * scale;
        if (logCounts) for (let j = 0; j < N; j++) s[j]! += logCounts[j]!;
        s[N] = dot(q, qo, k, qo, E) * scale;
        softmaxInPlace(s, N + 1);
        const w = opts.intervention?.queryAttention?.(l, hd, i, s.subarray(0, N + 1)) ?? s;
        for (let j = 0; j < N; j++) axpy(w[j]!, cv, j * HE + hd * E, ctx, qo, E);
        axpy(w[N]!, v, qo, ctx, qo, E);
      }
    }
    if (att) attention.push(att);
    const mlp = finishLayer(spec, lw, h, ctx, Q, l, opts.intervention);
    if (mlp) opts.intervention?.onQueryMlp?.(l, mlp);
  });
  const kinds = new Uint8Array(Q).fill(TOKEN_QUERY);
  return { outputs: readout(spec, weights, h, kinds), attention };
}

/**
 * A context to run in chunks: `rows` tokens, encoded on demand. Each chunk of tokens is
 * (end - start, I) for rows [start, end).
 */
export interface ContextSource {
  readonly rows: number;
  encode(start: number, end: number): Float64Array;
}

/** Context rows per chunk when a context is prepared or streamed in chunks. */
export const CONTEXT_CHUNK_ROWS = 4096;

/**
 * True when no context token's state depends on any other token: every head of every layer
 * but the last is silent (its rows of Wo are zero). Then a context can be run chunk by
 * chunk, with the same numbers. The construction is such a model (its layer 1 attention is
 * zero); a trained model is not.
 */
export function contextIsRowLocal(spec: TransformerSpec, weights: TransformerWeights): boolean {
  const last = spec.layers.length - 1;
  return spec.layers.every((ls, l) => {
    if (l === last) return true;
    for (let hd = 0; hd < ls.heads; hd++) {
      if (!silentHead(weights.layers[l]!.attn.wo, hd, ls.headDim)) return false;
    }
    return true;
  });
}

function requireRowLocal(spec: TransformerSpec, weights: TransformerWeights): void {
  checkModel(spec, weights);
  if (!contextIsRowLocal(spec, weights)) {
    throw new BnformerError(
      "spec",
      "a context can be run in chunks only when every layer but the last has silent attention (all-zero Wo)",
      { path: ["layers"] },
    );
  }
}

/**
 * Every layer's keys and values of `rows` context tokens, each token run alone: for a
 * row-local model these are the bits `runTokens` computes with the whole context, because
 * the attention it skips (silent heads) adds nothing.
 */
function chunkKV(
  spec: TransformerSpec,
  w: TransformerWeights,
  tokens: Float64Array,
  rows: number,
): LayerKV[] {
  checkTokens(spec, tokens, rows);
  const h = linear(tokens, rows, w.embed.w, w.embed.b); // (rows, D)
  const last = spec.layers.length - 1;
  return spec.layers.map((ls, l) => {
    const lw = w.layers[l]!;
    const { k, v } = projectQKV(lw, h, rows);
    if (l < last) finishLayer(spec, lw, h, new Float64Array(rows * ls.heads * ls.headDim), rows, l);
    return { k, v };
  });
}

/**
 * `prepareContext` of a row-local model, run `chunkRows` context rows at a time: the same
 * cache, bit for bit, with working memory O(chunkRows) beside the cache itself.
 */
export function prepareContextChunked(
  spec: TransformerSpec,
  weights: TransformerWeights,
  source: ContextSource,
  chunkRows = CONTEXT_CHUNK_ROWS,
): ContextCache {
  requireRowLocal(spec, weights);
  const N = source.rows;
  const layers: LayerKV[] = spec.layers.map((ls) => ({
    k: new Float64Array(N * ls.heads * ls.headDim),
    v: new Float64Array(N * ls.heads * ls.headDim),
  }));
  for (let start = 0; start < N; start += chunkRows) {
    const end = Math.min(N, start + chunkRows);
    chunkKV(spec, weights, source.encode(start, end), end - start).forEach((kv, l) => {
      const HE = spec.layers[l]!.heads * spec.layers[l]!.headDim;
      layers[l]!.k.set(kv.k, start * HE);
      layers[l]!.v.set(kv.v, start * HE);
    });
  }
  return { spec, weights, n: N, layers };
}

/**
 * `forwardQueries` of a row-local model without a cache: the context is encoded and run
 * `chunkRows` rows at a time, and the last layer's softmax over it is accumulated chunk by
 * chunk with a running maximum and running sums (rescaled when the maximum grows), so
 * memory is O(chunkRows + Q) whatever the context's length. The outputs equal
 * `forwardQueries`' up to rounding (the sums are taken in another order); no attention
 * maps are kept.
 */
export function forwardQueriesStreamed(
  spec: TransformerSpec,
  weights: TransformerWeights,
  source: ContextSource,
  queries: Float64Array,
  chunkRows = CONTEXT_CHUNK_ROWS,
): ForwardResult {
  requireRowLocal(spec, weights);
  const Q = queries.length / spec.inputDim;
  checkTokens(spec, queries, Q);
  const last = spec.layers.length - 1;
  // Layers before the last are silent: each query runs through them alone.
  const h = linear(queries, Q, weights.embed.w, weights.embed.b); // (Q, D)
  for (let l = 0; l < last; l++) {
    const ls = spec.layers[l]!;
    finishLayer(spec, weights.layers[l]!, h, new Float64Array(Q * ls.heads * ls.headDim), Q, l);
  }
  const lw = weights.layers[last]!;
  const H = spec.layers[last]!.heads;
  const E = spec.layers[last]!.headDim;
  const HE = H * E;
  const scale = 1 / Math.sqrt(E);
  const { q, k, v } = projectQKV(lw, h, Q);
  const heads: number[] = [];
  for (let hd = 0; hd < H; hd++) if (!silentHead(lw.attn.wo, hd, E)) heads.push(hd);
  const max = new Float64Array(H * Q).fill(-Infinity); // running max score per (head, query)
  const sum = new Float64Array(H * Q); // running sum of exp(score - max)
  const acc = new Float64Array(Q * HE); // running sum of exp(score - max) * value
  // Adds keys/values rows [0, n) of (n, H E) arrays to every (head, query) accumulator.
  const scores = new Float64Array(Math.max(1, Math.min(chunkRows, source.rows)));
  const add = (ck: Float64Array, cv: Float64Array, n: number, self: boolean) => {
    for (const hd of heads) {
      for (let i = 0; i < Q; i++) {
        const qo = i * HE + hd * E;
        const a = hd * Q + i;
        let top = max[a]!;
        for (let j = 0; j < n; j++) {
          const ko = self ? qo : j * HE + hd * E;
          const s = dot(q, qo, ck, ko, E) * scale;
          scores[j] = s;
          if (s > top) top = s;
        }
        if (top > max[a]!) {
          const f = Math.exp(max[a]! - top); // 0 while nothing was added
          sum[a]! *= f;
          for (let e = 0; e < E; e++) acc[qo + e]! *= f;
          max[a] = top;
        }
        for (let j = 0; j < n; j++) {
          const wj = Math.exp(scores[j]! - top);
          sum[a]! += wj;
          axpy(wj, cv, self ? qo : j * HE + hd * E, acc, qo, E);
        }
      }
    }
  };
  for (let start = 0; start < source.rows; start += chunkRows) {
    const end = Math.min(source.rows, start + chunkRows);
    const kv = chunkKV(spec, weights, source.encode(start, end), end - start)[last]!;
    add(kv.k, kv.v, end - start, false);
  }
  add(k, v, 1, true); // each query attends to itself too (its own key and value)
  for (const hd of heads) {
    for (let i = 0; i < Q; i++) {
      const qo = i * HE + hd * E;
      const total = sum[hd * Q + i]!;
      for (let e = 0; e < E; e++) acc[qo + e]! /= total;
    }
  }
  finishLayer(spec, lw, h, acc, Q, last);
  const kinds = new Uint8Array(Q).fill(TOKEN_QUERY);
  return { outputs: readout(spec, weights, h, kinds), attention: [] };
}
