/**
 * The executable theorem: explicit weights of a 2-layer transformer whose output at a
 * query token is within `eps` in total variation of the in-context back-off estimate
 * (src/estimate/backoff.ts), hence of the in-context MLE whenever some context row matches
 * the query on every parent of the target, for every target, every context of at most
 * `maxContext` rows and every query. No weight depends on the target: the parent sets live
 * in the weights, the target comes from the query token's target one-hot.
 *
 * Every block below is labelled with its equation in docs/construction.md:
 *   (E)   embedding: copy the token into residual channels [0, I)
 *   (A1)  layer 1 attention: zero (a no-op)
 *   (M1)  layer 1 MLP, the parent selector: z_{p,v} = ReLU(x_{p,v} + sum_m A_{m,p} t_m - 1)
 *   (A2)  layer 2 attention, the counter: score beta (z^q . x^j - K t^q . h^j),
 *         value x_{m,v} + h_m / d_m, written to the a-slot
 *   (M2)  layer 2 MLP, the target block selector: o_v = sum_m ReLU(a_{m,v} + t_m - 1)
 *   (R)   readout: copy the o-slot
 * Residual stream (width D = I + 2S + dMax): [0, I) the token, then z (S), a (S), o (dMax).
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "./spec.ts";
import { flattenWeights, paramShapes, unflattenWeights } from "./spec.ts";
import type { TokenLayout } from "./encoding.ts";
import { tokenLayout } from "./encoding.ts";

/** What the guarantee is asked for. */
export interface ConstructionOptions {
  /** Total-variation bound, 0 < eps < 1. */
  eps: number;
  /** Largest context (rows) the bound must hold for, >= 1. */
  maxContext: number;
}

/** The numbers derived from the options and the structure (docs/construction.md, "Parameters"). */
export interface ConstructionParams {
  eps: number;
  maxContext: number;
  /** Softmax sharpness: ln(maxContext / eps). */
  beta: number;
  /** Penalty on a key whose target cell is hidden: max in-degree + 1. */
  penalty: number;
}

/** Where each slot of the residual stream starts. */
export interface ResidualLayout {
  /** The token itself occupies [0, I). */
  input: number;
  /** z: the query's parent-masked values (S channels). */
  z: number;
  /** a: layer 2's attention output, one averaged distribution per variable (S channels). */
  a: number;
  /** o: the target's distribution (dMax channels). */
  o: number;
  /** D. */
  width: number;
}

/** A constructed model: spec, float64 weights and everything needed to feed it. */
export interface Construction {
  readonly structure: Structure;
  readonly layout: TokenLayout;
  readonly spec: TransformerSpec;
  readonly weights: TransformerWeights;
  readonly params: ConstructionParams;
  readonly residual: ResidualLayout;
}

/** beta = ln(maxContext / eps): mass off the best-matching rows is then <= N e^-beta <= eps. */
export function constructionBeta(eps: number, maxContext: number): number {
  return Math.log(maxContext / eps);
}

function checkOptions(opts: ConstructionOptions): void {
  if (!(opts.eps > 0 && opts.eps < 1)) {
    throw new BnformerError("config", `eps must be in (0, 1), got ${opts.eps}`, { path: ["eps"] });
  }
  if (!Number.isInteger(opts.maxContext) || opts.maxContext < 1) {
    throw new BnformerError(
      "config",
      `maxContext must be an integer >= 1, got ${opts.maxContext}`,
      { path: ["maxContext"] },
    );
  }
}

/** The spec of the construction for a layout (depends only on the cardinalities). */
export function constructionSpec(layout: TokenLayout): TransformerSpec {
  const S = layout.valueWidth;
  const M = layout.vars;
  return {
    format: "bnformer-transformer/1",
    inputDim: layout.width,
    dModel: layout.width + 2 * S + layout.maxCard,
    layers: [
      { heads: 1, headDim: 1, mlpHidden: S },
      { heads: 1, headDim: S + M, mlpHidden: S },
    ],
    activation: "relu",
    layerNorm: false,
    outputDim: layout.maxCard,
    output: "probabilities",
  };
}

/** Zero float64 tensors for every weight of `spec`, by dotted name. */
function zeroWeights(spec: TransformerSpec): Map<string, Tensor> {
  const flat = new Map<string, Tensor>();
  for (const [name, shape] of paramShapes(spec)) {
    flat.set(name, { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  }
  return flat;
}

/** Sets W[row, col] of a [in, out] tensor. */
function set(t: Tensor, row: number, col: number, value: number): void {
  t.data[row * t.shape[1]! + col] = value;
}

/**
 * The 2-layer transformer of docs/construction.md for `structure`: within `eps` TV of the
 * back-off estimate (= the MLE when some row matches every parent) for contexts of at
 * most `maxContext` rows.
 */
export function construct(structure: Structure, opts: ConstructionOptions): Construction {
  checkOptions(opts);
  const layout = tokenLayout(structure);
  const spec = constructionSpec(layout);
  const S = layout.valueWidth;
  const M = layout.vars;
  const I = layout.width;
  const residual: ResidualLayout = { input: 0, z: I, a: I + S, o: I + 2 * S, width: spec.dModel };
  const maxInDegree = Math.max(0, ...structure.parents.map((p) => p.length));
  const params: ConstructionParams = {
    eps: opts.eps,
    maxContext: opts.maxContext,
    beta: constructionBeta(opts.eps, opts.maxContext),
    penalty: maxInDegree + 1,
  };
  const w = zeroWeights(spec);
  const W = (name: string) => w.get(name)!;

  // (E) embedding: the token is copied into channels [0, I); bias 0.
  for (let i = 0; i < I; i++) set(W("embed.w"), i, i, 1);

  // (A1) layer 1 attention stays zero: its output is 0 whatever it attends to.

  // (M1) parent selector, one hidden unit per value channel (p, v):
  //   z_{p,v} = ReLU(x_{p,v} + sum_m A_{m,p} t_m - 1), A_{m,p} = 1 iff p is a parent of m.
  for (let p = 0; p < M; p++) {
    for (let v = 0; v < layout.cards[p]!; v++) {
      const u = layout.valueOffset[p]! + v;
      set(W("layers.0.mlp.w1"), u, u, 1);
      W("layers.0.mlp.b1").data[u] = -1;
      set(W("layers.0.mlp.w2"), u, residual.z + u, 1);
    }
  }
  structure.parents.forEach((ps, m) => {
    for (const p of ps) {
      for (let v = 0; v < layout.cards[p]!; v++) {
        set(W("layers.0.mlp.w1"), layout.targetOffset + m, layout.valueOffset[p]! + v, 1);
      }
    }
  });

  // (A2) counter. Head dim E = S + M; c = beta sqrt(E) cancels the 1/sqrt(E) scaling.
  //   query q = c [z ; t],  key k = [x ; -K h],  so score = beta (z^q . x^j - K h^j_{m0}).
  //   value: x_{m,v} + h_m / d_m (a hidden cell counts as the uniform distribution).
  const E = S + M;
  const c = params.beta * Math.sqrt(E);
  for (let i = 0; i < S; i++) {
    set(W("layers.1.attn.wq"), residual.z + i, i, c);
    set(W("layers.1.attn.wk"), i, i, 1);
    set(W("layers.1.attn.wv"), i, i, 1);
    set(W("layers.1.attn.wo"), i, residual.a + i, 1);
  }
  for (let m = 0; m < M; m++) {
    set(W("layers.1.attn.wq"), layout.targetOffset + m, S + m, c);
    set(W("layers.1.attn.wk"), layout.hiddenOffset + m, S + m, -params.penalty);
    for (let v = 0; v < layout.cards[m]!; v++) {
      set(
        W("layers.1.attn.wv"),
        layout.hiddenOffset + m,
        layout.valueOffset[m]! + v,
        1 / layout.cards[m]!,
      );
    }
  }

  // (M2) target block selector, one hidden unit per (m, v):
  //   o_v = sum_m ReLU(a_{m,v} + t_m - 1); exact because 0 <= a_{m,v} <= 1.
  for (let m = 0; m < M; m++) {
    for (let v = 0; v < layout.cards[m]!; v++) {
      const u = layout.valueOffset[m]! + v;
      set(W("layers.1.mlp.w1"), residual.a + u, u, 1);
      set(W("layers.1.mlp.w1"), layout.targetOffset + m, u, 1);
      W("layers.1.mlp.b1").data[u] = -1;
      set(W("layers.1.mlp.w2"), u, residual.o + v, 1);
    }
  }

  // (R) readout: copy the o-slot; entries beyond the target's cardinality stay 0.
  for (let v = 0; v < layout.maxCard; v++) set(W("out.w"), residual.o + v, v, 1);

  const weights = unflattenWeights(spec, w);
  return { structure, layout, spec, weights, params, residual };
}

/** Largest absolute entry and Frobenius norm of every weight tensor, by dotted name. */
export function weightNorms(
  weights: TransformerWeights,
): Map<string, { maxAbs: number; frobenius: number }> {
  const out = new Map<string, { maxAbs: number; frobenius: number }>();
  for (const [name, t] of flattenWeights(weights)) {
    let maxAbs = 0;
    let sq = 0;
    for (const x of t.data) {
      maxAbs = Math.max(maxAbs, Math.abs(x));
      sq += x * x;
    }
    out.set(name, { maxAbs, frobenius: Math.sqrt(sq) });
  }
  return out;
}
