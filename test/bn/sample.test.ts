import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Network, Structure } from "../../src/bn/network.ts";
import { topologicalOrder, validateNetwork } from "../../src/bn/network.ts";
import { parentConfigCount, parentConfigIndex } from "../../src/bn/cpt.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { createRng, sampleCategorical } from "../../src/bn/rng.ts";
import type { Rng } from "../../src/bn/rng.ts";
import { paperGraph, sachsGraph } from "../../src/bn/families.ts";
import { loadNetwork } from "../../src/bn/network-file.ts";
import { networkFromBatch, sampleCptBatch } from "../../src/bn/priors.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import { batchRows, sampleBatch, sampleRows } from "../../src/bn/sample.ts";

const yn = ["yes", "no"];
const v = (name: string, states = yn) => ({ name, states });

// The asia network (Lauritzen & Spiegelhalter 1988) written inline; "either" is a
// deterministic OR, so it has rows with probability 0 and 1.
const ASIA: Network = validateNetwork({
  name: "asia",
  variables: ["asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp"].map((n) => v(n)),
  parents: [[], [0], [], [2], [2], [1, 3], [5], [4, 5]],
  cpts: [
    [0.01, 0.99],
    [0.05, 0.95, 0.01, 0.99],
    [0.5, 0.5],
    [0.1, 0.9, 0.01, 0.99],
    [0.6, 0.4, 0.3, 0.7],
    [1, 0, 1, 0, 1, 0, 0, 1],
    [0.98, 0.02, 0.05, 0.95],
    [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.1, 0.9],
  ].map((t) => Float64Array.from(t)),
});

// Variables listed children first (not topological), 3 states, a zero in the middle of a row.
const MIXED: Network = validateNetwork({
  name: "mixed",
  variables: [
    v("harvest", ["poor", "fair", "good"]),
    v("weather", ["sun", "cloud", "rain"]),
    v("frost"),
  ],
  parents: [[1, 2], [], [1]],
  cpts: [
    [0.1, 0.3, 0.6, 0.5, 0.5, 0, 0.2, 0.2, 0.6, 0.7, 0.3, 0, 0.3, 0, 0.7, 0.9, 0.1, 0],
    [0.5, 0.3, 0.2],
    [0.2, 0.8, 0.4, 0.6, 0, 1],
  ].map((t) => Float64Array.from(t)),
});

/** z-score of every (variable, parent config, state) cell seen at least `minCount` times. */
function conditionalZScores(net: Network, d: Dataset, minCount: number): number[] {
  const zs: number[] = [];
  net.variables.forEach((variable, t) => {
    const k = variable.states.length;
    const configs = parentConfigCount(net, t);
    const counts = new Float64Array(configs * k);
    for (let r = 0; r < d.rows; r++) {
      const row = d.data.subarray(r * d.vars, (r + 1) * d.vars);
      counts[parentConfigIndex(net, t, row) * k + row[t]!]!++;
    }
    for (let c = 0; c < configs; c++) {
      let n = 0;
      for (let x = 0; x < k; x++) n += counts[c * k + x]!;
      if (n < minCount) continue;
      for (let x = 0; x < k; x++) {
        const p = net.cpts[t]![c * k + x]!;
        const f = counts[c * k + x]! / n;
        if (p === 0 || p === 1)
          assert.equal(f, p, `${variable.name} config ${c} state ${x} is certain`);
        else zs.push((f - p) / Math.sqrt((p * (1 - p)) / n));
      }
    }
  });
  return zs;
}

// Each frequency is within 5 standard errors of its probability: with ~40 cells per test a
// correct sampler fails with probability ~2e-5 (and seeds are fixed, so outcomes are fixed).
const MAX_Z = 5;
// A config must be seen 100 times before its frequencies are tested: the normal
// approximation behind MAX_Z is poor for fewer.
const MIN_COUNT = 100;

test("empirical conditional frequencies match the CPTs (asia, 200,000 rows)", () => {
  const d = sampleRows(createRng(1), ASIA, 200_000);
  assert.equal(d.vars, 8);
  assert.equal(d.rows, 200_000);
  const zs = conditionalZScores(ASIA, d, MIN_COUNT);
  // Every uncertain cell: 2 + 4 + 2 + 4 + 4 + 4 + 8 (either is certain, checked exactly).
  assert.equal(zs.length, 28);
  for (const z of zs) assert.ok(Math.abs(z) < MAX_Z, `z = ${z}`);
});

test("variables listed out of topological order, 3 states and zero entries sample correctly", () => {
  const d = sampleRows(createRng(2), MIXED, 100_000);
  const zs = conditionalZScores(MIXED, d, MIN_COUNT);
  // 21 uncertain cells, less harvest's 2 at (rain, frost yes), a config that never occurs.
  assert.equal(zs.length, 19);
  for (const z of zs) assert.ok(Math.abs(z) < MAX_Z, `z = ${z}`);
});

test("a 10-state variable with zeros samples its CPT", () => {
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  const p = [0.05, 0, 0.2, 0.1, 0, 0.15, 0.1, 0.3, 0.1, 0];
  const net = validateNetwork({
    name: "wide",
    variables: [v("parity", ["even", "odd"]), v("digit", digits)],
    parents: [[], [0]],
    cpts: [Float64Array.from([0.3, 0.7]), Float64Array.from([...p, ...[...p].reverse()])],
  });
  const zs = conditionalZScores(net, sampleRows(createRng(12), net, 50_000), MIN_COUNT);
  // 2 parity cells + 2 configs x 7 positive digits (zeros are checked exactly).
  assert.equal(zs.length, 16);
  for (const z of zs) assert.ok(Math.abs(z) < MAX_Z, `z = ${z}`);
});

/** Plain ancestral sampling with sampleCategorical: the definition the sampler must meet. */
function naiveRows(rng: Rng, net: Network, n: number): Uint8Array {
  const order = topologicalOrder(net);
  const out = new Uint8Array(n * net.variables.length);
  for (let r = 0; r < n; r++) {
    const row = out.subarray(r * net.variables.length, (r + 1) * net.variables.length);
    for (const t of order) {
      const k = net.variables[t]!.states.length;
      row[t] = sampleCategorical(rng, net.cpts[t]!, parentConfigIndex(net, t, row) * k, k);
    }
  }
  return out;
}

test("one uniform per cell in topological order: binary rows equal sampleCategorical's", () => {
  const a = createRng(3);
  const b = createRng(3);
  assert.deepEqual(sampleRows(a, ASIA, 5000).data, naiveRows(b, ASIA, 5000));
  assert.equal(a.next(), b.next(), "both consumed exactly rows x variables uniforms");
  const c = createRng(4);
  sampleRows(c, MIXED, 1000);
  const fresh = createRng(4);
  for (let i = 0; i < 3000; i++) fresh.next();
  assert.equal(c.next(), fresh.next());
});

test("small calls (interpreted loop) give the first rows of large calls (compiled loop)", () => {
  const wide = validateNetwork({
    name: "wide",
    variables: [
      v(
        "a",
        Array.from({ length: 12 }, (_, i) => `s${i}`),
      ),
      v("b"),
    ],
    parents: [[], [0]],
    cpts: [new Float64Array(12).fill(1 / 12), new Float64Array(24).fill(0.5)],
  });
  for (const net of [ASIA, MIXED, wide]) {
    const big = sampleRows(createRng(11), net, 30_000); // >= KERNEL_MIN_CELLS: compiled
    const small = sampleRows(createRng(11), net, 300); // < KERNEL_MIN_CELLS: interpreted
    assert.deepEqual(small.data, big.data.subarray(0, small.data.length), net.name);
  }
});

// KERNEL_MIN_CELLS in sample.ts is 20,000: calls below it are interpreted, above it compiled.
test("a compiled call gives the rows of consecutive interpreted calls", () => {
  const hailfinder = loadNetwork("data/bif/hailfinder.bif");
  // Past one kernel chunk (4096 rows), and not a multiple of the rows per loop step (4 or 2).
  const cases: [Network, number, number][] = [
    [ASIA, 4096 * 2 + 7, 100],
    [MIXED, 4096 * 2 + 7, 100],
    [hailfinder, 4096 + 3, 300], // 56 variables: 2 rows per loop step; 300 x 56 < 20,000
  ];
  for (const [net, rows, part] of cases) {
    const a = createRng(13);
    const b = createRng(13);
    const whole = sampleRows(a, net, rows).data;
    const parts = new Uint8Array(whole.length);
    for (let r = 0; r < rows; r += part) {
      const d = sampleRows(b, net, Math.min(part, rows - r));
      parts.set(d.data, r * d.vars);
    }
    assert.deepEqual(whole, parts, net.name);
    assert.equal(a.nextUint32(), b.nextUint32(), `${net.name}: same number of draws`);
  }
});

/** A generator whose next draw is the uint32 `x`: sfc32 outputs a + b + d, here with b = d = 0. */
function drawingFirst(x: number): Rng {
  const rng = createRng(0);
  rng.loadState(Int32Array.of(x | 0, 0, 0, 0));
  return rng;
}

// [P(0..k), first draw x, state u = x / 2^32 must give]: draws on either side of a boundary,
// thresholds within 2^-32 of 0 and 1 (rounded up to 1 and to "never"), zero-probability states.
const X = 123456789;
const BOUNDARIES: [number[], number, number][] = [
  [[X / 2 ** 32, 1 - X / 2 ** 32], X - 1, 0],
  [[X / 2 ** 32, 1 - X / 2 ** 32], X, 1],
  [[1 - 2 ** -40, 2 ** -40], 2 ** 32 - 1, 0],
  [[2 ** -40, 1 - 2 ** -40], 0, 0],
  [[2 ** -40, 1 - 2 ** -40], 1, 1],
  [[0, 1], 0, 1],
  [[1, 0], 2 ** 32 - 1, 0],
  [[0.25, 0, 0.75], 2 ** 30 - 1, 0],
  [[0.25, 0, 0.75], 2 ** 30, 2],
  [[0.5, 0.5, 0], 2 ** 32 - 1, 1],
];

test("draws at and next to a threshold pick the state u = x / 2^32 gives, on both paths", () => {
  for (const [p, x, want] of BOUNDARIES) {
    const states = p.map((_, i) => `s${i}`);
    const net = validateNetwork({
      name: "edge",
      variables: [v("only", states)],
      parents: [[]],
      cpts: [Float64Array.from(p)],
    });
    const label = `p = ${p.join(", ")}; x = ${x}`;
    assert.equal(sampleCategorical(drawingFirst(x), p), want, `${label}: sampleCategorical`);
    assert.equal(sampleRows(drawingFirst(x), net, 1).data[0], want, `${label}: interpreted`);
    assert.equal(sampleRows(drawingFirst(x), net, 20_000).data[0], want, `${label}: compiled`);
  }
});

test("the same seed gives the same rows; another seed other rows", () => {
  assert.deepEqual(sampleRows(createRng(5), MIXED, 500), sampleRows(createRng(5), MIXED, 500));
  assert.notDeepEqual(sampleRows(createRng(5), MIXED, 500), sampleRows(createRng(6), MIXED, 500));
  assert.deepEqual(sampleRows(createRng(5), MIXED, 0), {
    vars: 3,
    rows: 0,
    data: new Uint8Array(0),
  });
});

const SACHS = sachsGraph(readFileSync("data/sachs/GroundTruth.csv", "utf8"));
const U01_09: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };
const BATCH_CASES: [string, Structure, CptPrior][] = [
  ["general5, U(0.1, 0.9)", paperGraph("general5"), U01_09],
  ["Sachs, Dirichlet(1)", SACHS, { kind: "dirichlet", alpha: 1 }],
];

test("batch set s equals sampleRows(rng.fork(s), set s) whatever the number of sets", () => {
  for (const [label, s, prior] of BATCH_CASES) {
    const cpts = sampleCptBatch(createRng(7), s, prior, 6);
    const rng = createRng(8);
    const batch = sampleBatch(rng, s, cpts, 40);
    assert.deepEqual(batch.shape, [6, 40, s.variables.length]);
    const fewer = sampleBatch(
      rng,
      s,
      { sets: 2, cpts: cpts.cpts.map((c) => c.subarray(0, c.length / 3)) },
      40,
    );
    for (let set = 0; set < 6; set++) {
      const alone = sampleRows(rng.fork(set), networkFromBatch(s, cpts, set), 40);
      assert.deepEqual(batchRows(batch, set), alone, `${label} set ${set}`);
      if (set < 2) assert.deepEqual(batchRows(fewer, set), alone, `${label} set ${set} of 2`);
    }
  }
});

// Pooled over all sets, the z-scores of a correct sampler are ~N(0, 1): mean z^2 near 1
// (sd ~ sqrt(2 / count) <= 0.03 here; tolerance 0.15 is 5 of those) and no |z| >= 6
// (probability ~2e-9 per cell).
test("batched rows match each set's own CPTs (z-scores pooled over 200 sets)", () => {
  for (const [label, s, prior] of BATCH_CASES) {
    const cpts = sampleCptBatch(createRng(9), s, prior, 200);
    const batch = sampleBatch(createRng(10), s, cpts, 1000);
    const zs: number[] = [];
    for (let set = 0; set < 200; set++) {
      zs.push(
        ...conditionalZScores(networkFromBatch(s, cpts, set), batchRows(batch, set), MIN_COUNT),
      );
    }
    assert.ok(zs.length >= 2000, `${label}: only ${zs.length} cells tested`);
    const meanSq = zs.reduce((a, z) => a + z * z, 0) / zs.length;
    assert.ok(Math.abs(meanSq - 1) < 0.15, `${label}: mean z^2 = ${meanSq}`);
    for (const z of zs) assert.ok(Math.abs(z) < 6, `${label}: z = ${z}`);
  }
});

test("bad CPT sizes and counts are rejected with the variable named", () => {
  const broken = { ...ASIA, cpts: ASIA.cpts.map((c, i) => (i === 3 ? c.subarray(0, 2) : c)) };
  assert.throws(
    () => sampleRows(createRng(0), broken, 10),
    /cpt > lung: CPT has 2 entries; expected 4/,
  );
  assert.throws(
    () => sampleRows(createRng(0), ASIA, -1),
    /number of rows must be an integer >= 0, got -1/,
  );
  const g = paperGraph("chain5");
  const cpts = sampleCptBatch(createRng(0), g, { kind: "beta", alpha: 1 }, 3);
  assert.throws(
    () => sampleBatch(createRng(0), g, { sets: 4, cpts: cpts.cpts }, 5),
    /expected 8 \(4 set\(s\) x 2\)/,
  );
  assert.throws(() => batchRows(sampleBatch(createRng(0), g, cpts, 5), 3), /set 3 is out of range/);
});

// Golden digests of the sampled rows: the first 16 hex digits of sha256(data), and for
// sampleRows the rng's next uint32 afterwards (so the number of draws is pinned too).
// Provenance: printed by the implementation of commit 4967bc0 (uniforms from rng.next(),
// float thresholds), before the sampler was rewritten for speed; the stream must not change.
// The networks are bnlearn's (data/bif): deterministic rows (asia), up to 11 states
// (hailfinder: the looped threshold count), rows summing to 1 +- 1e-7; small row counts take
// the interpreted path, large ones the compiled kernel.
const GOLDEN_ROWS: [string, number, string, number][] = [
  ["asia", 30000, "a768bc64589b1bac", 2065816180],
  ["asia", 300, "429c20fe6507137f", 3774600718],
  ["hailfinder", 5000, "775d50eba3acecdd", 2959268138],
  ["hailfinder", 100, "29088abdff67fa7c", 1958131824],
  ["alarm", 2000, "8282b682576fe65b", 3419811191],
  ["water", 1000, "19f8cae609e3fec9", 133959793],
];
const digest = (d: Uint8Array) => createHash("sha256").update(d).digest("hex").slice(0, 16);

test("sampleRows gives the pinned rows and consumes the pinned draws (golden digests)", () => {
  for (const [name, n, hash, next] of GOLDEN_ROWS) {
    const net = loadNetwork(`data/bif/${name}.bif`);
    const rng = createRng(n + name.length);
    assert.equal(digest(sampleRows(rng, net, n).data), hash, `${name} x ${n}`);
    assert.equal(rng.nextUint32(), next, `${name} x ${n}: draws consumed`);
  }
});

// Same provenance; CPT sets from sampleCptBatch(createRng(sets), ...), rows from createRng(rows).
// Dirichlet(0.05) rows put nearly all mass on one state (entries down to ~1e-30 or 0).
const GOLDEN_BATCHES: [string, Structure, CptPrior, number, number, string][] = [
  ["general7", paperGraph("general7"), U01_09, 50, 400, "6211ea44a30e71ac"],
  ["general7", paperGraph("general7"), U01_09, 3, 20, "c325e667ed3a30b9"],
  ["Sachs", SACHS, { kind: "dirichlet", alpha: 1 }, 50, 400, "13b961dca4770966"],
  ["Sachs", SACHS, { kind: "dirichlet", alpha: 0.05 }, 50, 400, "1452a51b7b8eaa05"],
];

test("sampleBatch gives the pinned rows (golden digests)", () => {
  for (const [label, s, prior, sets, rows, hash] of GOLDEN_BATCHES) {
    const cpts = sampleCptBatch(createRng(sets), s, prior, sets);
    const batch = sampleBatch(createRng(rows), s, cpts, rows);
    assert.equal(digest(batch.data), hash, `${label} ${JSON.stringify(prior)} ${sets} x ${rows}`);
  }
});
