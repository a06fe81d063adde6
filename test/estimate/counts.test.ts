import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import { parentConfigIndex } from "../../src/bn/cpt.ts";
import {
  familyCounts,
  marginalCounts,
  queryCounts,
  total,
  MAX_COUNT_TABLE_ENTRIES,
} from "../../src/estimate/counts.ts";
import { randomNetwork, randomStructure, rowsOf, sampleData, withMissing } from "./fixtures.ts";

const abc = {
  name: "abc",
  variables: [
    { name: "A", states: ["a0", "a1", "a2"] },
    { name: "B", states: ["b0", "b1"] },
    { name: "C", states: ["c0", "c1"] },
  ],
  parents: [[], [], [0, 1]],
};

test("family counts use the CPT layout: the last parent varies fastest", () => {
  const d = rowsOf([
    [2, 1, 0], // config 2*2+1 = 5
    [2, 1, 1],
    [0, 1, 1], // config 1
    [1, 0, 0], // config 2
  ]);
  const c = familyCounts(abc, d, 2);
  const expected = new Float64Array(12);
  expected[5 * 2 + 0] = 1;
  expected[5 * 2 + 1] = 1;
  expected[1 * 2 + 1] = 1;
  expected[2 * 2 + 0] = 1;
  assert.deepEqual(c, expected);
});

test("a row is dropped only from the families where it has a missing value", () => {
  const d = rowsOf([
    [0, null, 1], // B missing: out of C's family and B's, still counts for A
    [0, 1, null], // C missing: out of C's family only
    [1, 0, 0],
  ]);
  assert.deepEqual(Array.from(marginalCounts(abc, d, 0)), [2, 1, 0]);
  assert.deepEqual(Array.from(marginalCounts(abc, d, 1)), [1, 1]);
  assert.equal(total(familyCounts(abc, d, 2)), 1);
  assert.deepEqual(Array.from(queryCounts(abc, d, 2, [0], [0, 0, 0])), [0, 1]);
});

test("counts over complete data sum to the number of rows (seeded property)", () => {
  for (let seed = 0; seed < 20; seed++) {
    const rng = createRng(seed);
    const s = randomStructure(rng, 5, { shuffle: true });
    const d = sampleData(rng, randomNetwork(rng, s), 30 + seed);
    for (let v = 0; v < 5; v++) {
      assert.equal(total(familyCounts(s, d, v)), d.rows, `seed ${seed} var ${v}`);
    }
  }
});

test("query counts equal the family-count row of the query's configuration", () => {
  for (let seed = 0; seed < 20; seed++) {
    const rng = createRng(100 + seed);
    const s = randomStructure(rng, 5, { maxParents: 3 });
    const d = withMissing(rng, sampleData(rng, randomNetwork(rng, s), 40), 0.1);
    const q = Array.from(s.variables, (x) => rng.nextInt(x.states.length));
    for (let v = 0; v < 5; v++) {
      const k = s.variables[v]!.states.length;
      const cfg = parentConfigIndex(s, v, q);
      const row = familyCounts(s, d, v).subarray(cfg * k, (cfg + 1) * k);
      assert.deepEqual(
        queryCounts(s, d, v, s.parents[v]!, q),
        Float64Array.from(row),
        `seed ${seed}`,
      );
    }
  }
});

test("an out-of-range cell is a data error naming the row and variable", () => {
  const d = rowsOf([
    [0, 0, 0],
    [0, 1, 5],
  ]);
  assert.throws(
    () => familyCounts(abc, d, 2),
    /data > row 1 > C: cell holds state index 5; "C" has 2 states \(0..1\) or MISSING \(255\)/,
  );
});

test("a dataset with the wrong number of columns is rejected", () => {
  assert.throws(() => familyCounts(abc, rowsOf([[0, 0]]), 0), /2 columns; the network "abc" has 3/);
});

test("a count table larger than the limit is refused with its size", () => {
  const wide = {
    name: "wide",
    variables: Array.from({ length: 28 }, (_, i) => ({ name: `V${i}`, states: ["0", "1"] })),
    parents: Array.from({ length: 28 }, () => [] as number[]),
  };
  const prefix = Array.from({ length: 27 }, (_, i) => i);
  assert.ok(2 ** 28 > MAX_COUNT_TABLE_ENTRIES);
  assert.throws(
    () => familyCounts(wide, rowsOf([new Array(28).fill(0)]), 27, prefix),
    /134217728 configurations x 2 states/,
  );
});
