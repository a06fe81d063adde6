import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { Rng } from "../../src/bn/rng.ts";
import { createRng, sampleNormal } from "../../src/bn/rng.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "../../src/model/spec.ts";
import { TOKEN_QUERY, flattenWeights, unflattenWeights } from "../../src/model/spec.ts";
import { loadJax, jaxLib } from "../../src/model/jax/setup.ts";
import type { JaxParams, Placement } from "../../src/model/jax/executor.ts";
import { paramEntries, paramsFromWeights } from "../../src/model/jax/executor.ts";
import type { LossKind } from "../../src/train/loss.ts";
import { oneHotTargets } from "../../src/train/loss.ts";
import type { Array as JArray } from "@jax-js/jax";
import type { TrainBatch } from "../../src/train/step.ts";
import { batchLoss, createTrainStep, uploadBatch } from "../../src/train/step.ts";
import type { ReferenceLeaf } from "../../src/train/adamw.ts";
import {
  adamwInit,
  adamwReference,
  adamwStepScalars,
  defaultAdamwConfig,
} from "../../src/train/adamw.ts";
import { erf } from "../../src/model/reference.ts";
import { SMALL_SPEC, randomTokens, randomWeights } from "../model/construction-fixtures.ts";

/**
 * Central differences in float64 on the jax-js "cpu" device (wasm float64 is not true
 * double, STACK.md), h = 1e-5: truncation ~h^2 * f''' ~ 1e-10 and rounding ~1e-16 / h =
 * 1e-11, so agreement to 1e-7 (absolute, or relative for larger gradients) is ~100x above
 * the method's own error while a wrong gradient formula misses by far more.
 */
const FD_H = 1e-5;
const FD_TOL = 1e-7;
/**
 * The float32 jitted gradients on wasm vs the float64 ones: float32 rounding (1.2e-7) through
 * a few dozen operations and jax-js's float32 exp/erf (~6e-7): 1e-4 of the leaf's largest
 * gradient is ~20x the worst seen (~5e-6) and far below any real error.
 */
const GRAD32_TOL = 1e-4;

const CPU64: Placement = { dtype: "float64", device: "cpu" };

before(async () => {
  await loadJax();
});

function round32(spec: TransformerSpec, w: TransformerWeights): TransformerWeights {
  const flat = new Map<string, Tensor>();
  for (const [k, t] of flattenWeights(w))
    flat.set(k, { shape: t.shape, data: Float32Array.from(t.data) });
  return unflattenWeights(spec, flat);
}

/** Two sequences with context, queries and PAD; targets one-hot (cross-entropy) or soft (L1). */
function makeBatch(rng: Rng, spec: TransformerSpec, kind: LossKind, B = 2, T = 5): TrainBatch {
  const kinds = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) kinds.set([0, 0, 1, 0, 1, 2, 2, 2].slice(0, T), b * T);
  let Q = 0;
  for (const k of kinds) if (k === TOKEN_QUERY) Q++;
  const O = spec.outputDim;
  let targets: Float32Array;
  if (kind === "cross-entropy")
    targets = oneHotTargets(
      Array.from({ length: Q }, () => rng.nextInt(O)),
      O,
    );
  else {
    targets = new Float32Array(Q * O);
    for (let q = 0; q < Q; q++) {
      const raw = Array.from({ length: O }, () => 0.1 + rng.next());
      const s = raw.reduce((a, b) => a + b, 0);
      raw.forEach((x, i) => (targets[q * O + i] = x / s));
    }
  }
  return {
    tokens: Float32Array.from(randomTokens(rng, B * T, spec.inputDim)),
    kinds,
    shape: [B, T, spec.inputDim],
    targets,
  };
}

/** The float64 loss on the cpu device, eager (jitted cpu code is not true float64: 1e-8 off). */
async function f64Loss(
  spec: TransformerSpec,
  kind: LossKind,
  w: TransformerWeights,
  b: TrainBatch,
) {
  const l = batchLoss(spec, kind, paramsFromWeights(spec, w, CPU64), uploadBatch(spec, b, CPU64));
  return (await l.data())[0]!;
}

/** float64 gradients on the cpu device, by dotted name. */
async function f64Grads(
  spec: TransformerSpec,
  kind: LossKind,
  w: TransformerWeights,
  b: TrainBatch,
) {
  const jax = jaxLib();
  const [, g] = jax.valueAndGrad((p: JaxParams) =>
    batchLoss(spec, kind, p, uploadBatch(spec, b, CPU64)),
  )(paramsFromWeights(spec, w, CPU64));
  const out = new Map<string, Float64Array>();
  for (const [name, a] of paramEntries(spec, g as JaxParams))
    out.set(name, Float64Array.from(await a.data()));
  return out;
}

/** w + h u, with u a direction over the leaves in `dir` (by dotted name). */
function moved(
  spec: TransformerSpec,
  w: TransformerWeights,
  dir: Map<string, Float64Array>,
  h: number,
) {
  const flat = new Map<string, Tensor>();
  for (const [k, t] of flattenWeights(w)) {
    const u = dir.get(k);
    flat.set(k, { shape: t.shape, data: u ? t.data.map((x, i) => x + h * u[i]!) : t.data });
  }
  return unflattenWeights(spec, flat);
}

/** Central difference of the loss along `dir` vs the autodiff directional derivative <g, u>. */
async function checkDirection(
  spec: TransformerSpec,
  kind: LossKind,
  w: TransformerWeights,
  b: TrainBatch,
  grads: Map<string, Float64Array>,
  dir: Map<string, Float64Array>,
  what: string,
) {
  let dot = 0;
  for (const [k, u] of dir) u.forEach((x, i) => (dot += x * grads.get(k)![i]!));
  const plus = await f64Loss(spec, kind, moved(spec, w, dir, FD_H), b);
  const minus = await f64Loss(spec, kind, moved(spec, w, dir, -FD_H), b);
  const fd = (plus - minus) / (2 * FD_H);
  assert.ok(
    Math.abs(fd - dot) < FD_TOL * Math.max(1, Math.abs(dot)),
    `${what}: autodiff ${dot} vs finite difference ${fd}`,
  );
}

const randomDirection = (rng: Rng, n: number) =>
  Float64Array.from({ length: n }, () => sampleNormal(rng));

/**
 * The tiny model of the finite-difference checks: SMALL_SPEC (pre-LN, 2 heads, an MLP-less
 * layer, logits) with ReLU, because jax-js's cpu erf is a ~1e-9 approximation whose slope
 * differs from the exact erf' that autodiff uses; GELU's derivative is checked on its own.
 */
const FD_SPEC: TransformerSpec = { ...SMALL_SPEC, activation: "relu" };

/** Leaf groups checked together along one random direction each. */
const GROUPS = ["embed.", "layers.0.", "layers.1.", "lnF.", "out."];

test("gradients pass a float64 finite-difference check on every block of a tiny model (cross-entropy)", async () => {
  const spec = FD_SPEC;
  const rng = createRng(1);
  const w = randomWeights(rng, spec, 0.5);
  const b = makeBatch(rng, spec, "cross-entropy");
  const grads = await f64Grads(spec, "cross-entropy", w, b);
  for (const prefix of GROUPS) {
    const names = [...grads.keys()].filter((k) => k.startsWith(prefix));
    assert.ok(names.length > 0, prefix);
    const dir = new Map(names.map((k) => [k, randomDirection(rng, grads.get(k)!.length)] as const));
    await checkDirection(spec, "cross-entropy", w, b, grads, dir, prefix);
  }
  assert.ok(
    [...grads.values()].some((g) => g.some((x) => Math.abs(x) > 1e-3)),
    "non-trivial gradients",
  );
});

test("the exact GELU's autodiff derivative is Phi(x) + x phi(x)", async () => {
  const { nn, numpy: np, grad } = jaxLib();
  const xs = Float64Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
  const g = await grad((x: JArray) => nn.gelu(x, { approximate: false }).sum())(
    np.array(xs, { dtype: np.float64, device: "cpu" }),
  ).data();
  xs.forEach((x, i) => {
    const want =
      0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI);
    // jax-js's erf is an approximation with 1.4e-7 absolute error even in float64 on cpu
    // (measured), so Phi(x) carries up to 7e-8; a wrong rule (say, a missing x phi(x)) would
    // be off by up to 0.3.
    assert.ok(Math.abs(g[i]! - want) < 2e-7, `x = ${x}: ${g[i]} vs ${want}`);
  });
});

test("gradients pass a float64 finite-difference check along random directions (L1 loss)", async () => {
  const spec = FD_SPEC;
  const rng = createRng(2);
  const w = randomWeights(rng, spec, 0.5);
  const b = makeBatch(rng, spec, "l1");
  const grads = await f64Grads(spec, "l1", w, b);
  for (let d = 0; d < 2; d++) {
    const dir = new Map([...grads].map(([k, g]) => [k, randomDirection(rng, g.length)] as const));
    await checkDirection(spec, "l1", w, b, grads, dir, `direction ${d}`);
  }
});

test("the jitted float32 gradients on wasm agree with the float64 ones", async () => {
  const spec = SMALL_SPEC;
  const rng = createRng(3);
  const w = round32(spec, randomWeights(rng, spec, 0.5));
  const b = makeBatch(rng, spec, "cross-entropy");
  const want = await f64Grads(spec, "cross-entropy", w, b);
  const ts = await createTrainStep(spec, "cross-entropy", defaultAdamwConfig);
  const params = paramsFromWeights(spec, w);
  const { loss, grads } = await ts.lossAndGrad(params, b);
  assert.ok(Math.abs(loss - (await f64Loss(spec, "cross-entropy", w, b))) < 2e-5);
  for (const [name, a] of paramEntries(spec, grads)) {
    const got = await a.data();
    const ref = want.get(name)!;
    const scale = Math.max(1e-3, ...ref.map(Math.abs));
    ref.forEach((x, i) =>
      assert.ok(Math.abs(got[i]! - x) <= GRAD32_TOL * scale, `${name}[${i}]: ${got[i]} vs ${x}`),
    );
  }
  jaxLib().tree.dispose(params);
  ts.dispose();
});

test("one step applies clipped AdamW to the gradients and consumes the old state", async () => {
  const spec = SMALL_SPEC;
  const rng = createRng(4);
  const w = round32(spec, randomWeights(rng, spec, 0.5));
  const b = makeBatch(rng, spec, "cross-entropy");
  const cfg = { ...defaultAdamwConfig, clipNorm: 0.05, weightDecay: 0.1 };
  const grads = await f64Grads(spec, "cross-entropy", w, b);
  const flat = flattenWeights(w);
  const leaves: ReferenceLeaf[] = [...grads].map(([name, g]) => ({
    p: Float64Array.from(flat.get(name)!.data),
    g,
    m: new Float64Array(g.length),
    v: new Float64Array(g.length),
    matrix: flat.get(name)!.shape.length === 2,
  }));
  const norm = adamwReference(cfg, leaves, adamwStepScalars(cfg, 0, 1e-3));
  assert.ok(norm > cfg.clipNorm, "the fixture exercises clipping");
  const ts = await createTrainStep(spec, "cross-entropy", cfg);
  const params = paramsFromWeights(spec, w);
  const state = adamwInit(params);
  const r = await ts.step(params, state, b, 1e-3);
  assert.equal(params.embed.w.refCount, 0, "old params consumed");
  assert.equal(state.m.embed.w.refCount, 0, "old moments consumed");
  assert.equal(r.state.step, 1);
  assert.ok(Math.abs(r.gradNorm - norm) < 1e-4 * norm);
  const names = [...grads.keys()];
  for (const [k, [name, a]] of paramEntries(spec, r.params).entries()) {
    assert.equal(name, names[k]);
    const got = await a.ref.data();
    const g = grads.get(name)!;
    const before = flat.get(name)!.data;
    leaves[k]!.p.forEach((x, i) => {
      // Updates are ~lr = 1e-3; float32 holds the O(1) weights to ~1e-7. Where the gradient
      // is ~0 (e.g. the key bias, to which softmax is invariant) Adam's g / (|g| + eps) is
      // rounding noise, so only the update's bound lr (1 + decay) is checked there.
      if (Math.abs(g[i]!) > 1e-6)
        assert.ok(Math.abs(got[i]! - x) < 2e-6, `${name}[${i}]: ${got[i]} vs ${x}`);
      else
        assert.ok(Math.abs(got[i]! - before[i]!) <= 1e-3 * (1 + 0.1 * Math.abs(before[i]!)) + 1e-7);
    });
  }
  jaxLib().tree.dispose([r.params, r.state.m, r.state.v]);
  ts.dispose();
});

/**
 * Wasm memory in bytes: Node counts it in `external`, beside the ArrayBuffers that reads
 * return (which come and go with the garbage collector); the allocator's memory grows and
 * never shrinks, so a leak shows as steady growth once its free lists are warm.
 */
function wasmBytes(): number {
  const m = process.memoryUsage();
  return m.external - m.arrayBuffers;
}

test("memory stays flat over many training steps", async () => {
  const spec: TransformerSpec = {
    ...SMALL_SPEC,
    inputDim: 8,
    dModel: 32,
    layers: [{ heads: 2, headDim: 16, mlpHidden: 128 }],
  };
  const rng = createRng(5);
  const b = makeBatch(rng, spec, "cross-entropy", 4, 8);
  const ts = await createTrainStep(spec, "cross-entropy", defaultAdamwConfig);
  let params = paramsFromWeights(spec, randomWeights(rng, spec, 0.1));
  let state = adamwInit(params);
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await ts.step(params, state, b, 1e-3);
      params = r.params;
      state = r.state;
    }
  };
  await run(30);
  const before = wasmBytes();
  await run(40);
  const grown = wasmBytes() - before;
  // Leaking one set of parameters and moments per step would add ~40 x 0.2 MB.
  assert.ok(grown < 1 << 20, `wasm memory grew by ${grown} bytes over 40 steps`);
  jaxLib().tree.dispose([params, state.m, state.v]);
  ts.dispose();
});
