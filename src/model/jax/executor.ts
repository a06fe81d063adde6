/**
 * The fast executor: the TransformerSpec forward pass (spec.ts) on @jax-js/jax, float32,
 * batched. It computes the same function as `forwardReference` (src/model/reference.ts):
 * y = x W + b, optional pre-LN with a two-pass LayerNorm, exact (erf) GELU, the explicit
 * mask of `attends` (i sees j iff i == j or (kind[j] == CONTEXT and kind[i] != PAD)), scores
 * scaled by 1/sqrt(E), and the readout (probabilities or logits as the spec says; no
 * softmax is applied here).
 *
 * Contract:
 * - Typed arrays in, typed arrays out: jax arrays never leave src/model/jax/ and src/train/.
 * - `forwardCore` is the traced function: parameters are arguments (never captured), it
 *   consumes every argument it is given (jax-js ownership), and it is what training
 *   differentiates. Given query slots (batch.ts) it runs the last layer for the query rows
 *   only: nothing reads the last layer's other rows, and keys and values still come from
 *   every token, so the query outputs are the same numbers for less work.
 * - A `JaxExecutor` owns jitted forward passes for one spec; every new (B, T) (and number
 *   of query slots) recompiles, so callers pad T to a few buckets (`padBatch`).
 * - Masked scores get a finite -1e9 bias, never -Infinity: every row keeps at least its own
 *   token, and the masked weights are exactly 0 in float32 (exp underflows).
 */
import type { Array as JArray } from "@jax-js/jax";
import { BnformerError } from "../../errors.ts";
import type { ContextAttention, TransformerSpec } from "../spec.ts";
import { LAYER_NORM_EPS, contextAttentionOf, validateSpec } from "../spec.ts";
import { jaxLib, loadJax } from "./setup.ts";
import type { JaxParams, LayerParams, LnParams } from "./params.ts";
import { toJax } from "./params.ts";
import type { TokenBatch } from "./batch.ts";
import { kindMasks, querySlots, validateBatch } from "./batch.ts";

// The executor is the fast path's one public face: it re-exports the parameter and batch
// helpers so callers import from here only.
export type { JaxParams, LayerParams, LnParams, Placement } from "./params.ts";
export { paramEntries, paramsFromWeights, toJax, weightsFromParams } from "./params.ts";
export type { QuerySlots, TokenBatch } from "./batch.ts";
export {
  bucketLength,
  countContextTokens,
  kindMasks,
  padBatch,
  querySlots,
  validateBatch,
} from "./batch.ts";

/** Added to masked attention scores: exp(-1e9) is exactly 0 in float32, and never NaN. */
export const MASK_BIAS = -1e9;

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

/** Rows of x (B T, D) picked by sel (B, R, T): (B R, D), exact (one-hot sums). Consumes both. */
function selectRows(sel: JArray, x: JArray, B: number, T: number): JArray {
  const { numpy: np } = jaxLib();
  const [, R] = sel.shape as [number, number, number];
  const D = x.shape[1]!;
  return np.matmul(sel, x.reshape([B, T, D])).reshape([B * R, D]);
}

/**
 * Additive attention bias (B, 1, T T), row-major over (i, j), from float masks
 * ctx (B, T) = [kind == CONTEXT] and live (B, T) = [kind != PAD]: 0 where `attends`,
 * MASK_BIAS elsewhere. Consumes both.
 */
export function attentionBias(
  ctx: JArray,
  live: JArray,
  mode: ContextAttention = "context",
): JArray {
  const { numpy: np } = jaxLib();
  const [B, T] = ctx.shape as [number, number];
  // Who may read the context: every live token, or (mode "self") the queries only.
  const readers = mode === "context" ? live : live.sub(ctx.ref);
  const pair = readers.reshape([B, T, 1]).mul(ctx.reshape([B, 1, T])); // (B, T, T)
  const allowed = np.maximum(pair, np.eye(T)); // i == j always allowed
  return allowed
    .sub(1)
    .mul(-MASK_BIAS)
    .reshape([B, 1, T * T]);
}

/** The bias (B, 1, R T) of query slots sel (B, R, T): each sees itself and every CONTEXT token. */
function queryBias(sel: JArray, ctx: JArray): JArray {
  const { numpy: np } = jaxLib();
  const [B, R, T] = sel.shape as [number, number, number];
  const allowed = np.maximum(sel, ctx.reshape([B, 1, T])); // (B, R, T)
  return allowed
    .sub(1)
    .mul(-MASK_BIAS)
    .reshape([B, 1, R * T]);
}

/**
 * Attention of R query rows aq (B R, D) over the T rows a (B T, D) of each sequence, with
 * bias (B, 1, R T). Returns (B R, D). Consumes every argument.
 */
function attention(
  spec: TransformerSpec,
  l: number,
  aq: JArray,
  a: JArray,
  lw: LayerParams["attn"],
  bias: JArray,
  R: number,
): JArray {
  const { numpy: np, nn } = jaxLib();
  const { heads: H, headDim: E } = spec.layers[l]!;
  const B = bias.shape[0]!;
  const T = a.shape[0]! / B;
  const q = linear(aq, lw.wq, lw.bq).reshape([B, R, H, E]).transpose([0, 2, 1, 3]); // (B, H, R, E)
  const k = linear(a.ref, lw.wk, lw.bk).reshape([B, T, H, E]).transpose([0, 2, 3, 1]); // (B, H, E, T)
  const v = linear(a, lw.wv, lw.bv).reshape([B, T, H, E]).transpose([0, 2, 1, 3]); // (B, H, T, E)
  // Scores and softmax on flattened views, (B, H, R T) then (B H R, T): fewer index
  // divisions per element in jax-js's scalar exp kernel (~20% faster softmax, measured).
  const s = np
    .matmul(q, k)
    .mul(1 / Math.sqrt(E))
    .reshape([B, H, R * T])
    .add(bias);
  const w = nn.softmax(s.reshape([B * H * R, T]), -1).reshape([B, H, R, T]);
  const o = np
    .matmul(w, v)
    .transpose([0, 2, 1, 3])
    .reshape([B * R, H * E]); // (B R, H E)
  return linear(o, lw.wo, lw.bo); // (B R, D)
}

function activate(spec: TransformerSpec, u: JArray): JArray {
  const { nn } = jaxLib();
  return spec.activation === "relu" ? nn.relu(u) : nn.gelu(u, { approximate: false });
}

/**
 * Layer l on the residual stream h (B T, D): every row, or only the rows picked by
 * sel (B, R, T) (then bias is that of the slots). Returns (B T, D) or (B R, D).
 * Consumes h, sel, bias and the layer's parameters.
 */
function layer(
  spec: TransformerSpec,
  l: number,
  lw: LayerParams,
  h: JArray,
  bias: JArray,
  sel: JArray | null,
  B: number,
  T: number,
): JArray {
  const a = lw.ln1 ? layerNorm(h.ref, lw.ln1) : h.ref; // (B T, D): keys and values
  const R = sel ? sel.shape[1]! : T;
  const hq = sel ? selectRows(sel.ref, h, B, T) : h; // (B R, D)
  const aq = sel ? selectRows(sel, a.ref, B, T) : a.ref;
  return mlpSublayer(spec, l, lw, hq.add(attention(spec, l, aq, a, lw.attn, bias, R)));
}

/**
 * Attention of the query slots aq (B R, D) over the context rows of a (B T, D) and over
 * themselves (their own keys and values), for a model whose context rows never see each
 * other: O(R T) rather than O(T^2). ctxBias (B, 1, 1, T) is 0 on CONTEXT rows and MASK_BIAS
 * elsewhere. Returns (B R, D). Consumes every argument.
 */
function queryAttention(
  spec: TransformerSpec,
  l: number,
  aq: JArray,
  a: JArray,
  lw: LayerParams["attn"],
  ctxBias: JArray,
  B: number,
  R: number,
): JArray {
  const { numpy: np, lax } = jaxLib();
  const { heads: H, headDim: E } = spec.layers[l]!;
  const T = a.shape[0]! / B;
  const scale = 1 / Math.sqrt(E);
  const heads = (y: JArray, n: number) => y.reshape([B, n, H, E]).transpose([0, 2, 1, 3]); // (B, H, n, E)
  const q = heads(linear(aq.ref, lw.wq, lw.bq), R);
  const kSelf = heads(linear(aq.ref, lw.wk.ref, lw.bk.ref), R);
  const vSelf = heads(linear(aq, lw.wv.ref, lw.bv.ref), R);
  const k = linear(a.ref, lw.wk, lw.bk).reshape([B, T, H, E]).transpose([0, 2, 3, 1]); // (B, H, E, T)
  const v = heads(linear(a, lw.wv, lw.bv), T); // (B, H, T, E)
  const sCtx = np.matmul(q.ref, k).mul(scale).add(ctxBias); // (B, H, R, T)
  const sSelf = q.mul(kSelf).sum(-1, { keepdims: true }).mul(scale); // (B, H, R, 1)
  // Softmax over [context..., self] without building that (B, H, R, T + 1) array.
  const top = lax.stopGradient(np.maximum(sCtx.ref.max(-1, { keepdims: true }), sSelf.ref)); // (B, H, R, 1)
  const eCtx = np.exp(sCtx.sub(top.ref));
  const eSelf = np.exp(sSelf.sub(top));
  const z = eCtx.ref.sum(-1, { keepdims: true }).add(eSelf.ref);
  const o = np
    .matmul(eCtx, v)
    .add(eSelf.mul(vSelf))
    .div(z)
    .transpose([0, 2, 1, 3])
    .reshape([B * R, H * E]);
  return linear(o, lw.wo, lw.bo); // (B R, D)
}

/** The MLP sublayer on rows h (R, D), residual included; consumes h and the layer's MLP. */
function mlpSublayer(
  spec: TransformerSpec,
  l: number,
  lw: { ln2?: LnParams | undefined; mlp?: LayerParams["mlp"] | undefined },
  h: JArray,
): JArray {
  if (!(spec.layers[l]!.mlpHidden > 0 && lw.mlp)) return h;
  const m = lw.ln2 ? layerNorm(h.ref, lw.ln2) : h.ref;
  const u = activate(spec, linear(m, lw.mlp.w1, lw.mlp.b1)); // (R, F)
  return h.add(linear(u, lw.mlp.w2, lw.mlp.b2));
}

/**
 * `forwardCore` with query slots for a model whose context tokens attend only to themselves:
 * two residual streams, every row as if it were context (its attention is its own value)
 * and the query slots (which read the context at every layer). Linear in T.
 */
function forwardSelfContext(
  spec: TransformerSpec,
  p: JaxParams,
  x: JArray,
  ctx: JArray,
  live: JArray,
  sel: JArray,
): JArray {
  const { tree } = jaxLib();
  const [B, T, I] = x.shape as [number, number, number];
  const R = sel.shape[1]!;
  const { numpy: np } = jaxLib();
  live.dispose();
  // ctx is each token's count (0: not context): bias log(count) on context, MASK_BIAS elsewhere.
  const ctxBias = np
    .log(np.maximum(ctx.ref, 1))
    .add(np.minimum(ctx, 1).sub(1).mul(-MASK_BIAS))
    .reshape([B, 1, 1, T]);
  let h = linear(x.reshape([B * T, I]), p.embed.w, p.embed.b); // (B T, D)
  let hq = selectRows(sel, h.ref, B, T); // (B R, D)
  const L = spec.layers.length;
  for (let l = 0; l < L; l++) {
    const lw = p.layers[l]!;
    const last = l === L - 1;
    // The ln1 weights are used twice (context rows and queries), so take one reference each.
    const ln1 = lw.ln1 ? tree.ref(lw.ln1) : undefined;
    const a = ln1 ? layerNorm(h.ref, ln1) : h.ref; // (B T, D)
    const aq = lw.ln1 ? layerNorm(hq.ref, lw.ln1) : hq.ref; // (B R, D)
    const att = lw.attn;
    if (!last) {
      const own = linear(linear(a.ref, att.wv.ref, att.bv.ref), att.wo.ref, att.bo.ref);
      const mlp = { ln2: lw.ln2 && tree.ref(lw.ln2), mlp: lw.mlp && tree.ref(lw.mlp) };
      h = mlpSublayer(spec, l, mlp, h.add(own));
    }
    hq = mlpSublayer(spec, l, lw, hq.add(queryAttention(spec, l, aq, a, att, ctxBias.ref, B, R)));
  }
  h.dispose();
  ctxBias.dispose();
  const f = p.lnF ? layerNorm(hq, p.lnF) : hq;
  return linear(f, p.out.w, p.out.b); // (B R, O)
}

/**
 * The traced forward pass: x (B, T, I), ctx and live (B, T) float masks, optional query
 * slots sel (B, Qm, T). Returns the readout at every token (B T, O), or at every slot
 * (B Qm, O) when sel is given. Consumes params and inputs; pure (usable under jit and
 * valueAndGrad).
 */
export function forwardCore(
  spec: TransformerSpec,
  p: JaxParams,
  x: JArray,
  ctx: JArray,
  live: JArray,
  sel?: JArray,
): JArray {
  if (sel && contextAttentionOf(spec) === "self")
    return forwardSelfContext(spec, p, x, ctx, live, sel);
  const [B, T, I] = x.shape as [number, number, number];
  const L = spec.layers.length;
  const bias = attentionBias(sel ? ctx.ref : ctx, live, contextAttentionOf(spec)); // (B, 1, T T)
  let h = linear(x.reshape([B * T, I]), p.embed.w, p.embed.b); // (B T, D)
  const everyRow = sel ? L - 1 : L;
  for (let l = 0; l < everyRow; l++) h = layer(spec, l, p.layers[l]!, h, bias.ref, null, B, T);
  bias.dispose();
  if (sel && L === 0) {
    ctx.dispose();
    h = selectRows(sel, h, B, T);
  } else if (sel) {
    h = layer(spec, L - 1, p.layers[L - 1]!, h, queryBias(sel.ref, ctx), sel, B, T);
  }
  const f = p.lnF ? layerNorm(h, p.lnF) : h;
  return linear(f, p.out.w, p.out.b); // (B T, O) or (B Qm, O)
}

/** Outputs of a batched forward pass. */
export interface JaxForwardResult {
  /** (Q, O): one row per QUERY token, sequences in order, tokens in order within each. */
  outputs: Float32Array;
  /** Queries per sequence (B). */
  queriesPerSequence: Int32Array;
}

/** Jitted forward passes for one spec; create with `createExecutor`, free with `dispose`. */
export interface JaxExecutor {
  readonly spec: TransformerSpec;
  /** Readouts at QUERY tokens; does not consume `params`. */
  forward(params: JaxParams, batch: TokenBatch): Promise<JaxForwardResult>;
  /** Readouts at every token (B, T, O), for mask tests and inspection; does not consume `params`. */
  forwardAll(params: JaxParams, batch: TokenBatch): Promise<Float32Array>;
  dispose(): void;
}

/** Loads jax-js (if needed) and builds the jitted forward passes of `spec`. */
export async function createExecutor(spec: TransformerSpec): Promise<JaxExecutor> {
  validateSpec(spec);
  const jax = await loadJax();
  const { tree } = jax;
  const runAll = jax.jit((p: JaxParams, x: JArray, ctx: JArray, live: JArray) =>
    forwardCore(spec, p, x, ctx, live),
  );
  const runQueries = jax.jit((p: JaxParams, x: JArray, ctx: JArray, live: JArray, sel: JArray) =>
    forwardCore(spec, p, x, ctx, live, sel),
  );
  const inputs = (batch: TokenBatch) => {
    validateBatch(spec, batch);
    const [B, T, I] = batch.shape;
    const { ctx, live } = kindMasks(batch);
    return [toJax(batch.tokens, [B, T, I]), toJax(ctx, [B, T]), toJax(live, [B, T])] as const;
  };
  return {
    spec,
    async forwardAll(params, batch) {
      if (batch.counts)
        throw new BnformerError("data", "forwardAll takes no counted batch; use forward", {
          path: ["batch", "counts"],
        });
      const y = runAll(tree.ref(params), ...inputs(batch));
      return Float32Array.from((await y.data()) as Float32Array);
    },
    async forward(params, batch) {
      const [B, T] = batch.shape;
      const slots = querySlots(batch);
      const sel = toJax(slots.sel, [B, slots.perSequence, T]);
      const y = (await runQueries(tree.ref(params), ...inputs(batch), sel).data()) as Float32Array;
      const O = spec.outputDim;
      const outputs = new Float32Array(slots.slotOfQuery.length * O);
      slots.slotOfQuery.forEach((s, r) => outputs.set(y.subarray(s * O, (s + 1) * O), r * O));
      return { outputs, queriesPerSequence: slots.queriesPerSequence };
    },
    dispose() {
      runAll.dispose();
      runQueries.dispose();
    },
  };
}
