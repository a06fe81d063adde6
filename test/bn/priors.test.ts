import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import { validateNetwork } from "../../src/bn/network.ts";
import { createRng } from "../../src/bn/rng.ts";
import { paperGraph, randomDag } from "../../src/bn/families.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import {
  networkFromBatch,
  sampleCptBatch,
  sampleNetwork,
  validatePrior,
} from "../../src/bn/priors.ts";

const GENERAL10 = paperGraph("general10"); // 32 CPT rows per set
const TERNARY = randomDag(createRng(4), 5, { pMin: 0.5, pMax: 0.9, states: 3 });

/** Every CPT entry of `state` in every row of every set of a batch. */
function entries(structure: Structure, prior: CptPrior, sets: number, state: number): number[] {
  const batch = sampleCptBatch(createRng(99), structure, prior, sets);
  const k = structure.variables[0]!.states.length;
  return batch.cpts.flatMap((cpt) => Array.from(cpt).filter((_x, i) => i % k === state));
}

// Moments of n draws. The tolerance is 5 standard errors: the mean's SE is sd / sqrt(n), the
// variance's is sqrt((m4 - var^2) / n) from the sample fourth moment. A correct prior fails
// with probability ~1e-6 per check (and the seed is fixed, so the outcome is deterministic).
const SE_TOLERANCE = 5;
function checkMoments(xs: number[], mean: number, variance: number, label: string): void {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / n;
  const m4 = xs.reduce((a, b) => a + (b - m) ** 4, 0) / n;
  const seMean = Math.sqrt(variance / n);
  const seVar = Math.sqrt((m4 - v * v) / n);
  assert.ok(Math.abs(m - mean) < SE_TOLERANCE * seMean, `${label}: mean ${m}, expected ${mean}`);
  assert.ok(
    Math.abs(v - variance) < SE_TOLERANCE * seVar,
    `${label}: var ${v}, expected ${variance}`,
  );
}

test("uniform prior: P(X=1|cfg) ~ U(low, high) (mean, variance, range)", () => {
  const p1 = entries(GENERAL10, { kind: "uniform", low: 0.1, high: 0.9 }, 400, 1);
  assert.equal(p1.length, 400 * 32);
  assert.ok(p1.every((p) => p >= 0.1 && p <= 0.9));
  checkMoments(p1, 0.5, 0.8 ** 2 / 12, "U(0.1, 0.9)");
  const skew = entries(GENERAL10, { kind: "uniform", low: 0.7, high: 0.8 }, 200, 1);
  checkMoments(skew, 0.75, 0.1 ** 2 / 12, "U(0.7, 0.8)");
});

for (const alpha of [0.3, 1, 5]) {
  test(`beta prior: P(X=1|cfg) ~ Beta(${alpha}, ${alpha}) has mean 1/2, variance 1/(4(2a+1))`, () => {
    const p1 = entries(GENERAL10, { kind: "beta", alpha }, 400, 1);
    checkMoments(p1, 0.5, 1 / (4 * (2 * alpha + 1)), `Beta(${alpha})`);
  });
}

for (const alpha of [0.1, 1]) {
  test(`dirichlet prior on 3 states: each entry has mean 1/3 and variance (2/9)/(3a+1), a=${alpha}`, () => {
    for (let state = 0; state < 3; state++) {
      const x = entries(TERNARY, { kind: "dirichlet", alpha }, 600, state);
      checkMoments(x, 1 / 3, 2 / 9 / (3 * alpha + 1), `Dirichlet(${alpha}) state ${state}`);
    }
  });
}

test("sampled networks are valid networks over the given structure", () => {
  const priors: [Structure, CptPrior][] = [
    [GENERAL10, { kind: "uniform", low: 0.1, high: 0.9 }],
    [GENERAL10, { kind: "beta", alpha: 0.3 }],
    [TERNARY, { kind: "dirichlet", alpha: 0.1 }],
  ];
  for (const [s, prior] of priors) {
    const net = sampleNetwork(createRng(1), s, prior);
    assert.equal(validateNetwork(net), net, prior.kind);
    assert.equal(net.parents, s.parents);
  }
});

test("batch set s equals sampleNetwork(rng.fork(s)) and does not depend on the batch size", () => {
  const prior: CptPrior = { kind: "dirichlet", alpha: 1 };
  const rng = createRng(21);
  const small = sampleCptBatch(rng, TERNARY, prior, 3);
  const big = sampleCptBatch(rng, TERNARY, prior, 8);
  assert.equal(big.sets, 8);
  for (let s = 0; s < 3; s++) {
    const alone = sampleNetwork(rng.fork(s), TERNARY, prior);
    assert.deepEqual(networkFromBatch(TERNARY, small, s).cpts, alone.cpts);
    assert.deepEqual(networkFromBatch(TERNARY, big, s).cpts, alone.cpts);
  }
  assert.notDeepEqual(
    networkFromBatch(TERNARY, big, 3).cpts,
    networkFromBatch(TERNARY, big, 4).cpts,
  );
  // Shape: per variable [S, configs, states].
  TERNARY.variables.forEach((v, i) => {
    const configs = TERNARY.parents[i]!.reduce((n) => n * 3, 1);
    assert.equal(big.cpts[i]!.length, 8 * configs * v.states.length);
  });
});

test("networkFromBatch returns views into the batch", () => {
  const batch = sampleCptBatch(createRng(2), GENERAL10, { kind: "beta", alpha: 1 }, 4);
  const net = networkFromBatch(GENERAL10, batch, 2);
  net.cpts[0]![0] = 0.25;
  assert.equal(batch.cpts[0]![2 * 2], 0.25);
  assert.throws(
    () => networkFromBatch(GENERAL10, batch, 4),
    /CPT set 4 is out of range; the batch has 4/,
  );
});

test("prior parameters and cardinalities are validated with clear messages", () => {
  assert.throws(
    () => validatePrior(TERNARY, { kind: "uniform", low: 0.1, high: 0.9 }),
    (e: Error) =>
      e.message ===
      'prior > uniform > X0: a uniform prior needs binary variables; "X0" has 3 states (0, 1, 2); ' +
        'set prior.kind: "dirichlet" for categorical variables',
  );
  assert.throws(
    () => sampleNetwork(createRng(0), TERNARY, { kind: "beta", alpha: 1 }),
    /a beta prior needs binary variables/,
  );
  assert.throws(
    () => validatePrior(GENERAL10, { kind: "uniform", low: 0.9, high: 0.1 }),
    /uniform prior needs 0 <= low <= high <= 1, got low 0.9, high 0.1/,
  );
  assert.throws(
    () => validatePrior(GENERAL10, { kind: "beta", alpha: 0 }),
    /beta prior needs a finite alpha > 0, got 0/,
  );
  assert.throws(
    () => validatePrior(GENERAL10, { kind: "dirichlet", alpha: NaN }),
    /finite alpha > 0, got NaN/,
  );
  assert.throws(
    () => validatePrior(GENERAL10, { kind: "gauss" } as unknown as CptPrior),
    /unknown prior kind "gauss"/,
  );
  assert.throws(
    () => sampleCptBatch(createRng(0), GENERAL10, { kind: "beta", alpha: 1 }, -1),
    /integer >= 0/,
  );
});
