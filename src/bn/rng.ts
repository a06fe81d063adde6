/**
 * Seeded random numbers: sfc32 seeded through splitmix32, plus the distributions the
 * project needs (normal, gamma, beta, Dirichlet, categorical). Every random function in
 * bnformer takes an `Rng` as its first argument; nothing reads a global generator.
 * Integer arithmetic only (Math.imul, >>> 0), so a seed gives the same stream on every
 * platform. A compiled loop may draw without a call per number (the sampler's kernel,
 * sample-kernel.ts): `saveState` the words, step sfc32 on them, `loadState` them back.
 */
import { BnformerError } from "../errors.ts";

export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
  /** An independent stream derived from this generator's seed and `i`; does not advance this one. */
  fork(i: number): Rng;
  /** The four state words, to checkpoint and restore exactly. */
  state(): [number, number, number, number];
  /** Writes the four state words, as int32, into out[0..4) (no allocation). */
  saveState(out: Int32Array): void;
  /** Continues from the words in from[0..4), e.g. after a compiled loop stepped a `saveState` copy. */
  loadState(from: Int32Array): void;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Sfc32 implements Rng {
  // State in an Int32Array, not four number fields: uint32 values above 2^30 do not fit
  // V8's small integers, so number fields were boxed on every draw (~35 ns vs ~5 ns a draw).
  private readonly s = new Int32Array(4);
  private readonly seedKey: number;

  constructor(state: [number, number, number, number], seedKey: number) {
    this.s.set(state.map((x) => x | 0));
    this.seedKey = seedKey >>> 0;
  }

  nextUint32(): number {
    const s = this.s;
    const a = s[0]!;
    const b = s[1]!;
    const c = s[2]!;
    const d = s[3]!;
    const t = (a + b + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  fork(i: number): Rng {
    const mixed = splitmix32((this.seedKey ^ Math.imul((i >>> 0) + 1, 0x27d4eb2d)) >>> 0)();
    return createRng(mixed);
  }

  state(): [number, number, number, number] {
    const s = this.s;
    return [s[0]! >>> 0, s[1]! >>> 0, s[2]! >>> 0, s[3]! >>> 0];
  }

  saveState(out: Int32Array): void {
    if (out.length < 4) throw new RangeError(`saveState: needs 4 words, got ${out.length}`);
    out.set(this.s);
  }

  loadState(from: Int32Array): void {
    if (from.length < 4) throw new RangeError(`loadState: needs 4 words, got ${from.length}`);
    this.s.set(from.subarray(0, 4));
  }
}

/** The largest seed: seeds are 32-bit (splitmix32 state), so larger ones would alias smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

/** A generator for `seed`, an integer in 0..MAX_SEED (others are a "config" error, not reduced). */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
    throw new BnformerError("config", `seed must be an integer in 0..${MAX_SEED}, got ${seed}`, {
      path: ["seed"],
    });
  const sm = splitmix32(seed >>> 0);
  const rng = new Sfc32([sm(), sm(), sm(), sm()], seed);
  for (let i = 0; i < 12; i++) rng.nextUint32(); // discard the warm-up draws of sfc32
  return rng;
}

/** A generator resumed from `state()` of another; `seedKey` keeps `fork` consistent. */
export function restoreRng(state: [number, number, number, number], seedKey: number): Rng {
  return new Sfc32(state, seedKey);
}

/** Standard normal draw (Marsaglia polar method). */
export function sampleNormal(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.next() - 1;
    const v = 2 * rng.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, 1) draw: Marsaglia–Tsang, with the u^(1/shape) boost for shape < 1. */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`sampleGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) {
    const u = 1 - rng.next(); // (0, 1]
    return sampleGamma(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) draw as G_a / (G_a + G_b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y > 0 ? x / (x + y) : rng.next() < a / (a + b) ? 1 : 0;
}

/**
 * Dirichlet(alpha) draw written into `out[offset .. offset + alpha.length)`.
 * Very small alphas can underflow every gamma draw to 0; then one coordinate, chosen with
 * probability proportional to alpha, gets all the mass (the limit of the distribution).
 */
export function sampleDirichletInto(
  rng: Rng,
  alpha: ArrayLike<number>,
  out: Float64Array,
  offset = 0,
): void {
  const k = alpha.length;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const g = sampleGamma(rng, alpha[i]!);
    out[offset + i] = g;
    sum += g;
  }
  if (sum > 0) {
    for (let i = 0; i < k; i++) out[offset + i]! /= sum;
    return;
  }
  let total = 0;
  for (let i = 0; i < k; i++) total += alpha[i]!;
  let u = rng.next() * total;
  let pick = k - 1;
  for (let i = 0; i < k; i++) {
    u -= alpha[i]!;
    if (u < 0) {
      pick = i;
      break;
    }
  }
  for (let i = 0; i < k; i++) out[offset + i] = i === pick ? 1 : 0;
}

/** Dirichlet(alpha) draw as a new array. */
export function sampleDirichlet(rng: Rng, alpha: ArrayLike<number>): Float64Array {
  const out = new Float64Array(alpha.length);
  sampleDirichletInto(rng, alpha, out, 0);
  return out;
}

/**
 * Index drawn from the probabilities `p[offset .. offset + k)` (assumed to sum to 1).
 * Inverse-CDF with one uniform; rounding falls back to the last state with p > 0.
 */
export function sampleCategorical(
  rng: Rng,
  p: ArrayLike<number>,
  offset = 0,
  k = p.length - offset,
): number {
  let u = rng.next();
  let lastPositive = k - 1;
  for (let i = 0; i < k; i++) {
    const pi = p[offset + i]!;
    if (pi > 0) {
      lastPositive = i;
      u -= pi;
      if (u < 0) return i;
    }
  }
  return lastPositive; // rounding left u >= 0: never return a zero-probability state
}
