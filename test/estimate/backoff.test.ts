import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { createRng } from "../../src/bn/rng.ts";
import { backoffIsMle, backoffSupport, estimateBackoff } from "../../src/estimate/backoff.ts";
import { estimateConditional } from "../../src/estimate/estimators.ts";
import { ancestralRows, randomNetwork, withMissing } from "../model/construction-fixtures.ts";

const v = (name: string, k = 2) => ({ name, states: Array.from({ length: k }, (_, i) => `s${i}`) });
const ds = (rows: number[][]): Dataset => ({
  vars: rows[0]!.length,
  rows: rows.length,
  data: Uint8Array.from(rows.flat()),
});

/** A, B -> C; C has 3 states. */
const abc: Structure = {
  name: "abc",
  variables: [v("A"), v("B"), v("C", 3)],
  parents: [[], [], [0, 1]],
};
const _ = MISSING;

test("a seen configuration gives the MLE: counts over the rows matching every parent", () => {
  const context = ds([
    [0, 1, 2],
    [0, 1, 2],
    [0, 1, 0],
    [1, 1, 1],
    [0, 0, 1],
  ]);
  const s = backoffSupport(abc, context, 2, [0, 1, _]);
  assert.deepEqual(Array.from(s.distribution), [1 / 3, 0, 2 / 3]);
  assert.equal(s.bestMatch, 2);
  assert.deepEqual(Array.from(s.rows), [0, 1, 2]);
  assert.ok(backoffIsMle(s, 2));
});

test("an unseen configuration backs off to the rows matching the most parents", () => {
  const context = ds([
    [0, 0, 0], // matches A only
    [1, 1, 1], // matches B only
    [1, 0, 2], // matches nothing
    [0, 0, 1], // matches A only
  ]);
  const s = backoffSupport(abc, context, 2, [0, 1, _]);
  assert.equal(s.bestMatch, 1);
  assert.deepEqual(Array.from(s.rows), [0, 1, 3]);
  assert.deepEqual(Array.from(s.distribution), [1 / 3, 2 / 3, 0]);
  assert.ok(!backoffIsMle(s, 2));
});

test("MISSING: rows without the target are skipped, MISSING parents match nothing, none usable is uniform", () => {
  const context = ds([
    [0, 1, _], // target missing: not usable
    [0, _, 1], // matches A; B missing
    [1, 1, 0], // matches B
    [0, 1, 2], // matches both
  ]);
  assert.deepEqual(Array.from(estimateBackoff(abc, context, 2, [0, 1, _])), [0, 0, 1]);
  // A query with B missing: only A can match; rows 1 and 3 match A.
  const s = backoffSupport(abc, context, 2, [0, _, _]);
  assert.equal(s.observedParents, 1);
  assert.deepEqual(Array.from(s.rows), [1, 3]);
  assert.deepEqual(Array.from(s.distribution), [0, 0.5, 0.5]);
  assert.ok(!backoffIsMle(s, 2));
  // No usable row at all, and an empty context: uniform.
  assert.deepEqual(Array.from(estimateBackoff(abc, ds([[0, 1, _]]), 2, [0, 1, _])), [
    1 / 3,
    1 / 3,
    1 / 3,
  ]);
  assert.deepEqual(
    Array.from(estimateBackoff(abc, { vars: 3, rows: 0, data: new Uint8Array(0) }, 0, [_, _, _])),
    [0.5, 0.5],
  );
});

test("a root's estimate is its context marginal", () => {
  const context = ds([
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [_, 1, 0],
  ]);
  assert.deepEqual(Array.from(estimateBackoff(abc, context, 0, [_, _, _])), [1 / 3, 2 / 3]);
});

test("bad inputs are rejected with their location", () => {
  const context = ds([[0, 1, 2]]);
  assert.throws(
    () => estimateBackoff(abc, context, 2, [0, 2, _]),
    /query > B: query value 2 of parent "B" is not a state index \(0..1\) or MISSING/,
  );
  assert.throws(() => estimateBackoff(abc, context, 3, [0, 1, _]), /target 3 is out of range/);
  assert.throws(
    () => estimateBackoff(abc, ds([[0, 1, 5]]), 2, [0, 1, _]),
    /data > row 0 > C: cell holds state index 5/,
  );
});

/**
 * Brute force by subsets: for k = |observed query parents| down to 0, the usable rows that
 * agree with the query on ALL of some k-subset of the parents; the first k with any row
 * gives the support. (The estimator counts matches per row instead.)
 */
function bruteForce(s: Structure, d: Dataset, target: number, q: ArrayLike<number>): Float64Array {
  const ps = s.parents[target]!.filter((p) => q[p] !== MISSING);
  const k = s.variables[target]!.states.length;
  for (let size = ps.length; size >= 0; size--) {
    const rows = new Set<number>();
    for (let mask = 0; mask < 1 << ps.length; mask++) {
      const subset = ps.filter((_, i) => (mask >> i) & 1);
      if (subset.length !== size) continue;
      for (let r = 0; r < d.rows; r++) {
        const row = d.data.subarray(r * d.vars, (r + 1) * d.vars);
        if (row[target] !== MISSING && subset.every((p) => row[p] === q[p])) rows.add(r);
      }
    }
    if (rows.size > 0) {
      const out = new Float64Array(k);
      for (const r of rows) out[d.data[r * d.vars + target]!]! += 1 / rows.size;
      return out;
    }
  }
  return new Float64Array(k).fill(1 / k);
}

/** Sums of 1/n in different orders differ by a few ulps. */
const SUM_ORDER = 1e-12;

test("equals a brute-force subset count on random networks with missing cells", () => {
  const rng = createRng(99);
  let checked = 0;
  for (let trial = 0; trial < 30; trial++) {
    const net = randomNetwork(rng, 6, 3, 3);
    const n = [0, 1, 3, 10, 40][trial % 5]!;
    const context = withMissing(rng, ancestralRows(rng, net, n), 0.15);
    const queries = withMissing(rng, ancestralRows(rng, net, 4), 0.1);
    for (let qi = 0; qi < 4; qi++) {
      const q = queries.data.subarray(qi * 6, (qi + 1) * 6);
      for (let t = 0; t < 6; t++) {
        const got = estimateBackoff(net, context, t, q);
        const want = bruteForce(net, context, t, q);
        got.forEach((x, i) =>
          assert.ok(
            Math.abs(x - want[i]!) <= SUM_ORDER,
            `trial ${trial} target ${t}: ${got} vs ${want}`,
          ),
        );
        checked++;
      }
    }
  }
  assert.equal(checked, 720);
});

test("equals the in-context MLE (estimateConditional) whenever some row matches every parent", () => {
  const rng = createRng(100);
  let mleCases = 0;
  for (let trial = 0; trial < 20; trial++) {
    const net = randomNetwork(rng, 5, 2, 3);
    const context = ancestralRows(rng, net, 30);
    const queries = ancestralRows(rng, net, 5);
    for (let qi = 0; qi < 5; qi++) {
      const q = queries.data.subarray(qi * 5, (qi + 1) * 5);
      for (let t = 0; t < 5; t++) {
        const s = backoffSupport(net, context, t, q);
        if (!backoffIsMle(s, net.parents[t]!.length)) continue;
        const mle = estimateConditional(net, context, t, q, { estimator: "mle" });
        s.distribution.forEach((x, i) => assert.ok(Math.abs(x - mle[i]!) <= SUM_ORDER));
        mleCases++;
      }
    }
  }
  assert.ok(mleCases > 300, `only ${mleCases} seen configurations`);
});
