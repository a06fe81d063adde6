import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import type { Structure } from "../../src/bn/network.ts";
import { sliceRows, MISSING } from "../../src/bn/dataset.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import {
  batchCounts,
  batchEstimate,
  batchInContextMle,
  batchPosteriorMean,
} from "../../src/estimate/batch.ts";
import type { BatchInput } from "../../src/estimate/batch.ts";
import {
  compiledCounter,
  interpretedCounter,
  makeCountPlan,
} from "../../src/estimate/batch-kernel.ts";
import type { CountsOut, EpisodeCounter } from "../../src/estimate/batch-kernel.ts";
import { estimateConditional } from "../../src/estimate/estimators.ts";
import type { EstimatorOptions } from "../../src/estimate/options.ts";
import { conditioningSet, naiveConditioning } from "../../src/estimate/options.ts";
import { queryCounts, total } from "../../src/estimate/counts.ts";
import { posteriorMean } from "../../src/estimate/posterior.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import type { Rng } from "../../src/bn/rng.ts";
import { parentConfigCount } from "../../src/bn/cpt.ts";
import { randomNetwork, randomStructure, sampleData, withMissing } from "./fixtures.ts";

/** Batched and per-episode estimates use the same formula; allow rounding only. */
const ROUNDING = 1e-12;

/** S episodes of N rows from one random network (missing cells in contexts, none in queries). */
function makeBatch(
  seed: number,
  s: Structure,
  episodes: number,
  rows: number,
  lengths: number[],
): BatchInput {
  const rng = createRng(seed);
  const m = s.variables.length;
  const contexts = new Uint8Array(episodes * rows * m);
  const queries = new Uint8Array(episodes * m);
  for (let e = 0; e < episodes; e++) {
    const net = randomNetwork(rng, s, 0.5);
    contexts.set(withMissing(rng, sampleData(rng, net, rows), 0.03).data, e * rows * m);
    queries.set(sampleData(rng, net, 1).data, e * m);
  }
  return { structure: s, contexts, queries, episodes, rows, lengths };
}

function episodeContext(b: BatchInput, e: number, len: number): Dataset {
  const m = b.structure.variables.length;
  const all = {
    vars: m,
    rows: b.rows,
    data: b.contexts.subarray(e * b.rows * m, (e + 1) * b.rows * m),
  };
  return sliceRows(all, 0, len);
}

const OPTIONS: EstimatorOptions[] = [
  { estimator: "mle" },
  { estimator: "mle", unseen: "uniform" },
  { estimator: "naive" },
  { estimator: "marginal" },
  { estimator: "dirichlet", alpha: 0.3 },
  { estimator: "bdeu", ess: 2 },
  { estimator: "k2" },
];

function checkAgainstSingle(b: BatchInput, opts: EstimatorOptions[]): void {
  const counts = batchCounts(b, { naive: true });
  const m = b.structure.variables.length;
  const nl = b.lengths.length;
  for (const o of opts) {
    const est = batchEstimate(counts, o);
    const kTot = est.stateOffsets[m]!;
    for (let e = 0; e < b.episodes; e++) {
      const q = b.queries.subarray(e * m, (e + 1) * m);
      b.lengths.forEach((len, l) => {
        const ctx = episodeContext(b, e, len);
        for (let v = 0; v < m; v++) {
          const want = estimateConditional(b.structure, ctx, v, q, o);
          const at = (e * nl + l) * kTot + est.stateOffsets[v]!;
          const got = est.probs.subarray(at, at + want.length);
          for (let j = 0; j < want.length; j++) {
            assert.ok(
              Math.abs(got[j]! - want[j]!) < ROUNDING,
              `${JSON.stringify(o)} e${e} len${len} v${v}`,
            );
          }
          const seen = total(
            queryCounts(b.structure, ctx, v, conditioningSet(b.structure, v, o.estimator), q),
          );
          assert.equal(est.unseen[(e * nl + l) * m + v], seen === 0 ? 1 : 0);
        }
      });
    }
  }
}

test("batched estimates equal estimateConditional on every episode, length and node", () => {
  const s = randomStructure(createRng(1), 6, { maxParents: 3, maxStates: 3, shuffle: true });
  checkAgainstSingle(makeBatch(2, s, 12, 40, [0, 1, 2, 5, 13, 40]), OPTIONS);
});

test("more than 32 variables (several mask words, bit 31) give the same estimates", () => {
  // a chain plus a long edge: X31 -> X32 crosses bit 31 and the word boundary
  const m = 40;
  const s: Structure = {
    name: "chain40",
    variables: Array.from({ length: m }, (_, i) => ({ name: `X${i}`, states: ["0", "1"] })),
    parents: Array.from({ length: m }, (_, i) => (i === 0 ? [] : i === 39 ? [0, 31, 38] : [i - 1])),
  };
  const b = makeBatch(4, s, 3, 30, [3, 10, 30]);
  checkAgainstSingle(b, [{ estimator: "mle" }, { estimator: "naive" }]);
});

test("MLE counts at each length sum to the matched rows and marginals to the prefix", () => {
  const s = randomStructure(createRng(5), 5, { shuffle: true });
  const b = makeBatch(6, s, 5, 50, [1, 7, 50]);
  const { counts } = batchInContextMle(b);
  const kTot = counts.stateOffsets[5]!;
  for (let e = 0; e < 5; e++) {
    b.lengths.forEach((len, l) => {
      for (let v = 0; v < 5; v++) {
        const at = (e * 3 + l) * kTot + counts.stateOffsets[v]!;
        const k = s.variables[v]!.states.length;
        const ctx = episodeContext(b, e, len);
        let observed = 0;
        for (let r = 0; r < len; r++) if (ctx.data[r * 5 + v] !== MISSING) observed++;
        assert.equal(total(counts.marginal, at, k), observed);
        assert.ok(total(counts.parents, at, k) <= observed);
      }
    });
  }
});

test("posterior means from batched counts equal posteriorMean of the matching counts", () => {
  const s = randomStructure(createRng(7), 5, { maxStates: 2 });
  const b = makeBatch(8, s, 6, 30, [0, 4, 30]);
  const counts = batchCounts(b);
  const priors: CptPrior[] = [
    { kind: "uniform", low: 0.1, high: 0.9 },
    { kind: "beta", alpha: 0.4 },
    { kind: "dirichlet", alpha: 1 },
  ];
  for (const prior of priors) {
    const est = batchPosteriorMean(counts, prior);
    const kTot = est.stateOffsets[5]!;
    for (let e = 0; e < 6; e++) {
      const q = b.queries.subarray(e * 5, (e + 1) * 5);
      b.lengths.forEach((len, l) => {
        for (let v = 0; v < 5; v++) {
          const want = posteriorMean(
            prior,
            queryCounts(s, episodeContext(b, e, len), v, s.parents[v]!, q),
          );
          const at = (e * 3 + l) * kTot + est.stateOffsets[v]!;
          for (let j = 0; j < 2; j++)
            assert.ok(Math.abs(est.probs[at + j]! - want[j]!) < ROUNDING, prior.kind);
        }
      });
    }
  }
});

test("policy 'error' throws from the batch at the first unseen configuration", () => {
  const s = randomStructure(createRng(9), 5, { maxParents: 2 });
  const counts = batchCounts(makeBatch(10, s, 2, 5, [0, 5]));
  assert.throws(
    () => batchEstimate(counts, { estimator: "mle", unseen: "error" }),
    /occurs in none of the 0 context rows|is observed in none of the 0 context rows/,
  );
  assert.throws(
    () => batchEstimate(counts, { estimator: "naive" }),
    /naive estimates need batchCounts\(\.\.\., \{ naive: true \}\)/,
  );
});

test("bad batch shapes, lengths and queries are rejected", () => {
  const s = randomStructure(createRng(11), 4, { maxParents: 1 });
  const b = makeBatch(12, s, 2, 10, [1, 10]);
  assert.throws(
    () => batchCounts({ ...b, lengths: [5, 5] }),
    /must increase strictly; 5 follows 5/,
  );
  assert.throws(
    () => batchCounts({ ...b, lengths: [11] }),
    /context length 11 is not an integer in 0..10/,
  );
  assert.throws(
    () => batchCounts({ ...b, rows: 9 }),
    /contexts hold 80 cells; \[S=2, N=9, M=4\] needs 72/,
  );
  const child = s.parents.findIndex((p) => p.length > 0);
  const parent = s.parents[child]![0]!;
  const queries = Uint8Array.from(b.queries);
  queries[4 + parent] = MISSING;
  assert.throws(
    () => batchCounts({ ...b, queries }),
    new RegExp(`query of episode 1: "X${parent}" is missing`),
  );
});

/**
 * Random cells that equal the query's with probability `pEq` (so long runs of agreement,
 * the naive prefix's multi-word case, occur), else a uniform state; then MISSING at `missing`.
 */
function randomCells(
  rng: Rng,
  s: Structure,
  episodes: number,
  rows: number,
  pEq: number,
  missing: number,
): { contexts: Uint8Array; queries: Uint8Array } {
  const cards = s.variables.map((v) => v.states.length);
  const m = cards.length;
  const queries = Uint8Array.from({ length: episodes * m }, (_, i) => rng.nextInt(cards[i % m]!));
  const contexts = new Uint8Array(episodes * rows * m);
  for (let i = 0; i < contexts.length; i++) {
    const v = i % m;
    const q = queries[Math.floor(i / (rows * m)) * m + v]!;
    contexts[i] = rng.next() < pEq ? q : rng.nextInt(cards[v]!);
    if (rng.next() < missing) contexts[i] = MISSING;
  }
  return { contexts, queries };
}

/** Every read of `counter` over the episodes at `lengths`, and the first bad cell (or -1). */
function runCounter(
  counter: EpisodeCounter,
  k: number,
  input: { contexts: Uint8Array; queries: Uint8Array },
  m: number,
  rows: number,
  lengths: number[],
): { out: CountsOut; bad: number } {
  const episodes = input.queries.length / m;
  const size = episodes * lengths.length * k;
  const out = {
    parents: new Int32Array(size),
    naive: new Int32Array(size),
    marginal: new Int32Array(size),
  };
  for (let e = 0; e < episodes; e++) {
    counter.start(input.queries, e * m);
    for (let l = 0; l < lengths.length; l++) {
      const from = (e * rows + (l > 0 ? lengths[l - 1]! : 0)) * m;
      const bad = counter.add(input.contexts, from, (e * rows + lengths[l]!) * m);
      if (bad >= 0) return { out, bad };
      counter.read(out, (e * lengths.length + l) * k);
    }
  }
  return { out, bad: -1 };
}

test("the compiled counter's counts equal the interpreted counter's on random cases", () => {
  // 1 variable (no naive prefix); several states (3 and 5 are not powers of two); a family
  // of over 32 parent configurations (read through a loop, not unrolled); 40 and 63 variables
  // (two mask words; 63 fills the second exactly)
  const cases = [
    { m: 1, maxStates: 4, maxParents: 3, pEq: 0.5 },
    { m: 7, maxStates: 5, maxParents: 3, pEq: 0.3 },
    { m: 8, maxStates: 4, maxParents: 4, pEq: 0.5 },
    { m: 12, maxStates: 2, maxParents: 3, pEq: 0.7 },
    { m: 40, maxStates: 3, maxParents: 3, pEq: 0.97 },
    { m: 63, maxStates: 2, maxParents: 3, pEq: 0.99 },
  ];
  for (const [i, c] of cases.entries()) {
    const seed = 100 + i;
    const rng = createRng(seed);
    const s = randomStructure(rng, c.m, { ...c, shuffle: true });
    if (c.maxParents === 4) {
      assert.ok(Math.max(...s.parents.map((_, v) => parentConfigCount(s, v))) > 32);
    }
    const rows = 60;
    const lengths = [0, 1, 2, 17, 60];
    for (const missing of [0, 0.02]) {
      const input = randomCells(rng, s, 6, rows, c.pEq, missing);
      for (const naive of [false, true]) {
        const plan = makeCountPlan(s, naive);
        const k = plan.offs[c.m]!;
        const want = runCounter(interpretedCounter(plan), k, input, c.m, rows, lengths);
        // the compiled loop reads words through a DataView: give it an unaligned view
        const shifted = new Uint8Array(input.contexts.length + 3).subarray(3);
        shifted.set(input.contexts);
        const got = runCounter(
          compiledCounter(plan),
          k,
          { ...input, contexts: shifted },
          c.m,
          rows,
          lengths,
        );
        const what = `seed ${seed}, M ${c.m}, missing ${missing}, naive ${naive}`;
        assert.equal(want.bad, -1, what);
        assert.deepEqual(got.out.parents, want.out.parents, `parents: ${what}`);
        assert.deepEqual(got.out.marginal, want.out.marginal, `marginal: ${what}`);
        if (naive) assert.deepEqual(got.out.naive, want.out.naive, `naive: ${what}`);
      }
    }
  }
});

test("both counters stop at the same bad cell, the first in topological order of its row", () => {
  const rng = createRng(120);
  const s = randomStructure(rng, 6, { maxParents: 2, maxStates: 3, shuffle: true });
  const input = randomCells(rng, s, 3, 20, 0.5, 0.05);
  const order = makeCountPlan(s, true).order;
  const row = 2 * 20 + 13; // episode 2, row 13
  const [late, early] = [order[4]!, order[1]!];
  input.contexts[row * 6 + late] = 7; // a state no variable has (at most 3 states)
  input.contexts[row * 6 + early] = 9;
  for (const counter of [interpretedCounter, compiledCounter]) {
    const plan = makeCountPlan(s, true);
    const { bad } = runCounter(counter(plan), plan.offs[6]!, input, 6, 20, [5, 20]);
    assert.equal(bad, row * 6 + early, counter.name);
  }
});

test("batchCounts on a batch large enough to compile equals queryCounts per episode", () => {
  const rng = createRng(130);
  const s = randomStructure(rng, 6, { maxParents: 3, maxStates: 4, shuffle: true });
  const [episodes, rows, lengths] = [60, 800, [0, 1, 7, 150, 800]]; // 288,000 cells
  const cells = randomCells(rng, s, episodes, rows, 0.4, 0.01);
  const b: BatchInput = { structure: s, ...cells, episodes, rows, lengths };
  const counts = batchCounts(b, { naive: true });
  const sets = (v: number) => ({
    parents: s.parents[v]!,
    naive: naiveConditioning(s, v),
    marginal: [],
  });
  for (const e of [0, 11, 59]) {
    const q = b.queries.subarray(e * 6, (e + 1) * 6);
    lengths.forEach((len, l) => {
      const ctx = episodeContext(b, e, len);
      for (let v = 0; v < 6; v++) {
        const at = (e * lengths.length + l) * counts.stateOffsets[6]! + counts.stateOffsets[v]!;
        for (const [name, set] of Object.entries(sets(v))) {
          const want = queryCounts(s, ctx, v, set, q);
          const got = counts[name as "parents" | "naive" | "marginal"]!;
          assert.deepEqual(
            [...got.subarray(at, at + want.length)],
            [...want],
            `${name} e${e} v${v}`,
          );
        }
      }
    });
  }
  const bad = Uint8Array.from(b.contexts);
  bad[(17 * rows + 321) * 6 + 2] = 200;
  assert.throws(
    () => batchCounts({ ...b, contexts: bad }),
    /data > row 13921 > X2: cell holds state index 200/,
  );
});
