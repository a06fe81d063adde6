import { test } from "node:test";
import assert from "node:assert/strict";
import { BnformerError } from "../../src/errors.ts";
import {
  MAX_SEED,
  createRng,
  restoreRng,
  sampleBeta,
  sampleDirichlet,
  sampleGamma,
  sampleCategorical,
} from "../../src/bn/rng.ts";

// Golden first draws for seed 42: pinned so that any change to seeding or sfc32 shows up.
// Values produced by this implementation when the test was written (sfc32 + splitmix32).
test("the first draws of seed 42 are pinned", () => {
  const rng = createRng(42);
  const draws = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
  assert.deepEqual(draws, GOLDEN_SEED_42);
});
const GOLDEN_SEED_42 = [1028872839, 2516511472, 400437680];

test("same seed gives the same stream; different seeds differ", () => {
  const a = createRng(7);
  const b = createRng(7);
  const c = createRng(8);
  const xa = Array.from({ length: 20 }, () => a.next());
  const xb = Array.from({ length: 20 }, () => b.next());
  const xc = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test("a seed outside 0..2^32-1 or not an integer is a config error, never reduced mod 2^32", () => {
  for (const seed of [-1, 2 ** 32, 2 ** 32 + 5, 1.5, NaN, Infinity]) {
    assert.throws(
      () => createRng(seed),
      (e: unknown) =>
        e instanceof BnformerError && e.code === "config" && /0\.\.4294967295/.test(e.message),
      String(seed),
    );
  }
  // The ends of the range are distinct streams (2^32 - 1 no longer aliases -1, nor 2^32 seed 0).
  const first = (seed: number) => createRng(seed).nextUint32();
  assert.notEqual(first(MAX_SEED), first(0));
  assert.equal(first(MAX_SEED), first(MAX_SEED));
});

test("restoring a saved state continues the stream exactly", () => {
  const a = createRng(3);
  for (let i = 0; i < 5; i++) a.next();
  const b = restoreRng(a.state(), 3);
  assert.deepEqual(
    Array.from({ length: 10 }, () => a.next()),
    Array.from({ length: 10 }, () => b.next()),
  );
});

test("saveState copies the words; loadState continues from a copy stepped elsewhere", () => {
  const a = createRng(3);
  a.next();
  const words = new Int32Array(4);
  a.saveState(words);
  assert.deepEqual(
    Array.from(words, (w) => w >>> 0),
    a.state(),
  );
  const ahead = Array.from({ length: 5 }, () => a.nextUint32());
  const b = createRng(99);
  b.loadState(words);
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.nextUint32()),
    ahead,
  );
  assert.throws(() => a.saveState(new Int32Array(3)), /saveState: needs 4 words, got 3/);
  assert.throws(() => a.loadState(new Int32Array(2)), /loadState: needs 4 words, got 2/);
});

test("fork(i) streams are reproducible, distinct, and do not advance the parent", () => {
  const a = createRng(5);
  const f0 = a.fork(0).next();
  const f1 = a.fork(1).next();
  assert.notEqual(f0, f1);
  assert.equal(a.fork(0).next(), f0);
  assert.equal(a.next(), createRng(5).next());
});

// Moments of 20,000 draws; tolerance 4 standard errors of the mean, so a correct sampler
// fails with probability < 1e-4 (and the seed is fixed, so the outcome is deterministic).
const N = 20000;
function meanVar(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)];
}

for (const shape of [0.3, 1, 2.5, 10]) {
  test(`Gamma(${shape}) draws have mean and variance ${shape}`, () => {
    const rng = createRng(11);
    const [m, v] = meanVar(Array.from({ length: N }, () => sampleGamma(rng, shape)));
    assert.ok(Math.abs(m - shape) < 4 * Math.sqrt(shape / N), `mean ${m}`);
    assert.ok(Math.abs(v - shape) / shape < 0.1, `variance ${v}`);
  });
}

test("Beta(0.5, 2) draws have mean 0.2 and variance a b / ((a+b)^2 (a+b+1))", () => {
  const rng = createRng(12);
  const [m, v] = meanVar(Array.from({ length: N }, () => sampleBeta(rng, 0.5, 2)));
  const ev = (0.5 * 2) / (2.5 * 2.5 * 3.5);
  assert.ok(Math.abs(m - 0.2) < 4 * Math.sqrt(ev / N), `mean ${m}`);
  assert.ok(Math.abs(v - ev) / ev < 0.1, `variance ${v}`);
});

test("Dirichlet draws sum to 1 and have mean alpha / sum(alpha)", () => {
  const rng = createRng(13);
  const alpha = [0.1, 1, 3];
  const sums = [0, 0, 0];
  for (let i = 0; i < N; i++) {
    const x = sampleDirichlet(rng, alpha);
    assert.ok(Math.abs(x[0]! + x[1]! + x[2]! - 1) < 1e-12);
    for (let j = 0; j < 3; j++) sums[j]! += x[j]!;
  }
  alpha.forEach((a, j) => assert.ok(Math.abs(sums[j]! / N - a / 4.1) < 0.01, `component ${j}`));
});

test("categorical draws follow p and never pick a zero-probability state", () => {
  const rng = createRng(14);
  const p = [0.2, 0, 0.5, 0.3, 0];
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < N; i++) counts[sampleCategorical(rng, p)]!++;
  assert.equal(counts[1], 0);
  assert.equal(counts[4], 0);
  p.forEach((pi, j) =>
    assert.ok(Math.abs(counts[j]! / N - pi) < 4 * Math.sqrt((pi * (1 - pi)) / N) + 1e-12),
  );
});
