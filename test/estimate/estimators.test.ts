import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import { parentConfigIndex, parentConfigCount } from "../../src/bn/cpt.ts";
import { topologicalOrder } from "../../src/bn/network.ts";
import type { Network } from "../../src/bn/network.ts";
import { estimateConditional, fitNetwork } from "../../src/estimate/estimators.ts";
import type { EstimatorName, EstimatorOptions } from "../../src/estimate/options.ts";
import { naiveConditioning } from "../../src/estimate/options.ts";
import { familyCounts, total } from "../../src/estimate/counts.ts";
import { tvDistance } from "../../src/eval/metrics.ts";
import { BnformerError } from "../../src/errors.ts";
import {
  maxAbsDiff,
  randomNetwork,
  randomStructure,
  rowsOf,
  sampleData,
  withMissing,
} from "./fixtures.ts";

// A -> C, binary; the pgmpy-style hand fixture: given A=a0, C is c0 in 2 of 3 rows.
const ac = {
  name: "ac",
  variables: [
    { name: "A", states: ["a0", "a1"] },
    { name: "C", states: ["c0", "c1"] },
  ],
  parents: [[], [0]],
};
const handRows = rowsOf([
  [0, 0],
  [0, 0],
  [0, 1],
  [1, 1],
]);

/** Exact equality of floats computed by the same formula: tolerance only for rounding. */
const ROUNDING = 1e-12;
const TABLE_ESTIMATORS: EstimatorName[] = [
  "mle",
  "dirichlet",
  "bdeu",
  "k2",
  "naive",
  "marginal",
  "backoff",
];

test("MLE from three rows gives 2/3 and 1/3", () => {
  const p = estimateConditional(ac, handRows, 1, [0, 0], { estimator: "mle" });
  assert.ok(maxAbsDiff(p, [2 / 3, 1 / 3]) < ROUNDING);
  const fit = fitNetwork(ac, handRows, { estimator: "mle" });
  assert.ok(maxAbsDiff(fit.cpts[1]!, [2 / 3, 1 / 3, 0, 1]) < ROUNDING);
  assert.ok(maxAbsDiff(fit.cpts[0]!, [3 / 4, 1 / 4]) < ROUNDING);
});

test("Bayesian estimators add their pseudo-counts: (c + a) / (n + k a)", () => {
  const at = (o: EstimatorOptions) => estimateConditional(ac, handRows, 1, [0, 0], o)[0]!;
  assert.ok(Math.abs(at({ estimator: "dirichlet", alpha: 0.5 }) - 2.5 / 4) < ROUNDING);
  assert.ok(Math.abs(at({ estimator: "k2" }) - 3 / 5) < ROUNDING);
  // BDeu ess 2: a = 2 / (2 configurations x 2 states) = 0.5
  assert.ok(Math.abs(at({ estimator: "bdeu", ess: 2 }) - 2.5 / 4) < ROUNDING);
  // root A under BDeu ess 2: a = 2 / (1 x 2) = 1 -> (3 + 1) / (4 + 2)
  const root = estimateConditional(ac, handRows, 0, [0, 0], { estimator: "bdeu", ess: 2 });
  assert.ok(Math.abs(root[0]! - 4 / 6) < ROUNDING);
});

test("every fitted row sums to 1 and matches estimateConditional (seeded property)", () => {
  for (let seed = 0; seed < 12; seed++) {
    const rng = createRng(seed);
    const s = randomStructure(rng, 5, { shuffle: true, maxParents: 2 });
    const data = withMissing(rng, sampleData(rng, randomNetwork(rng, s), 25), 0.05);
    for (const estimator of TABLE_ESTIMATORS) {
      const fit = fitNetwork(s, data, { estimator });
      for (let v = 0; v < 5; v++) {
        const k = s.variables[v]!.states.length;
        const cpt = fit.cpts[v]!;
        for (let r = 0; r < cpt.length / k; r++) {
          assert.ok(Math.abs(total(cpt, r * k, k) - 1) < ROUNDING, `seed ${seed} ${estimator}`);
        }
        const q = Array.from(s.variables, (x) => rng.nextInt(x.states.length));
        const cfg = parentConfigIndex(fit, v, q);
        const p = estimateConditional(s, data, v, q, { estimator });
        assert.deepEqual(p, cpt.slice(cfg * k, (cfg + 1) * k), `seed ${seed} ${estimator} v${v}`);
      }
    }
  }
});

test("MLE equals counts / totals on every seen configuration (seeded property)", () => {
  for (let seed = 0; seed < 12; seed++) {
    const rng = createRng(50 + seed);
    const s = randomStructure(rng, 6, { maxParents: 3 });
    const data = sampleData(rng, randomNetwork(rng, s), 60);
    const fit = fitNetwork(s, data, { estimator: "mle" });
    for (let v = 0; v < 6; v++) {
      const k = s.variables[v]!.states.length;
      const counts = familyCounts(s, data, v);
      assert.equal(total(counts), 60);
      for (let r = 0; r < counts.length / k; r++) {
        const n = total(counts, r * k, k);
        if (n === 0) continue;
        for (let j = 0; j < k; j++) assert.equal(fit.cpts[v]![r * k + j], counts[r * k + j]! / n);
      }
    }
  }
});

test("BDeu with ess -> 0 approaches the MLE on seen configurations", () => {
  const rng = createRng(7);
  const s = randomStructure(rng, 5, { maxParents: 2 });
  const data = sampleData(rng, randomNetwork(rng, s), 80);
  const mle = fitNetwork(s, data, { estimator: "mle" });
  for (const ess of [1e-3, 1e-6, 1e-9]) {
    const bdeu = fitNetwork(s, data, { estimator: "bdeu", ess });
    for (let v = 0; v < 5; v++) {
      const counts = familyCounts(s, data, v);
      const k = s.variables[v]!.states.length;
      for (let r = 0; r < counts.length / k; r++) {
        if (total(counts, r * k, k) === 0) continue;
        // |(c + a)/(n + k a) - c/n| <= k a / n <= k a, with a <= ess
        const d = maxAbsDiff(
          bdeu.cpts[v]!.subarray(r * k, (r + 1) * k),
          mle.cpts[v]!.subarray(r * k, (r + 1) * k),
        );
        assert.ok(d <= k * ess, `ess ${ess}: ${d}`);
      }
    }
  }
});

/** Mean TV over CPT rows, weighted by how often the configuration occurs under the truth. */
function weightedRowTv(truth: Network, fit: Network, configFreq: number[][]): number {
  let tv = 0;
  let weight = 0;
  truth.variables.forEach((variable, v) => {
    const k = variable.states.length;
    for (let r = 0; r < parentConfigCount(truth, v); r++) {
      const w = configFreq[v]![r]!;
      tv +=
        w *
        tvDistance(
          truth.cpts[v]!.subarray(r * k, (r + 1) * k),
          fit.cpts[v]!.subarray(r * k, (r + 1) * k),
        );
      weight += w;
    }
  });
  return tv / weight;
}

// Expected weighted TV ~ 0.4 * sum_c sqrt(P(c)) / sqrt(n) per node; for these 5-node
// networks (<= 9 configurations) that is <= ~0.4 * 3 / sqrt(n): 0.0085 at n = 20000.
// The threshold 0.03 leaves a 3x margin; the 200 -> 20000 ratio is ~10 in expectation.
const CONVERGED_TV = 0.03;
const MIN_IMPROVEMENT = 3;

test("MLE converges to the true CPTs as the context grows (fixed seed)", () => {
  const rng = createRng(2024);
  const s = randomStructure(rng, 5, { maxParents: 2, maxStates: 3 });
  const truth = randomNetwork(rng, s, 2);
  const big = sampleData(rng, truth, 20000);
  const freq = s.variables.map((_, v) => {
    const f = new Array<number>(parentConfigCount(s, v)).fill(0);
    for (let r = 0; r < big.rows; r++)
      f[parentConfigIndex(s, v, big.data.subarray(r * 5, r * 5 + 5))]!++;
    return f;
  });
  const small = { vars: 5, rows: 200, data: big.data.subarray(0, 200 * 5) };
  const tvSmall = weightedRowTv(truth, fitNetwork(s, small, { estimator: "mle" }), freq);
  const tvBig = weightedRowTv(truth, fitNetwork(s, big, { estimator: "mle" }), freq);
  assert.ok(tvBig < CONVERGED_TV, `TV at n=20000 is ${tvBig}`);
  assert.ok(tvSmall / tvBig > MIN_IMPROVEMENT, `TV ${tvSmall} -> ${tvBig}`);
});

test("naive conditions on every earlier variable in topological order, not file order", () => {
  // file order C, A, B with C <- B: topological order A, B, C
  const s = {
    name: "t",
    variables: [
      { name: "C", states: ["0", "1"] },
      { name: "A", states: ["0", "1"] },
      { name: "B", states: ["0", "1"] },
    ],
    parents: [[2], [], []],
  };
  assert.deepEqual(topologicalOrder(s), [1, 2, 0]);
  assert.deepEqual(naiveConditioning(s, 0), [1, 2]);
  const d = rowsOf([
    [1, 0, 0],
    [0, 0, 1],
    [1, 0, 1],
    [1, 1, 1],
  ]);
  // query A=0, B=1: C is 1 in 1 of the 2 rows matching A and B (parents alone: 2 of 3)
  const q = [0, 0, 1];
  assert.ok(
    maxAbsDiff(estimateConditional(s, d, 0, q, { estimator: "naive" }), [1 / 2, 1 / 2]) < ROUNDING,
  );
  assert.ok(
    maxAbsDiff(estimateConditional(s, d, 0, q, { estimator: "mle" }), [1 / 3, 2 / 3]) < ROUNDING,
  );
  const fit = fitNetwork(s, d, { estimator: "naive" });
  assert.deepEqual(fit.parents, [[1, 2], [], [1]]);
  assert.equal(fit.cpts[0]!.length, 8);
});

test("the marginal estimator ignores the parents", () => {
  const p = estimateConditional(ac, handRows, 1, [1, 0], { estimator: "marginal" });
  assert.ok(maxAbsDiff(p, [0.5, 0.5]) < ROUNDING);
  assert.deepEqual(fitNetwork(ac, handRows, { estimator: "marginal" }).parents, [[], []]);
});

test("an unseen configuration follows the policy for mle, naive and marginal", () => {
  const ctx = rowsOf([
    [0, 0],
    [0, 0],
    [0, 1],
  ]);
  const q = [1, 0];
  const mle = (unseen: "marginal" | "uniform" | "error") =>
    estimateConditional(ac, ctx, 1, q, { estimator: "mle", unseen });
  assert.ok(
    maxAbsDiff(estimateConditional(ac, ctx, 1, q, { estimator: "mle" }), [2 / 3, 1 / 3]) < ROUNDING,
  );
  assert.ok(maxAbsDiff(mle("uniform"), [0.5, 0.5]) < ROUNDING);
  assert.throws(
    () => mle("error"),
    /parent configuration \(A=a1\) of "C" occurs in none of the 3 context rows/,
  );
  assert.throws(
    () => estimateConditional(ac, ctx, 1, q, { estimator: "naive", unseen: "error" }),
    (e: unknown) => e instanceof BnformerError && e.code === "estimate",
  );
  const empty = rowsOf([[null, null]]);
  assert.ok(
    maxAbsDiff(estimateConditional(ac, empty, 0, q, { estimator: "marginal" }), [0.5, 0.5]) <
      ROUNDING,
  );
  assert.throws(
    () => estimateConditional(ac, empty, 0, q, { estimator: "marginal", unseen: "error" }),
    /"A" is observed in none/,
  );
});

test("Bayesian estimators give the prior mean at an unseen configuration, even under 'error'", () => {
  const ctx = rowsOf([
    [0, 0],
    [0, 0],
  ]);
  for (const estimator of ["dirichlet", "bdeu", "k2"] as const) {
    const p = estimateConditional(ac, ctx, 1, [1, 0], { estimator, unseen: "error" });
    assert.ok(maxAbsDiff(p, [0.5, 0.5]) < ROUNDING, estimator);
  }
});

test("options are validated at the entry with clear errors", () => {
  const bad = (o: EstimatorOptions, re: RegExp, target = 1, query: number[] = [0, 0]) =>
    assert.throws(() => estimateConditional(ac, handRows, target, query, o), re);
  bad({ estimator: "dirichlet", alpha: 0 }, /alpha: alpha must be a finite number > 0, got 0$/);
  bad({ estimator: "bdeu", ess: -1 }, /ess must be a finite number > 0, got -1/);
  bad(
    { estimator: "mle", alpha: 1 },
    /option alpha applies only to estimator "dirichlet", not "mle"/,
  );
  bad(
    { estimator: "dirichlet", ess: 1 },
    /option ess applies only to estimator "bdeu", not "dirichlet"/,
  );
  bad(
    { estimator: "nope" as EstimatorName },
    /unknown estimator "nope"; expected one of mle, dirichlet/,
  );
  bad({ estimator: "mle", unseen: "zero" as "error" }, /unknown unseen policy "zero"/);
  bad({ estimator: "mle" }, /target 2 is out of range; "ac" has variables 0..1/, 2);
  bad(
    { estimator: "mle" },
    /query value 2 of "A" \(conditioning "C"\) is not a state index 0..1/,
    1,
    [2, 0],
  );
  bad({ estimator: "mle" }, /the query has 1 entries; expected one per variable \(2\)/, 1, [0]);
});

test("the query's target and later entries are ignored", () => {
  const a = estimateConditional(ac, handRows, 1, [0, 0], { estimator: "mle" });
  const b = estimateConditional(ac, handRows, 1, [0, 255], { estimator: "mle" });
  assert.deepEqual(a, b);
  const root = estimateConditional(ac, handRows, 0, [255, 255], { estimator: "naive" });
  assert.ok(maxAbsDiff(root, [3 / 4, 1 / 4]) < ROUNDING);
});

test("backoff dispatches to backoff.ts: the MLE when seen, the best-matching rows when not", () => {
  const ctx = rowsOf([
    [0, 0],
    [0, 0],
    [0, 1],
  ]);
  const seen = estimateConditional(ac, ctx, 1, [0, 0], { estimator: "backoff" });
  assert.deepEqual(seen, estimateConditional(ac, ctx, 1, [0, 0], { estimator: "mle" }));
  // A=a1 matches no row: zero parents match everywhere, so all rows count (the marginal)
  const unseen = estimateConditional(ac, ctx, 1, [1, 0], { estimator: "backoff" });
  assert.ok(maxAbsDiff(unseen, [2 / 3, 1 / 3]) < ROUNDING);
  assert.ok(
    maxAbsDiff(fitNetwork(ac, ctx, { estimator: "backoff" }).cpts[1]!, [
      2 / 3,
      1 / 3,
      2 / 3,
      1 / 3,
    ]) < ROUNDING,
  );
});
