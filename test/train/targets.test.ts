import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import type { TargetKind } from "../../src/train/targets.ts";
import {
  TARGET_KINDS,
  checkTargetKind,
  defaultLossFor,
  validMask,
  writeTargets,
} from "../../src/train/targets.ts";

/** B <- A, C <- A,B; A and B binary, C ternary. */
const NET: Structure = {
  name: "abc",
  variables: [
    { name: "A", states: ["0", "1"] },
    { name: "B", states: ["0", "1"] },
    { name: "C", states: ["x", "y", "z"] },
  ],
  parents: [[], [0], [0, 1]],
};

const rows = (r: number[][]): Dataset => ({
  vars: 3,
  rows: r.length,
  data: Uint8Array.from(r.flat()),
});

// Seven context rows; the counts below are read off by hand.
const CONTEXT = rows([
  [0, 0, 0],
  [0, 1, 2],
  [1, 1, 1],
  [1, 1, 1],
  [1, 0, 0],
  [0, 1, 2],
  [1, 1, 2],
]);
// Query 0: A=1, B=1 (seen 3 times: C = y, y, z). Query 1: A=0, B=0 (seen once: C = x).
const QUERIES = rows([
  [1, 1, 0],
  [0, 0, 1],
]);
const TARGETS = [0, 1, 2];
const O = 3;

function targetsOf(kind: TargetKind, prior: CptPrior): number[][] {
  const out = new Float32Array(QUERIES.rows * TARGETS.length * O);
  writeTargets(
    kind,
    { structure: NET, context: CONTEXT, queryRows: QUERIES, targets: TARGETS },
    prior,
    O,
    out,
    0,
  );
  return Array.from({ length: out.length / O }, (_, q) =>
    Array.from(out.subarray(q * O, (q + 1) * O)),
  );
}

/** Float32 storage of targets computed in float64. */
const F32 = 1e-6;

function assertRows(actual: number[][], expected: number[][]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, q) =>
    row.forEach((x, s) =>
      assert.ok(
        Math.abs(x - expected[q]![s]!) <= F32,
        `query ${q} state ${s}: ${x} vs ${expected[q]![s]}`,
      ),
    ),
  );
}

test("prediction targets are one-hots of the query rows' observed values", () => {
  assert.deepEqual(targetsOf("prediction", { kind: "dirichlet", alpha: 1 }), [
    [0, 1, 0],
    [0, 1, 0],
    [1, 0, 0],
    [1, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
  ]);
});

test("mle targets are the counts at the true parents over their total, the marginal when unseen", () => {
  // A: 4 of 7 rows have A=1. B | A=1: 3 of 4 have B=1; B | A=0: 2 of 3 have B=1.
  // C | A=1,B=1: y, y, z. C | A=0,B=0: x.
  const expected = [
    [3 / 7, 4 / 7, 0],
    [1 / 4, 3 / 4, 0],
    [0, 2 / 3, 1 / 3],
    [3 / 7, 4 / 7, 0],
    [1 / 3, 2 / 3, 0],
    [1, 0, 0],
  ];
  assertRows(targetsOf("mle", { kind: "dirichlet", alpha: 1 }), expected);
  // A query configuration that no row has: C | A=0, B=0 with that row removed -> marginal of C.
  const ctx = rows([
    [0, 1, 2],
    [1, 1, 1],
    [1, 0, 0],
  ]);
  const out = new Float32Array(3 * O);
  writeTargets(
    "mle",
    { structure: NET, context: ctx, queryRows: rows([[0, 0, 0]]), targets: TARGETS },
    { kind: "dirichlet", alpha: 1 },
    O,
    out,
    0,
  );
  assertRows([Array.from(out.subarray(6, 9))], [[1 / 3, 1 / 3, 1 / 3]]);
});

test("posterior-mean targets equal brute-force posterior means (Dirichlet, and Beta for binary)", () => {
  const a = 0.5;
  const post = (counts: number[]) => {
    const n = counts.reduce((x, y) => x + y, 0);
    return counts.map((c) => (c + a) / (n + counts.length * a));
  };
  const expected = [
    [...post([3, 4]), 0],
    [...post([1, 3]), 0],
    post([0, 2, 1]),
    [...post([3, 4]), 0],
    [...post([1, 2]), 0],
    post([1, 0, 0]),
  ];
  assertRows(targetsOf("posterior-mean", { kind: "dirichlet", alpha: a }), expected);
});

test("posterior-mean targets under U(a, b) equal a brute-force integral of the posterior", () => {
  const binary: Structure = {
    name: "ab",
    variables: NET.variables.slice(0, 2),
    parents: [[], [0]],
  };
  const ctx: Dataset = {
    vars: 2,
    rows: 6,
    data: Uint8Array.from([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1]),
  };
  const q: Dataset = { vars: 2, rows: 1, data: Uint8Array.from([1, 0]) };
  const prior: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };
  const out = new Float32Array(2 * 2);
  writeTargets(
    "posterior-mean",
    { structure: binary, context: ctx, queryRows: q, targets: [0, 1] },
    prior,
    2,
    out,
    0,
  );
  // Midpoint rule with 200k cells on [0.1, 0.9]: independent of the library's quadrature.
  const mean = (k: number, n: number) => {
    let z = 0;
    let m = 0;
    const cells = 200_000;
    for (let i = 0; i < cells; i++) {
      const p = 0.1 + (0.8 * (i + 0.5)) / cells;
      const w = p ** k * (1 - p) ** (n - k);
      z += w;
      m += w * p;
    }
    return m / z;
  };
  // A: 4 ones in 6 rows. B | A=1: rows with A=1 have B = 1, 0, 1, 1.
  const [pa, pb] = [mean(4, 6), mean(3, 4)];
  assertRows(
    [Array.from(out.subarray(0, 2)), Array.from(out.subarray(2, 4))],
    [
      [1 - pa, pa],
      [1 - pb, pb],
    ],
  );
});

test("targets land at the requested row offset and leave other rows alone", () => {
  const out = new Float32Array(10 * O).fill(-1);
  writeTargets(
    "prediction",
    { structure: NET, context: CONTEXT, queryRows: QUERIES, targets: [2] },
    { kind: "dirichlet", alpha: 1 },
    O,
    out,
    4,
  );
  assert.deepEqual(Array.from(out.subarray(12, 18)), [1, 0, 0, 0, 1, 0]);
  assert.ok(out.subarray(0, 12).every((x) => x === -1) && out.subarray(18).every((x) => x === -1));
});

test("the valid mask marks each target's own states and is null when all have O states", () => {
  assert.equal(validMask([3, 3], [0, 1], 2, 3), null);
  assert.deepEqual(
    Array.from(validMask([2, 2, 3], [0, 2], 2, 3)!),
    [1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1],
  );
});

test("every target has a loss; an unknown target is refused by name", () => {
  assert.deepEqual(TARGET_KINDS.map(defaultLossFor), ["cross-entropy", "l1", "cross-entropy"]);
  assert.throws(
    () => checkTargetKind("mse"),
    /unknown training target "mse"; expected one of prediction, mle, posterior-mean/,
  );
});
