// BMA over parent sets against a brute force that shares none of its code: every DAG
// consistent with the order is enumerated, its likelihood is computed by the chain rule
// (Dirichlet/beta) or by Simpson quadrature (uniform), and the predictive is averaged over
// DAGs. Plus the limits p = 0 (marginal), p = 1 (every earlier variable a parent), the
// missing-value policy, large counts, and the enumeration limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import { topologicalOrder } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import { createRng } from "../../src/bn/rng.ts";
import { MAX_PARENT_SETS } from "../../src/estimate/parent-sets.ts";
import {
  bmaConditional,
  edgePosteriors,
  estimateBma,
  fitBmaNetwork,
  parentSetPosterior,
} from "../../src/estimate/bma.ts";
import { logMarginalLikelihood, posteriorMean } from "../../src/estimate/posterior.ts";
import { marginalCounts, queryCounts } from "../../src/estimate/counts.ts";
import { naiveConditioning } from "../../src/estimate/options.ts";
import { decodeParentConfig } from "../../src/bn/cpt.ts";
import { maxAbsDiff, randomNetwork, sampleData, withMissing } from "./fixtures.ts";

/** The priors these brute-force helpers integrate by hand (one alpha, or an interval). */
type SimplePrior = Exclude<CptPrior, { kind: "dirichlet-mixture" }>;

/** Brute force and BMA agree to this (different quadratures / summation orders). */
const AGREEMENT = 1e-9;
/** Identities that only floating-point rounding separates. */
const ROUNDING = 1e-12;

function structureOf(cards: number[], parents: number[][] = cards.map(() => [])): Structure {
  const variables = cards.map((k, i) => ({
    name: `V${i}`,
    states: Array.from({ length: k }, (_, j) => `s${j}`),
  }));
  return { name: "tiny", variables, parents };
}

/** Data from a random network on `truth` (Dirichlet(0.5) CPTs: clear dependencies). */
function dataFrom(truth: Structure, n: number, seed: number): Dataset {
  const rng = createRng(seed);
  return sampleData(rng, randomNetwork(rng.fork(1), truth, 0.5), n);
}

// ---- the independent brute force ----

const SIMPSON_STEPS = 20_000;
/**
 * log int_lo^hi p^k (1-p)^(n-k) dp and its first moment ratio, by composite Simpson over
 * the part of [lo, hi] where the integrand is within e^-60 of its peak (found on a grid).
 */
function simpson(k: number, n: number, lo: number, hi: number): { log: number; mean: number } {
  const key = `${k},${n},${lo},${hi}`;
  let hit = SIMPSON_MEMO.get(key);
  if (hit === undefined) SIMPSON_MEMO.set(key, (hit = simpsonUncached(k, n, lo, hi)));
  return hit;
}
const SIMPSON_MEMO = new Map<string, { log: number; mean: number }>();

function simpsonUncached(
  k: number,
  n: number,
  lo: number,
  hi: number,
): { log: number; mean: number } {
  const logf = (p: number) => k * Math.log(p) + (n - k) * Math.log(1 - p);
  const grid = Array.from(
    { length: SIMPSON_STEPS + 1 },
    (_, i) => lo + ((hi - lo) * i) / SIMPSON_STEPS,
  );
  const top = Math.max(...grid.map(logf));
  const inside = grid.map((p, i) => (logf(p) > top - 60 ? i : -1)).filter((i) => i >= 0);
  const a = grid[Math.max(0, inside[0]! - 1)]!;
  const b = grid[Math.min(SIMPSON_STEPS, inside[inside.length - 1]! + 1)]!;
  const h = (b - a) / SIMPSON_STEPS;
  lo = a;
  let peak = -Infinity;
  for (let i = 0; i <= SIMPSON_STEPS; i++) peak = Math.max(peak, logf(lo + i * h));
  let z = 0;
  let m1 = 0;
  for (let i = 0; i <= SIMPSON_STEPS; i++) {
    const p = lo + i * h;
    const w = (i === 0 || i === SIMPSON_STEPS ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(logf(p) - peak);
    z += w;
    m1 += w * p;
  }
  return { log: peak + Math.log((h / 3) * z), mean: m1 / z };
}

/** Per-configuration counts of v given `parents`, keyed by the parents' states. */
function countsBy(d: Dataset, v: number, parents: number[], k: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let r = 0; r < d.rows; r++) {
    const cell = (u: number) => d.data[r * d.vars + u]!;
    const key = parents.map(cell).join(",");
    if (!out.has(key)) out.set(key, new Array<number>(k).fill(0));
    out.get(key)![cell(v)]!++;
  }
  return out;
}

/** log P(column v | parents) under `prior`: Dirichlet by the sequential chain rule. */
function bruteLogMl(
  d: Dataset,
  v: number,
  parents: number[],
  k: number,
  prior: SimplePrior,
): number {
  if (prior.kind === "uniform") {
    let sum = 0;
    for (const c of countsBy(d, v, parents, k).values()) {
      sum += simpson(c[1]!, c[0]! + c[1]!, prior.low, prior.high).log;
      sum -= Math.log(prior.high - prior.low);
    }
    return sum;
  }
  const seen = new Map<string, number[]>();
  let log = 0;
  for (let r = 0; r < d.rows; r++) {
    const cell = (u: number) => d.data[r * d.vars + u]!;
    const key = parents.map(cell).join(",");
    if (!seen.has(key)) seen.set(key, new Array<number>(k).fill(0));
    const c = seen.get(key)!;
    const n = c.reduce((a, b) => a + b, 0);
    log += Math.log((c[cell(v)]! + prior.alpha) / (n + k * prior.alpha));
    c[cell(v)]!++;
  }
  return log;
}

/** Posterior mean of v's row at the query's parent states, by closed form or Simpson. */
function brutePredict(
  d: Dataset,
  v: number,
  parents: number[],
  k: number,
  prior: SimplePrior,
  query: number[],
): number[] {
  const c = countsBy(d, v, parents, k).get(parents.map((u) => query[u]!).join(",")) ?? [];
  const cs = Array.from({ length: k }, (_, j) => c[j] ?? 0);
  const n = cs.reduce((a, b) => a + b, 0);
  if (prior.kind === "uniform") {
    const p1 =
      n === 0 ? (prior.low + prior.high) / 2 : simpson(cs[1]!, n, prior.low, prior.high).mean;
    return [1 - p1, p1];
  }
  return cs.map((x) => (x + prior.alpha) / (n + k * prior.alpha));
}

/**
 * Every DAG consistent with the order whose in-degrees are <= maxParents, with prior
 * prod_v p^|Pa(v)| (1-p)^(j_v - |Pa(v)|) normalised over them: the posterior predictive of
 * `target` at `query` and each edge's posterior probability.
 */
function bruteForce(
  s: Structure,
  d: Dataset,
  prior: SimplePrior,
  p: number,
  maxParents: number,
  target: number,
  query: number[],
): { predictive: number[]; edges: Map<string, number> } {
  const order = topologicalOrder(s);
  const pairs: [number, number][] = [];
  order.forEach((to, b) => order.slice(0, b).forEach((from) => pairs.push([from, to])));
  const k = s.variables[target]!.states.length;
  const logw: number[] = [];
  const preds: number[][] = [];
  const dags: [number, number][][] = [];
  for (let mask = 0; mask < 1 << pairs.length; mask++) {
    const edges = pairs.filter((_, i) => mask & (1 << i));
    const parentsOf = (v: number) => edges.filter(([, to]) => to === v).map(([f]) => f);
    if (order.some((v) => parentsOf(v).length > maxParents)) continue;
    let lw = 0;
    for (const v of order) {
      const pa = parentsOf(v);
      const j = order.indexOf(v);
      lw += Math.log(p ** pa.length * (1 - p) ** (j - pa.length));
      lw += bruteLogMl(d, v, pa, s.variables[v]!.states.length, prior);
    }
    logw.push(lw);
    preds.push(brutePredict(d, target, parentsOf(target), k, prior, query));
    dags.push(edges);
  }
  const max = Math.max(...logw);
  const w = logw.map((x) => Math.exp(x - max));
  const z = w.reduce((a, b) => a + b, 0);
  const predictive = new Array<number>(k).fill(0);
  const edgeProb = new Map<string, number>();
  w.forEach((wi, i) => {
    preds[i]!.forEach((x, j) => (predictive[j]! += (wi / z) * x));
    for (const [f, t] of dags[i]!)
      edgeProb.set(`${f}>${t}`, (edgeProb.get(`${f}>${t}`) ?? 0) + wi / z);
  });
  return { predictive, edges: edgeProb };
}

// ---- the tests ----

const CASES: { name: string; cards: number[]; truth: number[][]; prior: SimplePrior }[] = [
  {
    name: "binary, uniform(0.1, 0.9)",
    cards: [2, 2, 2],
    truth: [[], [0], [1]],
    prior: { kind: "uniform", low: 0.1, high: 0.9 },
  },
  {
    name: "binary, beta(0.7)",
    cards: [2, 2, 2],
    truth: [[], [], [0, 1]],
    prior: { kind: "beta", alpha: 0.7 },
  },
  {
    name: "ternary, dirichlet(1)",
    cards: [3, 3, 3],
    truth: [[], [0], [0]],
    prior: { kind: "dirichlet", alpha: 1 },
  },
  {
    name: "mixed, dirichlet(0.5)",
    cards: [2, 3, 4],
    truth: [[], [0], [1]],
    prior: { kind: "dirichlet", alpha: 0.5 },
  },
];

test("BMA equals averaging over every DAG consistent with the order (3 variables)", () => {
  for (const [ci, c] of CASES.entries()) {
    const s = structureOf(c.cards);
    const d = dataFrom(structureOf(c.cards, c.truth), 40, 10 + ci);
    for (const [p, maxParents] of [
      [0.3, Infinity],
      [0.5, 1],
      [0.8, 2],
    ] as const) {
      const opts = { edgeProb: p, maxParents, prior: c.prior };
      for (const target of [1, 2]) {
        const query = [c.cards[0]! - 1, 1, 0];
        const want = bruteForce(s, d, c.prior, p, maxParents, target, query);
        const got = estimateBma(s, d, target, query, opts);
        assert.ok(
          maxAbsDiff(got, want.predictive) < AGREEMENT,
          `${c.name} p=${p} K=${maxParents} target ${target}: ${got} vs ${want.predictive}`,
        );
      }
      const brute = bruteForce(s, d, c.prior, p, maxParents, 0, [0, 0, 0]).edges;
      for (const e of edgePosteriors(s, d, opts)) {
        const want = brute.get(`${e.from}>${e.to}`) ?? 0;
        assert.ok(Math.abs(e.probability - want) < AGREEMENT, `${c.name} edge ${e.from}->${e.to}`);
      }
    }
  }
});

test("the candidates are the earlier variables in the structure's topological order", () => {
  // Edge V2 -> V0 makes the order V1, V2, V0; the edge itself is ignored.
  const s = structureOf([2, 2, 2], [[2], [], []]);
  const d = dataFrom(structureOf([2, 2, 2]), 30, 3);
  const post = parentSetPosterior(s, d, 0, { edgeProb: 0.5 });
  assert.deepEqual(post.candidates, naiveConditioning(s, 0));
  assert.deepEqual(post.candidates, [1, 2]);
  const want = bruteForce(
    s,
    d,
    { kind: "uniform", low: 0.1, high: 0.9 },
    0.5,
    Infinity,
    0,
    [0, 1, 0],
  );
  assert.ok(
    maxAbsDiff(estimateBma(s, d, 0, [0, 1, 0], { edgeProb: 0.5 }), want.predictive) < AGREEMENT,
  );
});

test("the parent-set posterior sums to 1 and the edge posteriors are its marginals", () => {
  const s = structureOf([2, 3, 2, 2]);
  const d = dataFrom(structureOf([2, 3, 2, 2], [[], [0], [1], [0, 2]]), 60, 5);
  const post = parentSetPosterior(s, d, 3, { edgeProb: 0.4, maxParents: 2 });
  assert.equal(post.sets.length, 1 + 3 + 3);
  assert.ok(Math.abs(post.posterior.reduce((a, b) => a + b, 0) - 1) < ROUNDING);
  assert.ok(Math.abs(post.prior.reduce((a, b) => a + b, 0) - 1) < ROUNDING);
  // E|S| two ways: over sets, and as the sum of the edge marginals.
  const meanSize = post.sets.reduce((a, set, i) => a + set.length * post.posterior[i]!, 0);
  assert.ok(Math.abs(meanSize - post.edges.reduce((a, b) => a + b, 0)) < ROUNDING);
  for (const x of post.edges) assert.ok(x >= 0 && x <= 1 + ROUNDING);
});

test("with no data the edge posteriors are the prior's: p with no in-degree limit", () => {
  const s = structureOf([2, 2, 2, 2]);
  const empty: Dataset = { vars: 4, rows: 0, data: new Uint8Array(0) };
  for (const p of [0, 0.2, 0.5, 1]) {
    const edges = parentSetPosterior(s, empty, 3, { edgeProb: p }).edges;
    for (const x of edges) assert.ok(Math.abs(x - p) < ROUNDING, `p=${p}: ${x}`);
  }
  // p = 1, K = 1 < j = 3: the limit puts mass 1/3 on each single parent.
  const k1 = parentSetPosterior(s, empty, 3, { edgeProb: 1, maxParents: 1 });
  for (const x of k1.edges) assert.ok(Math.abs(x - 1 / 3) < ROUNDING);
});

test("p = 0 is the marginal posterior mean; p = 1 the posterior mean given every earlier variable", () => {
  const cards = [2, 3, 2];
  const s = structureOf(cards);
  const d = dataFrom(structureOf(cards, [[], [0], [0, 1]]), 50, 8);
  const prior: CptPrior = { kind: "dirichlet", alpha: 0.8 };
  const query = [1, 2, 0];
  for (const target of [0, 1, 2]) {
    const marginal = posteriorMean(prior, marginalCounts(s, d, target));
    assert.ok(
      maxAbsDiff(estimateBma(s, d, target, query, { edgeProb: 0, prior }), marginal) < ROUNDING,
    );
    const full = posteriorMean(
      prior,
      queryCounts(s, d, target, naiveConditioning(s, target), query),
    );
    assert.ok(
      maxAbsDiff(estimateBma(s, d, target, query, { edgeProb: 1, prior }), full) < ROUNDING,
    );
  }
  const uniform: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };
  const b = structureOf([2, 2, 2]);
  const db = dataFrom(structureOf([2, 2, 2], [[], [0], [1]]), 50, 9);
  const got = estimateBma(b, db, 2, [0, 1, 0], { edgeProb: 1, prior: uniform });
  const want = posteriorMean(uniform, queryCounts(b, db, 2, [0, 1], [0, 1, 0]));
  assert.ok(maxAbsDiff(got, want) < ROUNDING);
});

test("with enough data the edge posteriors recover the true structure", () => {
  // Strong CPTs: every true edge is certain at 3000 rows. An absent edge's posterior falls
  // only like n^-1/2 (the Bayes factor of the extra parameters), so its bound is looser.
  const truth = structureOf([2, 2, 2, 2], [[], [0], [], [1, 2]]);
  const cpts = [
    Float64Array.from([0.5, 0.5]),
    Float64Array.from([0.9, 0.1, 0.2, 0.8]),
    Float64Array.from([0.4, 0.6]),
    Float64Array.from([0.9, 0.1, 0.3, 0.7, 0.6, 0.4, 0.1, 0.9]),
  ];
  const d = sampleData(createRng(21), { ...truth, cpts }, 3000);
  const edges = edgePosteriors(structureOf([2, 2, 2, 2]), d, { edgeProb: 0.5 });
  const isTrue = (e: { from: number; to: number }) => truth.parents[e.to]!.includes(e.from);
  assert.equal(edges.length, 6);
  for (const e of edges) {
    if (isTrue(e)) assert.ok(e.probability > 0.999, `${e.from}->${e.to}: ${e.probability}`);
    else assert.ok(e.probability < 0.15, `${e.from}->${e.to}: ${e.probability}`);
  }
});

test("the marginal likelihood stays accurate for thousands of rows", () => {
  for (const [c1, n] of [
    [0, 3000],
    [1234, 3000],
    [2999, 3000],
    [250, 2500],
  ] as const) {
    const got = logMarginalLikelihood({ kind: "uniform", low: 0.1, high: 0.9 }, [n - c1, c1]);
    const want = simpson(c1, n, 0.1, 0.9).log - Math.log(0.8);
    assert.ok(Math.abs(got - want) < AGREEMENT * Math.abs(want), `${c1}/${n}: ${got} vs ${want}`);
  }
  // All failures (or all successes): int_lo^hi (1-p)^n dp = ((1-lo)^(n+1) - (1-hi)^(n+1)) / (n+1).
  for (const n of [1, 40, 3000]) {
    const closed = (lo: number, hi: number) =>
      (n + 1) * Math.log1p(-lo) + Math.log1p(-(((1 - hi) / (1 - lo)) ** (n + 1))) - Math.log(n + 1);
    const want = closed(0.1, 0.9) - Math.log(0.8);
    const allZero = logMarginalLikelihood({ kind: "uniform", low: 0.1, high: 0.9 }, [n, 0]);
    const allOne = logMarginalLikelihood({ kind: "uniform", low: 0.1, high: 0.9 }, [0, n]);
    assert.ok(Math.abs(allZero - want) < ROUNDING * Math.max(1, Math.abs(want)), `n=${n}`);
    assert.ok(Math.abs(allOne - want) < ROUNDING * Math.max(1, Math.abs(want)), `n=${n}`);
  }
  const d = dataFrom(structureOf([3, 3]), 3000, 4);
  const counts = marginalCounts(structureOf([3, 3]), d, 1);
  const got = logMarginalLikelihood({ kind: "dirichlet", alpha: 0.5 }, counts);
  const want = bruteLogMl(d, 1, [], 3, { kind: "dirichlet", alpha: 0.5 });
  assert.ok(Math.abs(got - want) < AGREEMENT * Math.abs(want), `${got} vs ${want}`);
});

test("missing values: a target's parent sets are scored on the rows complete for its candidates", () => {
  const cards = [2, 3, 2];
  const s = structureOf(cards);
  const full = dataFrom(structureOf(cards, [[], [0], [1]]), 80, 12);
  const d = withMissing(createRng(13), full, 0.15);
  const complete = (vars: number[]): Dataset => {
    const rows: number[] = [];
    for (let r = 0; r < d.rows; r++)
      if (vars.every((v) => d.data[r * 3 + v] !== MISSING)) rows.push(r);
    const data = new Uint8Array(rows.length * 3);
    rows.forEach((r, i) => data.set(d.data.subarray(r * 3, r * 3 + 3), i * 3));
    // The other variables' factors cancel in the target's posterior (checked above); a
    // state in place of their missing cells keeps the brute force's counts defined.
    for (let i = 0; i < data.length; i++) if (data[i] === MISSING) data[i] = 0;
    return { vars: 3, rows: rows.length, data };
  };
  const prior: CptPrior = { kind: "dirichlet", alpha: 1 };
  const opts = { edgeProb: 0.5, prior };
  const query = [1, 2, 0];
  for (const target of [1, 2]) {
    const kept = complete([target, ...naiveConditioning(s, target)]);
    assert.ok(kept.rows < d.rows);
    const want = bruteForce(s, kept, prior, 0.5, Infinity, target, query).predictive;
    assert.ok(maxAbsDiff(estimateBma(s, d, target, query, opts), want) < AGREEMENT);
    assert.equal(parentSetPosterior(s, d, target, opts).rows, kept.rows);
  }
});

test("the conditional for generation caches per configuration and agrees with estimateBma", () => {
  const s = structureOf([2, 2, 3]);
  const d = dataFrom(structureOf([2, 2, 3], [[], [0], [0, 1]]), 40, 2);
  const opts = { edgeProb: 0.5, prior: { kind: "dirichlet", alpha: 1 } as CptPrior };
  const cond = bmaConditional(s, d, opts);
  const row = Uint8Array.from([1, 0, MISSING]);
  const first = cond(2, row);
  assert.equal(cond(2, row), first); // the cached array
  assert.deepEqual(first, estimateBma(s, d, 2, row, opts));
});

test("fitBmaNetwork's CPT rows are the BMA predictive at each configuration of the prefix", () => {
  // Edge V3 -> V0 puts V3 first in the order, so the fitted parents are not file order.
  const cases: [number[], CptPrior | undefined][] = [
    [[2, 3, 2, 2], undefined], // default: dirichlet(1)
    [[2, 3, 2, 2], { kind: "dirichlet", alpha: 0.5 }],
    [[2, 2, 2, 2], undefined], // default: uniform(0.1, 0.9)
  ];
  for (const [cards, prior] of cases) {
    const s = structureOf(cards, [[3], [], [], []]);
    const d = dataFrom(structureOf(cards, [[3], [0], [1], []]), 60, 6);
    const opts = { edgeProb: 0.4, maxParents: 2, ...(prior ? { prior } : {}) };
    const net = fitBmaNetwork(s, d, opts);
    for (let v = 0; v < 4; v++) {
      assert.deepEqual(net.parents[v], naiveConditioning(s, v));
      const k = s.variables[v]!.states.length;
      for (let cfg = 0; cfg < net.cpts[v]!.length / k; cfg++) {
        const query = [0, 0, 0, 0];
        decodeParentConfig(net, v, cfg).forEach((x, i) => (query[net.parents[v]![i]!] = x));
        const want = estimateBma(s, d, v, query, opts);
        assert.ok(maxAbsDiff(net.cpts[v]!.subarray(cfg * k, cfg * k + k), want) < ROUNDING);
      }
    }
  }
});

test("bad options, a query without an earlier variable, and too many parent sets are clear errors", () => {
  const s = structureOf([2, 2, 2]);
  const d = dataFrom(s, 10, 1);
  assert.throws(
    () => estimateBma(s, d, 2, [0, 0, 0], { edgeProb: 1.5 }),
    /edge probability must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => estimateBma(s, d, 2, [0, 0, 0], { edgeProb: 0.5, maxParents: 1.5 }),
    /max parents must be an integer >= 0/,
  );
  assert.throws(
    () =>
      estimateBma(structureOf([2, 3]), dataFrom(structureOf([2, 3]), 5, 1), 1, [0, 0], {
        edgeProb: 0.5,
        prior: { kind: "uniform", low: 0.1, high: 0.9 },
      }),
    /needs binary variables; "V1" has 3 states/,
  );
  assert.throws(
    () => estimateBma(s, d, 2, [0, MISSING, 0], { edgeProb: 0.5 }),
    /BMA estimate of "V2" needs every earlier variable; "V1" is not given/,
  );
  const wide = structureOf(new Array<number>(14).fill(2));
  const none: Dataset = { vars: 14, rows: 0, data: new Uint8Array(0) };
  assert.throws(
    () => parentSetPosterior(wide, none, 13, { edgeProb: 0.5 }),
    new RegExp(
      `"V13" \\(13 earlier variables, at most 13 parents\\) enumerates more than ${MAX_PARENT_SETS} sets`,
    ),
  );
  assert.equal(
    parentSetPosterior(wide, none, 13, { edgeProb: 0.5, maxParents: 2 }).sets.length,
    1 + 13 + 78,
  );
});
