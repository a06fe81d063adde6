import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import type { Network } from "../../src/bn/network.ts";
import {
  empiricalJoint,
  exactJoint,
  jointProbability,
  jointTvExact,
  jointTvMonteCarlo,
  klDivergence,
  logLikelihood,
  tvDistance,
  MAX_EXACT_JOINT_STATES,
} from "../../src/eval/metrics.ts";
import { fitNetwork } from "../../src/estimate/estimators.ts";
import {
  randomNetwork,
  randomStructure,
  rowsOf,
  sampleData,
  withMissing,
} from "../estimate/fixtures.ts";

/** Closed-form values computed two ways differ only by rounding. */
const ROUNDING = 1e-12;

// A -> B, binary: P(A=1) = 0.3; P(B=1 | A=0) = 0.2, P(B=1 | A=1) = 0.9.
const ab: Network = {
  name: "ab",
  variables: [
    { name: "A", states: ["0", "1"] },
    { name: "B", states: ["0", "1"] },
  ],
  parents: [[], [0]],
  cpts: [Float64Array.of(0.7, 0.3), Float64Array.of(0.8, 0.2, 0.1, 0.9)],
};

test("TV is half the L1 distance (binary: |p1 - q1|)", () => {
  assert.ok(Math.abs(tvDistance([0.5, 0.5], [0.2, 0.8]) - 0.3) < ROUNDING);
  assert.equal(tvDistance([1, 0, 0], [0, 0, 1]), 1);
  assert.throws(() => tvDistance([1], [0.5, 0.5]), /1 and 2 entries/);
});

test("KL is in nats, skips p = 0 and is infinite where q = 0 < p", () => {
  const want = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75);
  assert.ok(Math.abs(klDivergence([0.5, 0.5], [0.25, 0.75]) - want) < ROUNDING);
  assert.equal(klDivergence([0, 1], [0.5, 0.5]), Math.log(2));
  assert.equal(klDivergence([0.5, 0.5], [1, 0]), Infinity);
  assert.equal(klDivergence([0.3, 0.7], [0.3, 0.7]), 0);
});

test("the exact joint multiplies the CPTs, last variable fastest", () => {
  const j = exactJoint(ab);
  [0.7 * 0.8, 0.7 * 0.2, 0.3 * 0.1, 0.3 * 0.9].forEach((x, i) =>
    assert.ok(Math.abs(j[i]! - x) < ROUNDING),
  );
  assert.ok(Math.abs(jointProbability(ab, [1, 0]) - 0.03) < ROUNDING);
});

test("joints of random networks sum to 1", () => {
  for (let seed = 0; seed < 5; seed++) {
    const rng = createRng(seed);
    const j = exactJoint(randomNetwork(rng, randomStructure(rng, 6, { shuffle: true })));
    assert.ok(Math.abs(j.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
});

test("joint TV of networks that differ only at the root is the root's TV", () => {
  const other: Network = { ...ab, cpts: [Float64Array.of(0.5, 0.5), ab.cpts[1]!] };
  assert.ok(Math.abs(jointTvExact(ab, other) - 0.2) < ROUNDING);
  assert.equal(jointTvExact(ab, ab), 0);
});

// The Monte-Carlo estimate is a mean of bounded terms: within 4 standard errors of the
// truth except with probability < 1e-4 (fixed seed, so this never flakes).
const MC_SIGMAS = 4;

test("Monte-Carlo joint TV agrees with the exact value within its standard error", () => {
  const rng = createRng(11);
  const s = randomStructure(rng, 6, { maxStates: 3 });
  const p = randomNetwork(rng, s);
  const q = fitNetwork(s, sampleData(rng, p, 200), { estimator: "k2" });
  const exact = jointTvExact(p, q);
  const mc = jointTvMonteCarlo(createRng(3), p, q, 20000);
  assert.ok(mc.standardError > 0 && mc.standardError < 0.01, `se ${mc.standardError}`);
  assert.ok(
    Math.abs(mc.estimate - exact) < MC_SIGMAS * mc.standardError,
    `${mc.estimate} vs ${exact}`,
  );
  assert.equal(jointTvMonteCarlo(createRng(3), p, p, 100).estimate, 0);
});

test("exact joints refuse networks with too many states and point to Monte Carlo", () => {
  const m = Math.log2(MAX_EXACT_JOINT_STATES) + 1;
  const big: Network = {
    name: "big",
    variables: Array.from({ length: m }, (_, i) => ({ name: `V${i}`, states: ["0", "1"] })),
    parents: Array.from({ length: m }, () => []),
    cpts: Array.from({ length: m }, () => Float64Array.of(0.5, 0.5)),
  };
  assert.throws(
    () => exactJoint(big),
    /"big" has 2097152 joint states, more than the 1048576 .*use the Monte-Carlo joint TV/,
  );
  assert.ok(jointTvMonteCarlo(createRng(1), big, big, 10).estimate === 0);
});

test("joint distances need the same variables and states", () => {
  const renamed: Network = {
    ...ab,
    variables: [ab.variables[0]!, { name: "B", states: ["0", "2"] }],
  };
  assert.throws(() => jointTvExact(ab, renamed), /differ in their variables or states/);
});

test("the empirical joint counts complete rows only", () => {
  const d = rowsOf([
    [0, 1],
    [1, 1],
    [1, null],
    [1, 1],
  ]);
  assert.deepEqual(Array.from(empiricalJoint(ab, d)), [0, 1 / 3, 0, 2 / 3]);
});

test("log-likelihood sums log CPT entries and skips factors with a missing value", () => {
  const d = rowsOf([
    [0, 1], // ln 0.7 + ln 0.2
    [1, null], // ln 0.3 (B skipped)
    [null, 1], // nothing: A missing, and B's parent is missing
  ]);
  const want = Math.log(0.7) + Math.log(0.2) + Math.log(0.3);
  assert.ok(Math.abs(logLikelihood(ab, d) - want) < ROUNDING);
  const zero: Network = { ...ab, cpts: [Float64Array.of(1, 0), ab.cpts[1]!] };
  assert.equal(logLikelihood(zero, rowsOf([[1, 1]])), -Infinity);
});

test("the MLE fit has the highest log-likelihood on its own data", () => {
  for (let seed = 0; seed < 8; seed++) {
    const rng = createRng(40 + seed);
    const s = randomStructure(rng, 5);
    const truth = randomNetwork(rng, s);
    const d = withMissing(rng, sampleData(rng, truth, 100), 0.05);
    const best = logLikelihood(fitNetwork(s, d, { estimator: "mle" }), d);
    assert.ok(best >= logLikelihood(truth, d), `seed ${seed}`);
    assert.ok(best >= logLikelihood(fitNetwork(s, d, { estimator: "k2" }), d), `seed ${seed}`);
  }
});
