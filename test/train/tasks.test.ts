import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Structure } from "../../src/bn/network.ts";
import { createRng } from "../../src/bn/rng.ts";
import { modularRandomDag, paperGraph, sachsGraph } from "../../src/bn/families.ts";
import { queryCounts } from "../../src/estimate/counts.ts";
import { posteriorMean } from "../../src/estimate/posterior.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY } from "../../src/model/spec.ts";
import type { TaskConfig } from "../../src/train/tasks.ts";
import {
  buildTask,
  contextBuckets,
  defaultTaskConfig,
  drawContextLength,
  modularDagOptions,
  structureLayout,
  structureToJson,
} from "../../src/train/tasks.ts";
import { bucketProbabilities, lengthProbabilities } from "../../src/train/sizing.ts";

function task(
  over: Partial<TaskConfig> = {},
  graphs: Structure[] = [paperGraph("general5")],
): TaskConfig {
  return {
    ...defaultTaskConfig,
    kind: graphs.length > 1 ? "mixed" : "single",
    structures: graphs.map(structureToJson),
    randomDag: null,
    batchSize: 3,
    contextMin: 2,
    contextMax: 9,
    queryRows: 2,
    ...over,
  };
}

test("encoded context and query tokens decode back to the sampled rows", () => {
  const t = buildTask(task({ target: "prediction" }));
  const { batch, episodes, contextRows: n } = t.draw(createRng(3));
  const layout = structureLayout(t);
  const [B, T, I] = batch.shape;
  const M = layout.vars;
  assert.equal(B, 3);
  assert.equal(T, n + 2 * M);
  assert.equal(I, layout.width);
  const at = (b: number, tok: number, ch: number) => batch.tokens[(b * T + tok) * I + ch]!;
  // Decodes one token: the visible value of each variable (or -1 if hidden) and its target.
  const decode = (b: number, tok: number) => ({
    values: layout.cards.map((d, m) => {
      const hot = Array.from({ length: d }, (_, s) => at(b, tok, layout.valueOffset[m]! + s));
      const hidden = at(b, tok, layout.hiddenOffset + m);
      assert.equal(hot.reduce((x, y) => x + y, 0) + hidden, 1, `token ${tok} variable ${m}`);
      return hidden === 1 ? -1 : hot.indexOf(1);
    }),
    target: Array.from({ length: M }, (_, m) => at(b, tok, layout.targetOffset + m)).indexOf(1),
    query: at(b, tok, layout.queryFlag),
  });
  episodes.forEach((e, b) => {
    for (let r = 0; r < n; r++) {
      assert.equal(batch.kinds[b * T + r], TOKEN_CONTEXT);
      const d = decode(b, r);
      assert.deepEqual(d.values, Array.from(e.context.data.subarray(r * M, (r + 1) * M)));
      assert.equal(d.target, -1, "a shared context carries no target mark");
      assert.equal(d.query, 0);
    }
    for (let r = 0; r < 2; r++) {
      const row = Array.from(e.queryRows.data.subarray(r * M, (r + 1) * M));
      for (let m = 0; m < M; m++) {
        const tok = n + r * M + m;
        assert.equal(batch.kinds[b * T + tok], TOKEN_QUERY);
        const d = decode(b, tok);
        assert.deepEqual(
          d.values,
          row.map((x, v) => (v < m ? x : -1)),
          "the target and later variables are hidden",
        );
        assert.equal(d.target, m);
        assert.equal(d.query, 1);
        // Prediction targets: the observed value, rows in token order.
        const q = (b * 2 + r) * M + m;
        assert.deepEqual(
          Array.from(batch.targets.subarray(q * 2, q * 2 + 2)),
          [0, 1].map((s) => (s === row[m] ? 1 : 0)),
        );
      }
    }
  });
});

test("the same data stream gives the same batch; the next draw differs", () => {
  const t = buildTask(task());
  const a = t.draw(createRng(9));
  const b = t.draw(createRng(9));
  assert.deepEqual(a.batch.tokens, b.batch.tokens);
  assert.deepEqual(a.batch.targets, b.batch.targets);
  const rng = createRng(9);
  t.draw(rng);
  const c = t.draw(rng);
  assert.notDeepEqual(c.episodes[0]!.context.data, a.episodes[0]!.context.data);
});

test("posterior-mean targets are distributions; every sampled length lies in range", () => {
  const t = buildTask(task({ contextMin: 1, contextMax: 40, lengthSampling: "mixed" }));
  const rng = createRng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const { batch, contextRows } = t.draw(rng);
    seen.add(contextRows);
    assert.ok(contextRows >= 1 && contextRows <= 40);
    for (let q = 0; q < batch.targets.length / 2; q++) {
      const [p0, p1] = [batch.targets[2 * q]!, batch.targets[2 * q + 1]!];
      assert.ok(p0 > 0 && p1 > 0 && Math.abs(p0 + p1 - 1) < 1e-6);
    }
  }
  assert.ok(seen.size > 10, `lengths vary (${seen.size} distinct)`);
});

test("a mixed task draws from every structure; structures of another layout are refused", () => {
  const t = buildTask(
    task({}, [paperGraph("chain7"), paperGraph("tree7"), paperGraph("general7")]),
  );
  const rng = createRng(2);
  const names = new Set<string>();
  for (let i = 0; i < 5; i++) t.draw(rng).episodes.forEach((e) => names.add(e.structure.name));
  assert.deepEqual([...names].sort(), ["chain7", "general7", "tree7"]);
  assert.throws(
    () => buildTask(task({}, [paperGraph("chain7"), paperGraph("general5")])),
    /structure "general5" does not share the token layout of "chain7": 5 variables.*vs 7 variables/,
  );
});

test("a random-DAG task draws a new DAG per context over one shared layout", () => {
  const t = buildTask(
    task({
      kind: "random-dag",
      structures: [],
      randomDag: { nodes: 5, pMin: 0.1, pMax: 0.8, states: 2 },
    }),
  );
  assert.equal(structureLayout(t).vars, 5);
  const { episodes } = t.draw(createRng(4));
  const shapes = new Set(episodes.map((e) => JSON.stringify(e.structure.parents)));
  assert.ok(shapes.size > 1, "contexts of one batch have different DAGs");
  assert.throws(
    () => buildTask(task({ kind: "random-dag", structures: [], randomDag: null })),
    /structures must be non-empty exactly when randomDag is null/,
  );
});

test("a modular random-DAG task draws each context's DAG from modularRandomDag, targets at the true parents", () => {
  const randomDag = {
    dagPrior: "modular" as const,
    nodes: 6,
    states: 2,
    edgeProb: 0.5,
    maxParents: 2,
  };
  const c = task({ kind: "random-dag", structures: [], randomDag, batchSize: 8 });
  const t = buildTask(c);
  assert.equal(structureLayout(t).vars, 6);
  const { batch, episodes, contextRows } = t.draw(createRng(11));
  // The same stream by hand: N, then per context a generator from one draw, its DAG first.
  const rng = createRng(11);
  assert.equal(drawContextLength(c, rng), contextRows);
  const shapes = new Set<string>();
  episodes.forEach((e) => {
    const expected = modularRandomDag(createRng(rng.nextUint32()), modularDagOptions(randomDag)!);
    assert.deepEqual(e.structure.parents, expected.parents);
    assert.ok(e.structure.parents.every((ps) => ps.length <= 2));
    shapes.add(JSON.stringify(e.structure.parents));
  });
  assert.ok(shapes.size > 1, "contexts of one batch have different DAGs");
  // Targets: the posterior mean at each query row's configuration of the TRUE parents.
  const e = episodes[3]!;
  const M = 6;
  for (let r = 0; r < c.queryRows; r++) {
    const row = e.queryRows.data.subarray(r * M, (r + 1) * M);
    for (let m = 0; m < M; m++) {
      const counts = queryCounts(e.structure, e.context, m, e.structure.parents[m]!, row);
      const want = posteriorMean(c.prior, counts);
      const at = ((3 * c.queryRows + r) * M + m) * 2;
      assert.ok(Math.abs(batch.targets[at]! - want[0]!) < 1e-6, `row ${r} node ${m}`);
    }
  }
  assert.throws(
    () => buildTask({ ...c, randomDag: { ...randomDag, edgeProb: 1.5 } }),
    /edgeProb must be in \[0, 1\], got 1.5/,
  );
});

test("modular random DAGs over many contexts have the prior's edge frequency", () => {
  const randomDag = {
    dagPrior: "modular" as const,
    nodes: 4,
    states: 2,
    edgeProb: 0.3,
    maxParents: 3,
  };
  const t = buildTask(task({ kind: "random-dag", structures: [], randomDag, batchSize: 50 }));
  const rng = createRng(2);
  let edges = 0;
  let contexts = 0;
  for (let i = 0; i < 20; i++) {
    for (const e of t.draw(rng).episodes) {
      edges += e.structure.parents.reduce((n, ps) => n + ps.length, 0);
      contexts++;
    }
  }
  // With K = 3 >= every node's candidates, each of the 6 pairs is an edge with probability 0.3.
  const freq = edges / (6 * contexts);
  assert.ok(Math.abs(freq - 0.3) < 0.03, `edge frequency ${freq}`);
});

test("a categorical task (Sachs, Dirichlet) has 3 outputs and Dirichlet posterior-mean targets", () => {
  const sachs = sachsGraph(readFileSync("data/sachs/GroundTruth.csv", "utf8"));
  const t = buildTask(
    task({ kind: "categorical", prior: { kind: "dirichlet", alpha: 1 } }, [sachs]),
  );
  assert.equal(t.outputDim, 3);
  const { batch } = t.draw(createRng(5));
  assert.equal(batch.valid, undefined, "every Sachs variable has 3 states");
  for (let q = 0; q < batch.targets.length / 3; q++) {
    const s = batch.targets[3 * q]! + batch.targets[3 * q + 1]! + batch.targets[3 * q + 2]!;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  assert.throws(
    () => buildTask(task({ kind: "categorical" }, [sachs])),
    /uniform prior needs binary variables/,
  );
});

test("mixed cardinalities get a validity mask per query", () => {
  const s: Structure = {
    name: "mix",
    variables: [
      { name: "A", states: ["a", "b", "c"] },
      { name: "B", states: ["0", "1"] },
    ],
    parents: [[], [0]],
  };
  const t = buildTask(
    task({ prior: { kind: "dirichlet", alpha: 1 }, batchSize: 1, queryRows: 1 }, [s]),
  );
  assert.deepEqual(Array.from(t.draw(createRng(1)).batch.valid!), [1, 1, 1, 1, 1, 0]);
});

test("length buckets: few shapes, the last at the longest context; probabilities sum to 1", () => {
  assert.deepEqual(contextBuckets(1, 200), [16, 32, 64, 96, 144, 200]);
  assert.deepEqual(contextBuckets(1, 12), [12]);
  const c = task({ contextMin: 1, contextMax: 200 });
  for (const lengthSampling of ["uniform", "log-uniform", "mixed"] as const) {
    const p = lengthProbabilities({ ...c, lengthSampling });
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12, lengthSampling);
  }
  const t = buildTask(c);
  const probs = bucketProbabilities(t, t.lengthBuckets);
  assert.deepEqual([...probs.keys()], [...t.lengthBuckets]);
  // Empirical bucket frequencies match (5000 draws; 3 sd of a frequency near 0.5 is ~0.02).
  const rng = createRng(11);
  const counts = new Map<number, number>();
  for (let i = 0; i < 5000; i++) {
    const n = drawContextLength({ ...c, lengthSampling: "mixed" }, rng);
    const T = t.lengthBuckets.find((b) => b >= t.tokensFor(n))!;
    counts.set(T, (counts.get(T) ?? 0) + 1);
  }
  for (const [T, p] of probs)
    assert.ok(Math.abs((counts.get(T) ?? 0) / 5000 - p) < 0.025, `bucket ${T}`);
});
