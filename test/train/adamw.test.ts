import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRng, sampleNormal } from "../../src/bn/rng.ts";
import { loadJax, jaxLib } from "../../src/model/jax/setup.ts";
import { toJax } from "../../src/model/jax/executor.ts";
import type { AdamwConfig, ReferenceLeaf } from "../../src/train/adamw.ts";
import {
  adamwReference,
  adamwStepScalars,
  adamwUpdate,
  clipByGlobalNorm,
  defaultAdamwConfig,
  validateAdamw,
} from "../../src/train/adamw.ts";

/**
 * float32 AdamW vs the float64 reference over 3 steps: the update divides by sqrt(v) + eps,
 * which float32 evaluates to ~1e-7 relative; the parameters are O(1) and the updates
 * O(lr = 0.01), so 1e-6 absolute is ~10x the rounding and far below one update.
 */
const UPDATE_TOL = 1e-6;

before(async () => {
  await loadJax();
});

const SHAPES = [[3, 4], [4], [2, 5]];

async function run(c: AdamwConfig, gradScale: number) {
  const rng = createRng(17);
  const rnd = (n: number, s: number) =>
    Float64Array.from({ length: n }, () => s * sampleNormal(rng));
  const leaves: ReferenceLeaf[] = SHAPES.map((sh) => {
    const n = sh.reduce((a, b) => a * b, 1);
    return {
      p: Float64Array.from(rnd(n, 1), Math.fround),
      g: new Float64Array(n),
      m: new Float64Array(n),
      v: new Float64Array(n),
      matrix: sh.length === 2,
    };
  });
  const { numpy: np } = jaxLib();
  let p = leaves.map((l, i) => toJax(l.p, SHAPES[i]!));
  let m = leaves.map((_, i) => np.zeros(SHAPES[i]!));
  let v = leaves.map((_, i) => np.zeros(SHAPES[i]!));
  const norms: [number, number][] = [];
  for (let step = 0; step < 3; step++) {
    for (const l of leaves) l.g = Float64Array.from(rnd(l.p.length, gradScale), Math.fround);
    const s = adamwStepScalars(c, step, 0.01);
    const refNorm = adamwReference(c, leaves, s);
    const [clipped, norm] = clipByGlobalNorm(
      leaves.map((l, i) => toJax(l.g, SHAPES[i]!)),
      c.clipNorm,
    );
    const u = adamwUpdate(c, p, clipped, m, v, np.array(s.lr), np.array(s.bc1), np.array(s.bc2));
    norms.push([(await norm.data())[0]!, refNorm]);
    p = u.params;
    m = u.m;
    v = u.v;
  }
  const got = await Promise.all(p.map(async (a) => Array.from(await a.data(), Number)));
  jaxLib().tree.dispose([m, v]);
  return { got, want: leaves.map((l) => Array.from(l.p)), norms };
}

function assertAllClose(got: number[][], want: number[][]) {
  got.forEach((g, i) =>
    g.forEach((x, j) =>
      assert.ok(Math.abs(x - want[i]![j]!) < UPDATE_TOL, `leaf ${i}[${j}]: ${x} vs ${want[i]![j]}`),
    ),
  );
}

test("three clipped AdamW steps match the float64 reference (gradients clipped)", async () => {
  const { got, want, norms } = await run({ ...defaultAdamwConfig, weightDecay: 0.1 }, 3);
  assertAllClose(got, want);
  for (const [a, b] of norms) {
    assert.ok(b > 1, "the fixture's gradients are above the clip norm");
    assert.ok(Math.abs(a - b) < 1e-5 * b);
  }
});

test("without clipping or decay, AdamW matches the reference too", async () => {
  const c = { ...defaultAdamwConfig, weightDecay: 0, clipNorm: 0 };
  const { got, want } = await run(c, 0.1);
  assertAllClose(got, want);
});

test("the first update moves each entry by lr against its gradient's sign; decay spares vectors", async () => {
  // With m and v zero, step 1 gives m_hat = g and v_hat = g^2, so the update is lr * sign(g).
  const c: AdamwConfig = { ...defaultAdamwConfig, clipNorm: 0, weightDecay: 0.5 };
  const { numpy: np } = jaxLib();
  const p = [toJax([1, 2, 3, 4], [2, 2]), toJax([1, 2], [2])];
  const g = [toJax([0.5, -2, 1e-3, -7], [2, 2]), toJax([3, -0.25], [2])];
  const s = adamwStepScalars(c, 0, 0.1);
  const u = adamwUpdate(
    c,
    p,
    g,
    [np.zeros([2, 2]), np.zeros([2])],
    [np.zeros([2, 2]), np.zeros([2])],
    np.array(s.lr),
    np.array(s.bc1),
    np.array(s.bc2),
  );
  const mat = Array.from(await u.params[0]!.data(), Number);
  const vec = Array.from(await u.params[1]!.data(), Number);
  // matrix: p - 0.1 sign(g) - 0.1 * 0.5 p ; vector: no decay
  const wantMat = [1 - 0.1 - 0.05, 2 + 0.1 - 0.1, 3 - 0.1 - 0.15, 4 + 0.1 - 0.2];
  wantMat.forEach((w, i) => assert.ok(Math.abs(mat[i]! - w) < 1e-5, `mat ${i}: ${mat[i]} vs ${w}`));
  [1 - 0.1, 2 + 0.1].forEach((w, i) => assert.ok(Math.abs(vec[i]! - w) < 1e-5, `vec ${i}`));
  jaxLib().tree.dispose([u.m, u.v]);
});

test("bad hyper-parameters name the field", () => {
  assert.throws(
    () => validateAdamw({ ...defaultAdamwConfig, beta2: 1 }),
    /beta2 must be in \[0, 1\), got 1/,
  );
  assert.throws(() => validateAdamw({ ...defaultAdamwConfig, eps: 0 }), /eps must be > 0/);
});
