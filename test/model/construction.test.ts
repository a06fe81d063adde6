import { test } from "node:test";
import assert from "node:assert/strict";
import type { Network, Structure } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { createRng } from "../../src/bn/rng.ts";
import { backoffIsMle, backoffSupport } from "../../src/estimate/backoff.ts";
import { estimateConditional } from "../../src/estimate/estimators.ts";
import { tvDistance } from "../../src/eval/metrics.ts";
import type { EncodingOptions, Query } from "../../src/model/encoding.ts";
import { encodeEpisode, queriesForTargets } from "../../src/model/encoding.ts";
import { flattenWeights } from "../../src/model/spec.ts";
import { forwardReference } from "../../src/model/reference.ts";
import type { Construction } from "../../src/model/construction.ts";
import { construct, constructionBeta, weightNorms } from "../../src/model/construction.ts";
import { ancestralRows, randomNetwork, withMissing } from "./construction-fixtures.ts";

/** Float64 rounding in the forward pass; far below any eps the construction is asked for. */
const ROUNDING = 1e-12;

/** The construction's distributions (length d_target each) for every query, in one pass. */
function run(
  c: Construction,
  context: Dataset,
  queries: readonly Query[],
  opts: EncodingOptions = {},
): Float64Array[] {
  const ep = encodeEpisode(c.layout, context, queries, opts);
  const { outputs } = forwardReference(c.spec, c.weights, ep.tokens, ep.kinds, {
    keepAttention: false,
  });
  const O = c.spec.outputDim;
  return queries.map((q, i) => {
    const row = outputs.subarray(i * O, (i + 1) * O);
    const k = c.layout.cards[q.target]!;
    for (let v = k; v < O; v++)
      assert.equal(row[v], 0, "entries beyond the target's cardinality are 0");
    for (let v = 0; v < k; v++) assert.ok(row[v]! >= 0);
    return Float64Array.from(row.subarray(0, k));
  });
}

/** Worst TV between the construction and the back-off estimate over rows x all targets. */
function worstTv(
  c: Construction,
  net: Structure,
  context: Dataset,
  rows: Dataset,
  opts: EncodingOptions = {},
): number {
  const queries = queriesForTargets(
    rows,
    net.variables.map((_, i) => i),
  );
  const got = run(c, context, queries, opts);
  let worst = 0;
  queries.forEach((q, i) => {
    const want = backoffSupport(net, context, q.target, q.row).distribution;
    const sum = got[i]!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) <= ROUNDING, `sums to ${sum}`);
    worst = Math.max(worst, tvDistance(got[i]!, want));
  });
  return worst;
}

test("within eps of the back-off estimate on random networks (shuffled order, 2-4 states, missing cells)", () => {
  const rng = createRng(1);
  for (const eps of [1e-3, 1e-6]) {
    let worst = 0;
    for (let trial = 0; trial < 12; trial++) {
      const net = randomNetwork(rng, 6, 3, 4);
      const c = construct(net, { eps, maxContext: 300 });
      const rate = trial % 3 === 0 ? 0.15 : 0;
      for (const N of [0, 1, 2, 5, 30, 300]) {
        const context = withMissing(rng, ancestralRows(rng, net, N), rate);
        const rows = withMissing(rng, ancestralRows(rng, net, 6), rate);
        worst = Math.max(worst, worstTv(c, net, context, rows));
      }
    }
    console.log(`eps ${eps}: worst TV to back-off ${worst.toExponential(3)}`);
    assert.ok(worst <= eps, `worst TV ${worst} > eps ${eps}`);
  }
});

test("equals the in-context MLE within eps whenever some context row matches every parent", () => {
  const rng = createRng(2);
  const eps = 1e-6;
  let cases = 0;
  for (let trial = 0; trial < 8; trial++) {
    const net = randomNetwork(rng, 7, 2, 3);
    const c = construct(net, { eps, maxContext: 200 });
    const context = ancestralRows(rng, net, 1 + trial * 25);
    const rows = ancestralRows(rng, net, 10);
    const queries = queriesForTargets(
      rows,
      net.variables.map((_, i) => i),
    );
    const got = run(c, context, queries);
    queries.forEach((q, i) => {
      if (
        !backoffIsMle(backoffSupport(net, context, q.target, q.row), net.parents[q.target]!.length)
      )
        return;
      const mle = estimateConditional(net, context, q.target, q.row, { estimator: "mle" });
      assert.ok(tvDistance(got[i]!, mle) <= eps);
      cases++;
    });
  }
  assert.ok(cases > 300, `only ${cases} MLE cases`);
});

test("the bound is not loose: an adversarial context at N = maxContext lands between eps/4 and eps", () => {
  // C <- A, B. One row matches the query on both parents (C = 0); the other N - 1 rows match
  // on one parent only (C = 1), each scoring exactly beta below the best.
  const s: Structure = {
    name: "adv",
    variables: ["A", "B", "C"].map((name) => ({ name, states: ["0", "1"] })),
    parents: [[], [], [0, 1]],
  };
  for (const eps of [1e-3, 1e-6]) {
    const N = 500;
    const c = construct(s, { eps, maxContext: N });
    const rows = [[0, 0, 0]];
    for (let r = 1; r < N; r++) rows.push([0, 1, 1]);
    const context = { vars: 3, rows: N, data: Uint8Array.from(rows.flat()) };
    const [p] = run(c, context, [{ row: [0, 0, 0], target: 2 }]);
    const tv = tvDistance(p!, [1, 0]);
    assert.ok(tv <= eps && tv >= eps / 4, `TV ${tv} for eps ${eps}`);
  }
});

test("context visibility and target marks do not change the answer", () => {
  const rng = createRng(3);
  const net = randomNetwork(rng, 6, 3, 3);
  const c = construct(net, { eps: 1e-6, maxContext: 100 });
  const context = ancestralRows(rng, net, 100);
  const rows = ancestralRows(rng, net, 8);
  for (let t = 0; t < 6; t++) {
    const queries = queriesForTargets(rows, [t]); // one target: context tokens marked
    const shared = run(c, context, queriesForTargets(rows, [0, 1, 2, 3, 4, 5])).filter(
      (_, i) => i % 6 === t,
    );
    for (const opts of [
      { contextVisible: "all" as const },
      { contextVisible: "throughTarget" as const },
    ]) {
      const got = run(c, context, queries, opts);
      got.forEach((p, i) =>
        p.forEach((x, j) => assert.ok(Math.abs(x - shared[i]![j]!) <= ROUNDING)),
      );
    }
  }
});

test("no weight depends on the target; a parent set lives only in its target's row of the selector", () => {
  const v = (name: string) => ({ name, states: ["0", "1", "2"] });
  const base: Structure = {
    name: "s",
    variables: [v("A"), v("B"), v("C"), v("D")],
    parents: [[], [0], [0, 1], [2]],
  };
  const more: Structure = { ...base, parents: [[], [0], [0, 1], [1, 2]] }; // D gains parent B
  const a = flattenWeights(construct(base, { eps: 1e-3, maxContext: 10 }).weights);
  const c2 = construct(more, { eps: 1e-3, maxContext: 10 });
  const b = flattenWeights(c2.weights);
  const L = c2.layout;
  const diffs: string[] = [];
  for (const [name, t] of a) {
    const u = b.get(name)!;
    t.data.forEach((x, i) => {
      if (x !== u.data[i]) diffs.push(`${name}[${Math.floor(i / t.shape[1]!)},${i % t.shape[1]!}]`);
    });
  }
  // Row "target D" of the selector, columns of B's value block.
  const row = L.targetOffset + 3;
  const cols = [0, 1, 2].map((s) => L.valueOffset[1]! + s);
  assert.deepEqual(
    diffs,
    cols.map((col) => `layers.0.mlp.w1[${row},${col}]`),
  );
});

test("beta, the penalty and the weight norms are as documented", () => {
  const net = randomNetwork(createRng(4), 7, 3, 4);
  const c = construct(net, { eps: 1e-6, maxContext: 2000 });
  const S = c.layout.valueWidth;
  const M = c.layout.vars;
  assert.equal(c.params.beta, Math.log(2000 / 1e-6));
  assert.equal(constructionBeta(1e-3, 500), Math.log(5e5));
  assert.equal(c.params.penalty, Math.max(...net.parents.map((p) => p.length)) + 1);
  const norms = weightNorms(c.weights);
  assert.ok(
    Math.abs(norms.get("layers.1.attn.wq")!.maxAbs - c.params.beta * Math.sqrt(S + M)) < 1e-9,
  );
  assert.equal(norms.get("layers.1.attn.wk")!.maxAbs, c.params.penalty);
  for (const [name, n] of norms) {
    if (name !== "layers.1.attn.wq" && name !== "layers.1.attn.wk") assert.ok(n.maxAbs <= 1, name);
  }
  assert.equal(c.spec.layers.length, 2);
  assert.equal(c.spec.outputDim, c.layout.maxCard);
});

test("options out of range are refused", () => {
  const net: Network = randomNetwork(createRng(5), 3, 1, 2);
  assert.throws(() => construct(net, { eps: 0, maxContext: 10 }), /eps must be in \(0, 1\), got 0/);
  assert.throws(
    () => construct(net, { eps: 1e-3, maxContext: 0 }),
    /maxContext must be an integer >= 1, got 0/,
  );
});
