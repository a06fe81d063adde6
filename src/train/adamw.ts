/**
 * AdamW (Loshchilov & Hutter: decoupled weight decay) as a pure init/update pair with
 * explicit state, plus global-norm gradient clipping. The update, per parameter leaf:
 *
 *   m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) - lr * wd * p   (t = step + 1)
 *
 * Weight decay applies to matrices (2-D leaves) only, not to biases or LayerNorm gains,
 * as in GPT-2 / nanoGPT. Clipping scales all gradients by min(1, maxNorm / (||g|| + 1e-6)),
 * ||g|| the norm over every leaf together (PyTorch's clip_grad_norm_).
 *
 * `adamwUpdate` and `clipByGlobalNorm` work on jax arrays and are meant to run inside the
 * jitted train step; they consume their array arguments. `adamwStepScalars` gives the
 * per-step numbers that vary (passed as arrays so the step never recompiles).
 * `adamwReference` is the same update in float64 on typed arrays, for tests.
 */
import type { Array as JArray, JsTree } from "@jax-js/jax";
import { BnformerError } from "../errors.ts";
import { jaxLib } from "../model/jax/setup.ts";

/** AdamW hyper-parameters (the learning rate comes from the schedule). */
export interface AdamwConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm bound; 0 or Infinity disables clipping. */
  clipNorm: number;
}

/** The paper authors' values (PAPER.md): weight decay 0.01, clipping at 1.0. */
export const defaultAdamwConfig: AdamwConfig = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  clipNorm: 1.0,
};

/** Throws a "config" error naming the first bad field. */
export function validateAdamw(c: AdamwConfig): void {
  const bad = (k: string, v: number, want: string) =>
    new BnformerError("config", `${k} must be ${want}, got ${v}`, { path: ["adamw", k] });
  if (!(c.beta1 >= 0 && c.beta1 < 1)) throw bad("beta1", c.beta1, "in [0, 1)");
  if (!(c.beta2 >= 0 && c.beta2 < 1)) throw bad("beta2", c.beta2, "in [0, 1)");
  if (!(c.eps > 0)) throw bad("eps", c.eps, "> 0");
  if (!(c.weightDecay >= 0)) throw bad("weightDecay", c.weightDecay, ">= 0");
  if (!(c.clipNorm >= 0)) throw bad("clipNorm", c.clipNorm, ">= 0");
}

/** Optimizer state: first and second moments shaped like the parameters, and the step count. */
export interface AdamwState<P> {
  m: P;
  v: P;
  /** Updates applied so far. */
  step: number;
}

/** Zero moments shaped like `params` (which are not consumed). */
export function adamwInit<P extends JsTree<JArray>>(params: P): AdamwState<P> {
  const { numpy: np, tree } = jaxLib();
  const zeros = () => tree.map((p: JArray) => np.zeros(p.shape), params) as unknown as P;
  return { m: zeros(), v: zeros(), step: 0 };
}

/** The numbers of one update that change from step to step. */
export interface AdamwScalars {
  /** Learning rate. */
  lr: number;
  /** 1 / (1 - b1^t) */
  bc1: number;
  /** 1 / (1 - b2^t) */
  bc2: number;
}

/** Scalars for the update that turns state step `step` into `step + 1`. */
export function adamwStepScalars(c: AdamwConfig, step: number, lr: number): AdamwScalars {
  const t = step + 1;
  return { lr, bc1: 1 / (1 - Math.pow(c.beta1, t)), bc2: 1 / (1 - Math.pow(c.beta2, t)) };
}

/**
 * Scales every gradient by min(1, maxNorm / (norm + 1e-6)); returns the clipped leaves and
 * the pre-clipping global norm (a 0-d array). Consumes `grads`.
 */
export function clipByGlobalNorm(grads: JArray[], maxNorm: number): [JArray[], JArray] {
  const { numpy: np } = jaxLib();
  let sq: JArray | undefined;
  for (const g of grads) {
    const s = g.ref.mul(g.ref).sum();
    sq = sq === undefined ? s : sq.add(s);
  }
  const norm = np.sqrt(sq ?? np.array(0));
  if (!(maxNorm > 0 && Number.isFinite(maxNorm))) return [grads, norm];
  const scale = np.minimum(np.reciprocal(norm.ref.add(1e-6)).mul(maxNorm), 1);
  const clipped = grads.map((g, i) => (i === grads.length - 1 ? g.mul(scale) : g.mul(scale.ref)));
  if (grads.length === 0) scale.dispose();
  return [clipped, norm];
}

/**
 * One AdamW update of parallel leaf lists; consumes params, grads, m, v and the scalar
 * arrays lr, bc1, bc2 (0-d). Returns the new params, m and v leaves.
 */
export function adamwUpdate(
  c: AdamwConfig,
  params: JArray[],
  grads: JArray[],
  m: JArray[],
  v: JArray[],
  lr: JArray,
  bc1: JArray,
  bc2: JArray,
): { params: JArray[]; m: JArray[]; v: JArray[] } {
  const { numpy: np } = jaxLib();
  const out = { params: [] as JArray[], m: [] as JArray[], v: [] as JArray[] };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const g = grads[i]!;
    const m2 = m[i]!.mul(c.beta1).add(g.ref.mul(1 - c.beta1));
    const v2 = v[i]!.mul(c.beta2).add(g.ref.mul(g).mul(1 - c.beta2));
    const denom = np.sqrt(v2.ref.mul(bc2.ref)).add(c.eps);
    const update = m2.ref.mul(bc1.ref).div(denom).mul(lr.ref);
    const decayed = p.ndim === 2 && c.weightDecay > 0;
    const p2 = decayed ? p.ref.sub(update).sub(p.mul(lr.ref).mul(c.weightDecay)) : p.sub(update);
    out.params.push(p2);
    out.m.push(m2);
    out.v.push(v2);
  }
  lr.dispose();
  bc1.dispose();
  bc2.dispose();
  return out;
}

/** One leaf for `adamwReference`: values, gradient, moments, and whether it is a matrix. */
export interface ReferenceLeaf {
  p: Float64Array;
  g: Float64Array;
  m: Float64Array;
  v: Float64Array;
  matrix: boolean;
}

/**
 * The same clipped AdamW step in float64, in place, for tests. Returns the pre-clipping
 * global gradient norm.
 */
export function adamwReference(c: AdamwConfig, leaves: ReferenceLeaf[], s: AdamwScalars): number {
  let sq = 0;
  for (const l of leaves) for (const x of l.g) sq += x * x;
  const norm = Math.sqrt(sq);
  const clip = c.clipNorm > 0 && Number.isFinite(c.clipNorm);
  const scale = clip ? Math.min(1, c.clipNorm / (norm + 1e-6)) : 1;
  for (const l of leaves) {
    for (let i = 0; i < l.p.length; i++) {
      const g = l.g[i]! * scale;
      l.m[i] = c.beta1 * l.m[i]! + (1 - c.beta1) * g;
      l.v[i] = c.beta2 * l.v[i]! + (1 - c.beta2) * g * g;
      const update = (s.lr * (l.m[i]! * s.bc1)) / (Math.sqrt(l.v[i]! * s.bc2) + c.eps);
      const decay = l.matrix ? s.lr * c.weightDecay * l.p[i]! : 0;
      l.p[i] = l.p[i]! - update - decay;
    }
  }
  return norm;
}
