import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Structure } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { createRng } from "../../src/bn/rng.ts";
import { estimateBackoff } from "../../src/estimate/backoff.ts";
import { generateRows } from "../../src/estimate/generate.ts";
import { tvDistance } from "../../src/eval/metrics.ts";
import { construct } from "../../src/model/construction.ts";
import { loadConstruction, saveConstruction } from "../../src/model/checkpoint.ts";
import { encodeEpisode, tokenLayout } from "../../src/model/encoding.ts";
import { forwardReference } from "../../src/model/reference.ts";
import type { TransformerSpec } from "../../src/model/spec.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY } from "../../src/model/spec.ts";
import {
  constructionEngine,
  estimatorEngine,
  explainModel,
  explainQuery,
  familyEngine,
  transformerEngine,
} from "../../src/model/engine.ts";
import {
  encodeFamilyContext,
  encodeFamilyQueries,
  familyLayout,
} from "../../src/model/family-encoding.ts";
import {
  ancestralRows,
  randomNetwork,
  randomWeights,
  withRandomCpts,
} from "./construction-fixtures.ts";

const EPS = 1e-6;

/** The general7 graph of the paper (PAPER.md §3), inline: binary A..G. */
const general7: Structure = {
  name: "general7",
  variables: "ABCDEFG".split("").map((name) => ({ name, states: ["0", "1"] })),
  parents: [[], [], [0, 1], [0, 2], [3], [3, 4], [2, 4]],
};

function differingRows(a: Dataset, b: Dataset): number {
  let n = 0;
  for (let r = 0; r < a.rows; r++) {
    for (let v = 0; v < a.vars; v++) {
      if (a.data[r * a.vars + v] !== b.data[r * b.vars + v]) {
        n++;
        break;
      }
    }
  }
  return n;
}

test("the same seed generates the same rows from the construction and from the MLE engine", () => {
  const rng = createRng(20);
  const full = withRandomCpts(rng, general7, 1);
  const context = ancestralRows(rng, full, 500);
  const c = constructionEngine({ eps: EPS, maxContext: 500 }).bind(full, context);
  const m = estimatorEngine({ estimator: "mle" }).bind(full, context);
  const a = generateRows(createRng(7), full, 200, c);
  const b = generateRows(createRng(7), full, 200, m);
  assert.equal(differingRows(a, b), 0);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
});

test("with unseen configurations the construction generates exactly what the back-off estimator does", () => {
  const rng = createRng(22);
  const net = randomNetwork(rng, 7, 3, 3);
  const context = ancestralRows(rng, net, 15); // small: many parent configurations unseen
  const backoff = (t: number, row: Uint8Array) => estimateBackoff(net, context, t, row);
  const c = constructionEngine({ eps: EPS, maxContext: 100 }).bind(net, context);
  const a = generateRows(createRng(9), net, 200, c);
  const b = generateRows(createRng(9), net, 200, backoff);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  // The MLE engine's unseen policy (context marginal) differs from the back-off, so its rows may.
  const mle = generateRows(createRng(9), net, 200, estimatorEngine().bind(net, context));
  console.log(
    `rows differing from the MLE engine (unseen policy "marginal"): ${differingRows(a, mle)} of 200`,
  );
});

test("an engine over reloaded weights generates the same rows as over the constructed ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-engine-"));
  try {
    const rng = createRng(23);
    const net = randomNetwork(rng, 6, 2, 3);
    const built = construct(net, { eps: 1e-3, maxContext: 50 });
    saveConstruction(dir, built);
    const context = ancestralRows(rng, net, 50);
    const a = generateRows(createRng(1), net, 50, constructionEngine(built).bind(net, context));
    const b = generateRows(
      createRng(1),
      net,
      50,
      constructionEngine(loadConstruction(dir)).bind(net, context),
    );
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the engine refuses contexts beyond maxContext and other structures", () => {
  const rng = createRng(24);
  const net = randomNetwork(rng, 4, 2, 2);
  const engine = constructionEngine(construct(net, { eps: 1e-3, maxContext: 10 }));
  assert.throws(
    () => engine.bind(net, ancestralRows(rng, net, 11)),
    /the context has 11 rows; this model's guarantee holds up to maxContext = 10/,
  );
  const other = { ...net, parents: net.parents.map(() => []) };
  assert.throws(
    () => engine.bind(other, ancestralRows(rng, net, 5)),
    /the model was built for network "random"/,
  );
});

test("a generic transformer engine encodes the context per target and softmaxes the target's logits", () => {
  const rng = createRng(25);
  const net = randomNetwork(rng, 5, 2, 3);
  const layout = tokenLayout(net);
  const spec: TransformerSpec = {
    format: "bnformer-transformer/1",
    inputDim: layout.width,
    dModel: 8,
    layers: [{ heads: 2, headDim: 4, mlpHidden: 16 }],
    activation: "gelu",
    layerNorm: true,
    outputDim: layout.maxCard,
    output: "logits",
  };
  const weights = randomWeights(rng, spec, 0.5);
  const context = ancestralRows(rng, net, 12);
  const cond = transformerEngine({ structure: net, spec, weights }).bind(net, context);
  const row = ancestralRows(rng, net, 1).data;
  for (let t = 0; t < 5; t++) {
    const p = cond(t, row);
    // The same query through the full forward pass (one target: context tokens marked).
    const ep = encodeEpisode(layout, context, [{ row, target: t }]);
    const logits = forwardReference(spec, weights, ep.tokens, ep.kinds).outputs.subarray(
      0,
      layout.cards[t]!,
    );
    const z = logits.reduce((s, x) => s + Math.exp(x), 0);
    assert.equal(p.length, layout.cards[t]!);
    p.forEach((x, i) => assert.ok(Math.abs(x - Math.exp(logits[i]!) / z) < 1e-13));
  }
});

test("explainModel: any transformer's output is its engine's, with every head's attention", () => {
  const rng = createRng(27);
  const net = randomNetwork(rng, 5, 2, 3);
  const layout = tokenLayout(net);
  const spec: TransformerSpec = {
    format: "bnformer-transformer/1",
    inputDim: layout.width,
    dModel: 8,
    layers: [
      { heads: 2, headDim: 4, mlpHidden: 16 },
      { heads: 4, headDim: 2, mlpHidden: 0 },
    ],
    activation: "gelu",
    layerNorm: true,
    outputDim: layout.maxCard,
    output: "logits",
  };
  const weights = randomWeights(rng, spec, 0.5);
  const context = ancestralRows(rng, net, 12);
  const row = ancestralRows(rng, net, 1).data;
  // Per-target marked contexts that hide the variables after the target, and a shared one.
  for (const model of [
    { structure: net, spec, weights, encoding: { contextVisible: "throughTarget" as const } },
    { structure: net, spec, weights, shareContext: true },
  ]) {
    const cond = transformerEngine(model).bind(net, context);
    for (let t = 0; t < 5; t++) {
      const x = explainModel(model, net, context, row, t);
      const p = cond(t, row);
      assert.equal(x.distribution.length, p.length);
      p.forEach((v, i) => assert.ok(Math.abs(x.distribution[i]! - v) < 1e-12));
      assert.deepEqual(
        x.heads.map((h) => `${h.layer}.${h.head}`),
        ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4"],
      );
      for (const h of x.heads) {
        const sum = h.weights.reduce((a, b) => a + b, 0) + h.selfWeight;
        assert.ok(Math.abs(sum - 1) < 1e-12 && h.weights.length === 12);
      }
    }
  }
  assert.throws(
    () =>
      explainModel(
        { structure: net, spec, weights },
        { ...net, name: "x", parents: net.parents.map(() => []) },
        context,
        row,
        0,
      ),
    /the model was built for network/,
  );
});

test("explainQuery: the layer-2 attention sits uniformly on the back-off rows", () => {
  const rng = createRng(26);
  const net = randomNetwork(rng, 6, 3, 3);
  const c = construct(net, { eps: EPS, maxContext: 200 });
  const context = ancestralRows(rng, net, 200);
  const row = ancestralRows(rng, net, 1).data;
  for (let t = 0; t < 6; t++) {
    const x = explainQuery(c, context, row, t);
    const rows = new Set(x.support.rows);
    const on = x.support.rows.reduce((s, r) => s + x.weights[r]!, 0);
    assert.ok(1 - on <= EPS, `mass off the back-off rows: ${1 - on}`);
    for (const r of rows) assert.ok(Math.abs(x.weights[r]! - on / rows.size) < 1e-12);
    assert.ok(x.selfWeight <= EPS);
    assert.ok(tvDistance(x.distribution, x.support.distribution) <= EPS);
  }
  // A query missing a parent still works (that parent is ignored).
  const partial = Uint8Array.from(row);
  partial.fill(MISSING);
  assert.doesNotThrow(() => explainQuery(c, context, partial, c.layout.order[5]!));
});

test("a family model whose context sees only itself: counting distinct rows gives the full forward pass", () => {
  const layout = familyLayout(2, 2);
  const spec: TransformerSpec = {
    format: "bnformer-transformer/1",
    inputDim: layout.width,
    dModel: 8,
    layers: [
      { heads: 2, headDim: 4, mlpHidden: 8 },
      { heads: 2, headDim: 4, mlpHidden: 8 },
    ],
    activation: "gelu",
    layerNorm: true,
    outputDim: 2,
    output: "logits",
    contextAttention: "self",
  };
  const rng = createRng(21);
  const weights = randomWeights(rng, spec, 0.7);
  // 40 rows of 3 binary variables: at most 8 distinct rows, so nearly every row repeats.
  const contexts: Dataset[] = [40, 7].map((rows) => ({
    vars: 3,
    rows,
    data: Uint8Array.from({ length: 3 * rows }, () => rng.nextInt(2)),
  }));
  const structure = {
    ...general7,
    variables: general7.variables.slice(0, 3),
    parents: [[], [0], [0, 1]],
  };
  // One engine for both contexts: the second reuses the token states kept from the first.
  const engine = familyEngine({ spec, weights, layout });
  let compared = 0;
  for (const context of contexts) {
    const cond = engine.bind(structure, context);
    for (const target of [0, 1, 2]) {
      for (const query of [Uint8Array.of(0, 1, 0), Uint8Array.of(1, 1, 1)]) {
        const tokens = encodeFamilyContext(layout, structure, target, context);
        const q = encodeFamilyQueries(layout, structure, target, [query]);
        const all = new Float64Array(tokens.length + q.length);
        all.set(tokens);
        all.set(q, tokens.length);
        const kinds = new Uint8Array(context.rows + 1).fill(TOKEN_CONTEXT);
        kinds[context.rows] = TOKEN_QUERY;
        const logits = forwardReference(spec, weights, all, kinds, {
          keepAttention: false,
        }).outputs;
        const z = Math.exp(logits[0]!) + Math.exp(logits[1]!);
        const p = cond(target, query);
        assert.ok(Math.abs(p[0]! - Math.exp(logits[0]!) / z) < 1e-12, `target ${target}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 12);
  const context = contexts[0]!;
  const cond = engine.bind(structure, context);
  // The mode matters: the same weights reading the context bidirectionally differ.
  const both = familyEngine({ spec: { ...spec, contextAttention: "context" }, weights, layout });
  const q = Uint8Array.of(1, 1, 1);
  assert.ok(Math.abs(both.bind(structure, context)(2, q)[0]! - cond(2, q)[0]!) > 1e-6);
});
