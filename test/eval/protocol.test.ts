import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import { BnformerError } from "../../src/errors.ts";
import type { EpisodeBatch, Method } from "../../src/eval/episodes.ts";
import { drawEpisodes, episodeStream, maxStates } from "../../src/eval/episodes.ts";
import type { ProtocolConfig } from "../../src/eval/protocol.ts";
import { NODE_MEAN, runProtocol, resolveProtocolConfig } from "../../src/eval/protocol.ts";
import { baselineMethods, MLE, POSTERIOR_MEAN } from "../../src/eval/baselines.ts";
import { meanSd } from "../../src/eval/summary.ts";

// A -> B, {A, B} -> C: a root, a one-parent and a two-parent node.
const STRUCTURE: Structure = {
  name: "tri",
  variables: ["A", "B", "C"].map((name) => ({ name, states: ["0", "1"] })),
  parents: [[], [0], [0, 1]],
};
/** Every CPT row is P(X=1) = 0.8: a fixed network, so TVs can be computed by hand. */
const FIXED: CptPrior = { kind: "uniform", low: 0.8, high: 0.8 };
const P1 = 0.8;
/** Exact arithmetic on sums of a few hundred doubles. */
const EXACT = 1e-12;

const base: Partial<ProtocolConfig> & Pick<ProtocolConfig, "structure"> = {
  structure: STRUCTURE,
  prior: FIXED,
  lengths: [1, 2, 5, 20],
  episodes: 60,
  evalSeed: 7,
  seeds: [3],
  batchSize: 16,
};

/** The truth oracle: redraws the batch's episodes and answers the true CPT rows. */
function oracle(config: ProtocolConfig, seed: number): Method {
  return {
    name: "truth",
    predict: (b: EpisodeBatch) =>
      drawEpisodes(
        episodeStream(config.evalSeed, seed),
        config.structure,
        config.prior,
        b.firstEpisode,
        b.episodes,
        b.rows,
      ).truth,
  };
}

const uniform: Method = {
  name: "uniform",
  predict: (b) => new Float64Array(b.episodes * b.structure.variables.length * 2).fill(0.5),
};

function mleOnly(config: ProtocolConfig): Method {
  return baselineMethods(config.prior, config.unseen).find((m) => m.name === MLE)!;
}

const methodsOf = (seed: number, c: ProtocolConfig) => [oracle(c, seed), uniform, mleOnly(c)];

function cell(r: Awaited<ReturnType<typeof runProtocol>>, method: string, n: number, node: string) {
  const c = r.cells.find((x) => x.method === method && x.length === n && x.node === node);
  assert.ok(c, `no cell ${method} ${n} ${node}`);
  return c;
}

test("the truth oracle scores TV 0 at every length and node", async () => {
  const r = await runProtocol(base, methodsOf);
  const cells = r.cells.filter((c) => c.method === "truth");
  assert.equal(cells.length, 4 * 4); // lengths x (3 nodes + mean)
  for (const c of cells) assert.equal(c.tvMean, 0);
});

test("a uniform prediction has TV |0.5 - 0.8| = 0.3 with zero SE for a fixed CPT", async () => {
  const r = await runProtocol(base, methodsOf);
  for (const c of r.cells.filter((x) => x.method === "uniform")) {
    assert.ok(Math.abs(c.tvMean - Math.abs(0.5 - P1)) < EXACT, `${c.node} ${c.length}`);
    assert.ok(c.tvSe < 1e-9);
  }
});

test("at n = 1 the MLE answers the single row, so its TV is |x - 0.8| per episode", async () => {
  const r = await runProtocol(base, methodsOf);
  const { batch } = drawEpisodes(episodeStream(7, 3), STRUCTURE, FIXED, 0, 60, 20);
  STRUCTURE.variables.forEach((v, i) => {
    let sum = 0;
    for (let e = 0; e < 60; e++) sum += Math.abs(batch.contexts[e * 20 * 3 + i]! - P1);
    assert.ok(Math.abs(cell(r, MLE, 1, v.name).tvMean - sum / 60) < EXACT, v.name);
  });
});

test("results are deterministic per seed and independent of the batch size", async () => {
  const a = await runProtocol({ ...base, batchSize: 7 }, methodsOf);
  const b = await runProtocol({ ...base, batchSize: 60 }, methodsOf);
  assert.deepEqual(a.cells, b.cells);
  const other = await runProtocol({ ...base, seeds: [4] }, methodsOf);
  assert.notDeepEqual(
    other.cells.map((c) => c.tvMean),
    a.cells.map((c) => c.tvMean),
  );
});

test("episode e is the same in any batch, and a longer context extends a shorter one", () => {
  const prior: CptPrior = { kind: "beta", alpha: 1 };
  const all = drawEpisodes(episodeStream(1, 2), STRUCTURE, prior, 0, 5, 12);
  const part = drawEpisodes(episodeStream(1, 2), STRUCTURE, prior, 3, 2, 8);
  const m = 3;
  for (let i = 0; i < 2; i++) {
    const e = 3 + i;
    assert.deepEqual(
      part.batch.contexts.subarray(i * 8 * m, (i + 1) * 8 * m),
      all.batch.contexts.subarray(e * 12 * m, e * 12 * m + 8 * m),
    );
    assert.deepEqual(
      part.batch.queries.subarray(i * m, (i + 1) * m),
      all.batch.queries.subarray(e * m, (e + 1) * m),
    );
    const k = maxStates(STRUCTURE);
    assert.deepEqual(
      part.truth.subarray(i * m * k, (i + 1) * m * k),
      all.truth.subarray(e * m * k, (e + 1) * m * k),
    );
  }
});

test("the unseen fraction is the MLE's fallback fraction, and roots are never unseen", async () => {
  const r = await runProtocol({ ...base, prior: { kind: "beta", alpha: 0.5 } }, (_s, c) =>
    baselineMethods(c.prior, c.unseen),
  );
  for (const c of r.cells.filter((x) => x.method === MLE)) {
    assert.ok(Math.abs(c.unseenFraction - c.fallbackFraction!) < EXACT);
  }
  for (const c of r.cells.filter((x) => x.node === "A")) assert.equal(c.unseenFraction, 0);
  // with one row, C's two parents match the query's only when the row agrees on both
  assert.ok(cell(r, MLE, 1, "C").unseenFraction > 0);
  assert.equal(cell(r, POSTERIOR_MEAN, 1, "C").fallbackFraction, null);
});

test("the node average is the mean of the per-node means", async () => {
  const r = await runProtocol({ ...base, prior: { kind: "beta", alpha: 1 } }, methodsOf);
  for (const n of base.lengths!) {
    const nodes = ["A", "B", "C"].map((v) => cell(r, MLE, n, v).tvMean);
    const avg = nodes.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.abs(cell(r, MLE, n, NODE_MEAN).tvMean - avg) < EXACT);
  }
});

test("summaries give mean ± sd over seeds and ratios per seed", async () => {
  const r = await runProtocol(
    { ...base, prior: { kind: "beta", alpha: 1 }, seeds: [1, 2, 3] },
    (_s, c) => baselineMethods(c.prior, c.unseen),
  );
  const per = r.cells.filter((c) => c.method === MLE && c.length === 2 && c.node === "B");
  const s = r.summary.find((x) => x.method === MLE && x.length === 2 && x.node === "B")!;
  const want = meanSd(per.map((c) => c.tvMean));
  assert.ok(Math.abs(s.mean - want.mean) < EXACT && Math.abs(s.sd! - want.sd!) < EXACT);
  const ratio = r.ratios.find(
    (x) => x.reference === POSTERIOR_MEAN && x.method === MLE && x.length === 2 && x.node === "B",
  )!;
  const ref = r.cells.filter(
    (c) => c.method === POSTERIOR_MEAN && c.length === 2 && c.node === "B",
  );
  const ratios = per.map((c, i) => c.tvMean / ref[i]!.tvMean);
  assert.ok(Math.abs(ratio.mean! - meanSd(ratios).mean) < EXACT);
});

test("the posterior mean beats the MLE at small n (prior uniform(0.1, 0.9))", async () => {
  const r = await runProtocol(
    { ...base, prior: { kind: "uniform", low: 0.1, high: 0.9 }, episodes: 200 },
    (_s, c) => baselineMethods(c.prior, c.unseen),
  );
  // the MLE at n = 1 sits at 0 or 1, TV ~0.4; the posterior mean stays near the prior mean, ~0.2
  assert.ok(
    cell(r, POSTERIOR_MEAN, 1, NODE_MEAN).tvMean < 0.75 * cell(r, MLE, 1, NODE_MEAN).tvMean,
  );
});

test("the policy is stated in the result; 'error' and bad configs are refused by field", async () => {
  const r = await runProtocol({ ...base, episodes: 4 }, methodsOf);
  assert.equal(r.unseenPolicy.name, "marginal");
  assert.match(r.unseenPolicy.statement, /same policy applies to every method/);
  const refused = (partial: Partial<ProtocolConfig>, field: string) =>
    assert.throws(
      () => resolveProtocolConfig({ ...base, ...partial }),
      (e: unknown) =>
        e instanceof BnformerError && e.code === "config" && e.location.path?.[1] === field,
    );
  refused({ unseen: "error" }, "unseen");
  refused({ lengths: [5, 2] }, "lengths");
  refused({ lengths: [0, 2] }, "lengths");
  refused({ seeds: [1, 1] }, "seeds");
  refused({ episodes: 0 }, "episodes");
});

test("a prediction that is not a distribution is refused, naming the method", async () => {
  const broken: Method = {
    name: "broken",
    predict: async (b) => new Float64Array(b.episodes * 3 * 2).fill(0.7),
  };
  await assert.rejects(
    runProtocol({ ...base, episodes: 3 }, () => [broken]),
    (e: unknown) =>
      e instanceof BnformerError && /method "broken" predicted \[0.7, 0.7\]/.test(e.message),
  );
  const short: Method = { name: "short", predict: () => new Float64Array(2) };
  await assert.rejects(
    runProtocol({ ...base, episodes: 3 }, () => [short]),
    /\[S=3, M=3, K=2\] needs 18/,
  );
});
