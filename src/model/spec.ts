/**
 * The one architecture description shared by the construction, the float64 reference
 * executor, the fast (jax-js) executor, training and checkpoints.
 *
 * Dimension letters used in shape comments everywhere:
 *   B batch, T tokens, I input (encoded token) width, D model width, H heads,
 *   E head dim, F MLP hidden width, O output width.
 *
 * Orientation, stated once: y = x W + b with W of shape [in, out]. No transposes anywhere.
 *
 * Forward pass (per layer l), with LN only when `layerNorm` is true (pre-LN):
 *   h0      = x W_embed + b_embed                                     (T, D)
 *   a       = MHA(LN1(h)) ;  h = h + a                                 attention sublayer
 *   m       = act(LN2(h) W1 + b1) W2 + b2 ;  h = h + m                 MLP sublayer (if F > 0)
 *   out     = LN_F(h) W_out + b_out   at every QUERY token             (Q, O)
 * MHA: per head, scores = (x Wq_h + bq_h)(x Wk_h + bk_h)^T / sqrt(E), masked, softmax over
 * keys, times (x Wv_h + bv_h); heads are concatenated and projected by Wo, bo.
 *
 * Attention mask (explicit, never a library flag): every token has a kind, CONTEXT,
 * QUERY or PAD. Token i may attend to token j iff j is i itself, or j is CONTEXT and i is
 * not PAD. So context rows see each other bidirectionally (not the queries), each query
 * sees every context row and itself, and padding affects nothing. With
 * `contextAttention: "self"` a context row sees only itself (only queries read the
 * context): each context token's state is a function of that token alone, so a forward
 * pass costs O(T) rather than O(T^2), identical rows can be run once and counted, and no
 * context row's state depends on the context's length.
 */
import { BnformerError } from "../errors.ts";
import type { Schema } from "../schema.ts";
import { array, boolean, integer, literal, object, optional } from "../schema.ts";
import type { Rng } from "../bn/rng.ts";
import { sampleNormal } from "../bn/rng.ts";

export type Activation = "relu" | "gelu";

export interface LayerSpec {
  readonly heads: number; // H
  readonly headDim: number; // E
  readonly mlpHidden: number; // F; 0 means the layer has no MLP sublayer
}

export interface TransformerSpec {
  readonly format: "bnformer-transformer/1";
  readonly inputDim: number; // I
  readonly dModel: number; // D
  readonly layers: readonly LayerSpec[];
  readonly activation: Activation; // gelu is the exact (erf) GELU
  readonly layerNorm: boolean; // pre-LN sublayers plus a final LN before the readout
  readonly outputDim: number; // O
  /** "probabilities": the readout is the distribution itself; "logits": softmax it. */
  readonly output: "probabilities" | "logits";
  /** What a context token attends to: every context token (absent, the default) or itself. */
  readonly contextAttention?: ContextAttention;
}

/** "context": context tokens see every context token; "self": only themselves. */
export type ContextAttention = "context" | "self";

/** The spec's context attention, "context" when the field is absent. */
export function contextAttentionOf(
  spec: Pick<TransformerSpec, "contextAttention">,
): ContextAttention {
  return spec.contextAttention ?? "context";
}

export const TOKEN_CONTEXT = 0;
export const TOKEN_QUERY = 1;
export const TOKEN_PAD = 2;
export const LAYER_NORM_EPS = 1e-5;

/** May token i attend to token j? The single definition of the mask. */
export function attends(
  kinds: ArrayLike<number>,
  i: number,
  j: number,
  contextAttention: ContextAttention = "context",
): boolean {
  if (i === j) return true;
  if (kinds[j] !== TOKEN_CONTEXT) return false;
  return contextAttention === "context" ? kinds[i] !== TOKEN_PAD : kinds[i] === TOKEN_QUERY;
}

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array | Float32Array;
}

export interface LayerNormWeights {
  gamma: Tensor; // (D)
  beta: Tensor; // (D)
}

export interface LayerWeights {
  ln1?: LayerNormWeights;
  attn: {
    wq: Tensor;
    bq: Tensor;
    wk: Tensor;
    bk: Tensor;
    wv: Tensor;
    bv: Tensor;
    wo: Tensor;
    bo: Tensor;
  };
  ln2?: LayerNormWeights;
  mlp?: { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };
}

/** Weights in forward order. Each leaf is a Tensor. */
export interface TransformerWeights {
  embed: { w: Tensor; b: Tensor };
  layers: LayerWeights[];
  lnF?: LayerNormWeights;
  out: { w: Tensor; b: Tensor };
}

/** Every weight's dotted name and shape, in forward order: the contract all code validates against. */
export function paramShapes(spec: TransformerSpec): Map<string, number[]> {
  const { inputDim: I, dModel: D, outputDim: O } = spec;
  const m = new Map<string, number[]>();
  m.set("embed.w", [I, D]);
  m.set("embed.b", [D]);
  spec.layers.forEach((l, i) => {
    const HE = l.heads * l.headDim;
    const p = `layers.${i}`;
    if (spec.layerNorm) {
      m.set(`${p}.ln1.gamma`, [D]);
      m.set(`${p}.ln1.beta`, [D]);
    }
    for (const n of ["q", "k", "v"]) {
      m.set(`${p}.attn.w${n}`, [D, HE]);
      m.set(`${p}.attn.b${n}`, [HE]);
    }
    m.set(`${p}.attn.wo`, [HE, D]);
    m.set(`${p}.attn.bo`, [D]);
    if (l.mlpHidden > 0) {
      if (spec.layerNorm) {
        m.set(`${p}.ln2.gamma`, [D]);
        m.set(`${p}.ln2.beta`, [D]);
      }
      m.set(`${p}.mlp.w1`, [D, l.mlpHidden]);
      m.set(`${p}.mlp.b1`, [l.mlpHidden]);
      m.set(`${p}.mlp.w2`, [l.mlpHidden, D]);
      m.set(`${p}.mlp.b2`, [D]);
    }
  });
  if (spec.layerNorm) {
    m.set("lnF.gamma", [D]);
    m.set("lnF.beta", [D]);
  }
  m.set("out.w", [D, O]);
  m.set("out.b", [O]);
  return m;
}

/** A spec as read from a file (checkpoint config.json "spec"). */
export const specSchema: Schema<TransformerSpec> = object({
  format: literal("bnformer-transformer/1"),
  inputDim: integer({ min: 1 }),
  dModel: integer({ min: 1 }),
  layers: array(
    object({
      heads: integer({ min: 1 }),
      headDim: integer({ min: 1 }),
      mlpHidden: integer({ min: 0 }),
    }),
  ),
  activation: literal("relu", "gelu"),
  layerNorm: boolean,
  outputDim: integer({ min: 1 }),
  output: literal("probabilities", "logits"),
  contextAttention: optional(literal("context", "self")),
});

/** Throws unless the spec's numbers are positive integers and its enums known. */
export function validateSpec(spec: TransformerSpec): void {
  const bad = (what: string) => new BnformerError("spec", what, { path: ["spec"] });
  if (spec.format !== "bnformer-transformer/1")
    throw bad(`unknown format "${String(spec.format)}"`);
  for (const [k, v] of [
    ["inputDim", spec.inputDim],
    ["dModel", spec.dModel],
    ["outputDim", spec.outputDim],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw bad(`${k} must be a positive integer, got ${v}`);
  }
  spec.layers.forEach((l, i) => {
    if (!Number.isInteger(l.heads) || l.heads < 1)
      throw bad(`layers.${i}.heads must be >= 1, got ${l.heads}`);
    if (!Number.isInteger(l.headDim) || l.headDim < 1)
      throw bad(`layers.${i}.headDim must be >= 1, got ${l.headDim}`);
    if (!Number.isInteger(l.mlpHidden) || l.mlpHidden < 0)
      throw bad(`layers.${i}.mlpHidden must be >= 0, got ${l.mlpHidden}`);
  });
  if (spec.activation !== "relu" && spec.activation !== "gelu")
    throw bad(`unknown activation "${String(spec.activation)}"`);
  if (spec.output !== "probabilities" && spec.output !== "logits")
    throw bad(`unknown output "${String(spec.output)}"`);
  const ca: unknown = spec.contextAttention;
  if (ca !== undefined && ca !== "context" && ca !== "self")
    throw bad(`unknown contextAttention "${String(ca)}"`);
}

/** Flattens weights to dotted names in `paramShapes` order. */
export function flattenWeights(w: TransformerWeights): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const walk = (prefix: string, node: unknown): void => {
    if (node === undefined) return;
    if (isTensor(node)) {
      out.set(prefix, node);
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((c, i) => walk(`${prefix}.${i}`, c));
      return;
    }
    for (const [k, v] of Object.entries(node as Record<string, unknown>))
      walk(prefix ? `${prefix}.${k}` : k, v);
  };
  walk("", w);
  return out;
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "shape" in x && "data" in x;
}

/**
 * Builds nested weights from dotted names, checking every name and shape against
 * `paramShapes(spec)`; a mismatch names the key and both shapes.
 */
export function unflattenWeights(
  spec: TransformerSpec,
  flat: Map<string, Tensor>,
): TransformerWeights {
  const shapes = paramShapes(spec);
  for (const [name, shape] of shapes) {
    const t = flat.get(name);
    if (!t)
      throw new BnformerError("spec", `missing weight "${name}" (expected shape [${shape}])`, {
        path: [name],
      });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new BnformerError(
        "spec",
        `weight "${name}" has shape [${t.shape}], expected [${shape}]`,
        { path: [name] },
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) {
      throw new BnformerError(
        "spec",
        `weight "${name}" has ${t.data.length} values for shape [${shape}]`,
        { path: [name] },
      );
    }
  }
  for (const name of flat.keys()) {
    if (!shapes.has(name))
      throw new BnformerError("spec", `unexpected weight "${name}" for this spec`, {
        path: [name],
      });
  }
  const root: Record<string, unknown> = {};
  for (const [name, t] of flat) {
    const parts = name.split(".");
    let node: Record<string, unknown> = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const key = parts[i]!;
      const nextIsIndex = /^\d+$/.test(parts[i + 1]!);
      node[key] ??= nextIsIndex ? [] : {};
      node = node[key] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = t;
  }
  // Not loaded JSON: a tree built above from names and shapes just checked against paramShapes.
  return root as unknown as TransformerWeights;
}

/** Throws unless `w` has exactly the weights `spec` needs. */
export function validateWeights(spec: TransformerSpec, w: TransformerWeights): void {
  unflattenWeights(spec, flattenWeights(w));
}

/**
 * GPT-2-style initial weights: matrices ~ N(0, 0.02^2), output projections of each
 * sublayer scaled by 1/sqrt(2 L), biases 0, LayerNorm gamma 1 and beta 0. Float32.
 */
export function initWeights(rng: Rng, spec: TransformerSpec): TransformerWeights {
  const flat = new Map<string, Tensor>();
  const residualScale = 1 / Math.sqrt(2 * Math.max(1, spec.layers.length));
  for (const [name, shape] of paramShapes(spec)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    if (leaf === "gamma") data.fill(1);
    else if (shape.length === 2) {
      const std = 0.02 * (leaf === "wo" || leaf === "w2" ? residualScale : 1);
      for (let i = 0; i < size; i++) data[i] = std * sampleNormal(rng);
    }
    flat.set(name, { shape, data });
  }
  return unflattenWeights(spec, flat);
}
