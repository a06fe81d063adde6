import { test } from "node:test";
import assert from "node:assert/strict";
import {
  logGamma,
  logMarginalLikelihood,
  posteriorMean,
  uniformPosteriorMean,
} from "../../src/estimate/posterior.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import { sampleCptBatch, validatePrior } from "../../src/bn/priors.ts";
import { createRng } from "../../src/bn/rng.ts";

/** Formula results: only floating-point rounding separates them from the closed form. */
const ROUNDING = 1e-12;
/** Quadrature vs brute-force Simpson on 2e5 intervals: they agreed to ~1e-13 on these cases. */
const QUADRATURE_AGREEMENT = 1e-9;

test("beta(a) posterior mean is (k + a) / (n + 2a)", () => {
  const p = posteriorMean({ kind: "beta", alpha: 0.5 }, [7, 3]);
  assert.ok(Math.abs(p[1]! - 3.5 / 11) < ROUNDING);
  assert.ok(Math.abs(p[0]! + p[1]! - 1) < ROUNDING);
});

test("dirichlet(a) posterior mean is (k_i + a) / (n + K a)", () => {
  const p = posteriorMean({ kind: "dirichlet", alpha: 0.1 }, [0, 4, 1]);
  [0.1 / 5.3, 4.1 / 5.3, 1.1 / 5.3].forEach((x, i) => assert.ok(Math.abs(p[i]! - x) < ROUNDING));
});

test("with no data the posterior mean is the prior mean", () => {
  assert.equal(uniformPosteriorMean(0, 0, 0.1, 0.9), 0.5);
  assert.equal(uniformPosteriorMean(0, 0, 0.2, 0.3), 0.25);
  assert.deepEqual(
    Array.from(posteriorMean({ kind: "dirichlet", alpha: 2 }, [0, 0, 0, 0])),
    [0.25, 0.25, 0.25, 0.25],
  );
});

test("U(0, 1) is Beta(1, 1): the quadrature gives Laplace's (k + 1) / (n + 2)", () => {
  for (const n of [1, 2, 7, 50, 333, 2000]) {
    for (const k of [0, 1, Math.floor(n / 3), n - 1, n]) {
      if (k < 0) continue;
      const got = uniformPosteriorMean(k, n, 0, 1);
      assert.ok(Math.abs(got - (k + 1) / (n + 2)) < ROUNDING, `k=${k} n=${n}: ${got}`);
    }
  }
});

/** E[p | k, n] under U(low, high) by composite Simpson on a fine grid, in log space. */
function bruteForce(k: number, n: number, low: number, high: number): number {
  const steps = 200_000;
  const h = (high - low) / steps;
  const logf = (p: number) =>
    (k > 0 ? k * Math.log(p) : 0) + (n - k > 0 ? (n - k) * Math.log1p(-p) : 0);
  let peak = -Infinity;
  for (let i = 0; i <= steps; i++) peak = Math.max(peak, logf(low + i * h));
  let z = 0;
  let m1 = 0;
  for (let i = 0; i <= steps; i++) {
    const p = low + i * h;
    const w = (i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(logf(p) - peak);
    z += w;
    m1 += w * p;
  }
  return m1 / z;
}

test("the uniform-prior posterior mean matches a brute-force integral up to n = 2000", () => {
  const cases: [number, number, number, number][] = [
    [0, 1, 0.1, 0.9],
    [1, 3, 0.1, 0.9],
    [3, 10, 0.1, 0.9],
    [0, 2000, 0.1, 0.9], // all mass piles on the lower bound
    [2000, 2000, 0.1, 0.9],
    [1000, 2000, 0.1, 0.9],
    [37, 2000, 0.1, 0.9],
    [200, 2000, 0.1, 0.9], // MLE exactly at the bound
    [1600, 2000, 0.3, 0.35], // mode far outside a narrow prior
    [5, 500, 0.02, 0.98],
  ];
  for (const [k, n, lo, hi] of cases) {
    const got = uniformPosteriorMean(k, n, lo, hi);
    const want = bruteForce(k, n, lo, hi);
    assert.ok(
      Math.abs(got - want) < QUADRATURE_AGREEMENT,
      `k=${k} n=${n} U(${lo},${hi}): ${got} vs ${want}`,
    );
  }
});

test("the uniform-prior posterior mean stays in [low, high] and grows with k", () => {
  let prev = -Infinity;
  for (let k = 0; k <= 300; k++) {
    const p = uniformPosteriorMean(k, 300, 0.1, 0.9);
    assert.ok(p >= 0.1 && p <= 0.9 && p > prev, `k=${k}: ${p}`);
    prev = p;
  }
  const two = posteriorMean({ kind: "uniform", low: 0.1, high: 0.9 }, [10, 2]);
  assert.ok(Math.abs(two[1]! - uniformPosteriorMean(2, 12, 0.1, 0.9)) < ROUNDING);
  assert.ok(Math.abs(two[0]! + two[1]! - 1) < ROUNDING);
});

test("bad priors and counts are rejected", () => {
  assert.throws(
    () => uniformPosteriorMean(1, 2, 0.9, 0.1),
    /0 <= low <= high <= 1, got \[0.9, 0.1\]/,
  );
  assert.throws(() => uniformPosteriorMean(3, 2, 0.1, 0.9), /need 0 <= k <= n/);
  assert.throws(
    () => posteriorMean({ kind: "beta", alpha: 1 }, [1, 2, 3]),
    /beta prior is for binary variables; got 3 states/,
  );
  assert.throws(
    () => posteriorMean({ kind: "dirichlet", alpha: 0 }, [1, 2]),
    /alpha must be finite and > 0, got 0/,
  );
  assert.throws(() => posteriorMean({ kind: "dirichlet", alpha: 1 }, [1, -2]), /count 1 is -2/);
});

test("a degenerate uniform prior U(a, a) is a point mass: the posterior mean is a whatever the counts", () => {
  for (const [k, n] of [
    [0, 0],
    [3, 10],
    [10, 10],
  ] as const) {
    assert.equal(uniformPosteriorMean(k, n, 0.8, 0.8), 0.8);
  }
});

const MIXTURE: CptPrior = {
  kind: "dirichlet-mixture",
  alphas: [1, 3, 10],
  weights: [0.5, 0.3, 0.2],
};

test("dirichlet-mixture: the posterior mean matches a Simpson integral over the mixture of betas", () => {
  const betaPdfLog = (p: number, a: number) =>
    logGamma(2 * a) - 2 * logGamma(a) + (a - 1) * (Math.log(p) + Math.log1p(-p));
  for (const [k, n] of [
    [0, 0],
    [3, 4],
    [17, 20],
    [40, 100],
    [990, 1000],
  ] as const) {
    let z = 0;
    let m = 0;
    const steps = 200_000;
    for (let i = 1; i < steps; i++) {
      const p = i / steps;
      const prior =
        0.5 * Math.exp(betaPdfLog(p, 1)) +
        0.3 * Math.exp(betaPdfLog(p, 3)) +
        0.2 * Math.exp(betaPdfLog(p, 10));
      const w =
        (i % 2 === 0 ? 2 : 4) * prior * Math.exp(k * Math.log(p) + (n - k) * Math.log1p(-p));
      z += w;
      m += w * p;
    }
    const got = posteriorMean(MIXTURE, [n - k, k]);
    assert.ok(Math.abs(got[1]! - m / z) < 1e-7, `k=${k}, n=${n}: ${got[1]} vs ${m / z}`);
  }
});

test("dirichlet-mixture: mean and evidence agree through the chain rule, also for 4 states", () => {
  // log ML(c) = sum_t log P(x_t | x_<t), with P(. | x_<t) the posterior mean after t rows.
  const prior: CptPrior = {
    kind: "dirichlet-mixture",
    alphas: [0.1, 1, 10],
    weights: [0.3, 0.3, 0.4],
  };
  const xs = [0, 0, 3, 0, 1, 0, 0, 0, 2, 0, 0, 3, 0, 0, 0];
  const c = [0, 0, 0, 0];
  let chain = 0;
  for (const x of xs) {
    chain += Math.log(posteriorMean(prior, c)[x]!);
    c[x]!++;
  }
  assert.ok(Math.abs(logMarginalLikelihood(prior, c) - chain) < 1e-10);
  // One component is that Dirichlet.
  const one: CptPrior = { kind: "dirichlet-mixture", alphas: [0.7], weights: [1] };
  assert.deepEqual(
    [...posteriorMean(one, c)],
    [...posteriorMean({ kind: "dirichlet", alpha: 0.7 }, c)],
  );
});

test("dirichlet-mixture rows are drawn per row from their component: E[p(1-p)] of a binary row", () => {
  const prior: CptPrior = { kind: "dirichlet-mixture", alphas: [0.1, 10], weights: [0.5, 0.5] };
  const structure = { name: "one", variables: [{ name: "X", states: ["0", "1"] }], parents: [[]] };
  const batch = sampleCptBatch(createRng(4), structure, prior, 20_000);
  const v = Array.from(
    { length: 20_000 },
    (_, s) => batch.cpts[0]![2 * s]! * batch.cpts[0]![2 * s + 1]!,
  );
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) / v.length);
  // E[p(1-p)] under Beta(a, a) is a / (2 (2a + 1)): 0.1/2.4 and 10/42, averaged.
  const expected = 0.5 * (0.1 / 2.4) + 0.5 * (10 / 42);
  assert.ok(Math.abs(mean - expected) < 4 * sd, `${mean} vs ${expected} (sd ${sd})`);
  assert.throws(() => validatePrior(structure, { ...prior, weights: [0.5, 0.6] }), /sum to 1/);
  assert.throws(() => validatePrior(structure, { ...prior, alphas: [0.1, -1] }), /alphas/);
});
