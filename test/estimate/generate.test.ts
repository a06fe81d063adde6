import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import {
  contextConditional,
  generateFromContext,
  generateRows,
  networkConditional,
} from "../../src/estimate/generate.ts";
import { fitNetwork } from "../../src/estimate/estimators.ts";
import type { EstimatorOptions } from "../../src/estimate/options.ts";
import { empiricalJoint, exactJoint, tvDistance } from "../../src/eval/metrics.ts";
import { randomNetwork, randomStructure, sampleData } from "./fixtures.ts";

// Empirical-vs-exact joint TV is about 0.4 * sqrt(J / n) for J joint states; for these
// networks (4 variables, <= 3 states) J <= 81, so <= ~0.016 at n = 50000 and sqrt(100) = 10x
// larger at n = 500 (observed here: 0.004-0.008 and drops of 7-12x). The bound 0.04 and the
// required 4x drop leave margin for sampling noise.
const JOINT_TV_AT_50K = 0.04;
const MIN_DROP = 4;

test("rows generated from an in-context estimator follow the fitted network's joint", () => {
  const cases: EstimatorOptions[] = [
    { estimator: "mle" },
    { estimator: "naive" },
    { estimator: "dirichlet", alpha: 0.5 },
    { estimator: "mle", unseen: "uniform" },
  ];
  for (const [i, opts] of cases.entries()) {
    const rng = createRng(300 + i);
    const s = randomStructure(rng, 4, { maxParents: 2, maxStates: 3, shuffle: true });
    const context = sampleData(rng, randomNetwork(rng, s), 60);
    const fitted = exactJoint(fitNetwork(s, context, opts));
    const small = generateFromContext(rng, s, context, 500, opts);
    const big = generateFromContext(rng, s, context, 50000, opts);
    const tvSmall = tvDistance(empiricalJoint(s, small), fitted);
    const tvBig = tvDistance(empiricalJoint(s, big), fitted);
    assert.ok(tvBig < JOINT_TV_AT_50K, `${JSON.stringify(opts)}: TV ${tvBig}`);
    assert.ok(tvSmall / tvBig > MIN_DROP, `${JSON.stringify(opts)}: TV ${tvSmall} -> ${tvBig}`);
  }
});

test("two engines whose probabilities agree give the same rows from the same seed", () => {
  for (const estimator of ["mle", "naive", "k2"] as const) {
    const rng = createRng(41);
    const s = randomStructure(rng, 5, { shuffle: true });
    const context = sampleData(rng, randomNetwork(rng, s), 30);
    const fitted = fitNetwork(s, context, { estimator });
    const a = generateFromContext(createRng(9), s, context, 200, { estimator });
    const b = generateRows(createRng(9), fitted, 200, networkConditional(fitted));
    assert.deepEqual(a.data, b.data, estimator);
  }
});

test("each generated row uses exactly one uniform per variable", () => {
  const rng = createRng(5);
  const net = randomNetwork(rng, randomStructure(rng, 6));
  const used = createRng(77);
  generateRows(used, net, 10, networkConditional(net));
  const ref = createRng(77);
  for (let i = 0; i < 60; i++) ref.next();
  assert.deepEqual(used.state(), ref.state());
});

test("the conditional sees the earlier variables filled and the rest MISSING", () => {
  const s = randomStructure(createRng(3), 5, { shuffle: true });
  const net = randomNetwork(createRng(4), s);
  const inner = networkConditional(net);
  let calls = 0;
  generateRows(createRng(1), s, 3, (v, row) => {
    for (const p of s.parents[v]!) assert.notEqual(row[p], MISSING);
    assert.equal(row[v], MISSING);
    calls++;
    return inner(v, row);
  });
  assert.equal(calls, 15);
});

test("the context conditional is cached per configuration", () => {
  const rng = createRng(8);
  const s = randomStructure(rng, 4);
  const context = sampleData(rng, randomNetwork(rng, s), 20);
  const cond = contextConditional(s, context, { estimator: "mle" });
  const row = Uint8Array.from([0, 0, 0, 0]);
  assert.equal(cond(3, row), cond(3, Uint8Array.from(row)));
});

test("a conditional that is not a distribution is an error naming the variable", () => {
  const s = randomStructure(createRng(2), 3);
  assert.throws(
    () => generateRows(createRng(1), s, 1, (v) => new Float64Array(s.variables[v]!.states.length)),
    /generate > X0: the conditional returned \[0, 0(, 0)?\]; expected \d probabilities summing to 1/,
  );
  assert.throws(
    () => generateRows(createRng(1), s, 1, () => Float64Array.of(1)),
    /expected \d probabilities/,
  );
});

test("row counts are validated; zero rows is an empty dataset", () => {
  const s = randomStructure(createRng(2), 3);
  const net = randomNetwork(createRng(3), s);
  assert.equal(generateRows(createRng(1), s, 0, networkConditional(net)).rows, 0);
  assert.throws(
    () => generateRows(createRng(1), s, -1, networkConditional(net)),
    /integer >= 0, got -1/,
  );
});

test("bad estimator options fail before anything is generated", () => {
  const s = randomStructure(createRng(2), 3);
  const ctx = sampleData(createRng(3), randomNetwork(createRng(3), s), 5);
  assert.throws(
    () => contextConditional(s, ctx, { estimator: "dirichlet", alpha: -1 }),
    /alpha must be/,
  );
});
