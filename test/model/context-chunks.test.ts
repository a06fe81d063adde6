// Running a context in chunks (reference.ts: prepareContextChunked, forwardQueriesStreamed)
// and the engine that uses them for long contexts: the same numbers as the whole-context
// path, bit for bit for the chunked cache, within 1e-12 for the streamed softmax.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BnformerError } from "../../src/errors.ts";
import { createRng } from "../../src/bn/rng.ts";
import { sliceRows } from "../../src/bn/dataset.ts";
import { construct } from "../../src/model/construction.ts";
import { encodeContext, encodeQueries } from "../../src/model/encoding.ts";
import type { ContextSource } from "../../src/model/reference.ts";
import {
  contextIsRowLocal,
  forwardQueries,
  forwardQueriesStreamed,
  prepareContext,
  prepareContextChunked,
} from "../../src/model/reference.ts";
import { constructionModel, transformerEngine } from "../../src/model/engine.ts";
import type { TransformerWeights } from "../../src/model/spec.ts";
import {
  SMALL_SPEC,
  ancestralRows,
  randomNetwork,
  randomTokens,
  randomWeights,
  withMissing,
} from "./construction-fixtures.ts";

/** A source over fixed tokens (N, I). */
function tokenSource(tokens: Float64Array, I: number): ContextSource {
  return { rows: tokens.length / I, encode: (a, b) => tokens.slice(a * I, b * I) };
}

function assertClose(a: Float64Array, b: Float64Array, tol: number) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `entry ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** SMALL_SPEC (LayerNorm, GELU, 2 heads, logits) with random weights and a silent layer 0. */
function rowLocalSmallModel(seed: number): TransformerWeights {
  const w = randomWeights(createRng(seed), SMALL_SPEC, 0.7);
  w.layers[0]!.attn.wo.data.fill(0);
  return w;
}

test("a generic row-local model: chunked cache is bit-equal, streaming within 1e-12", () => {
  const w = rowLocalSmallModel(1);
  assert.ok(contextIsRowLocal(SMALL_SPEC, w));
  const rng = createRng(2);
  const I = SMALL_SPEC.inputDim;
  const ctx = randomTokens(rng, 37, I);
  const queries = randomTokens(rng, 5, I);
  const whole = prepareContext(SMALL_SPEC, w, ctx);
  const opts = { keepAttention: false };
  const expected = forwardQueries(SMALL_SPEC, w, whole, queries, opts).outputs;
  for (const chunk of [1, 4, 37, 1000]) {
    const cache = prepareContextChunked(SMALL_SPEC, w, tokenSource(ctx, I), chunk);
    cache.layers.forEach((kv, l) => {
      assert.deepEqual(kv.k, whole.layers[l]!.k, `layer ${l} keys, chunk ${chunk}`);
      assert.deepEqual(kv.v, whole.layers[l]!.v, `layer ${l} values, chunk ${chunk}`);
    });
    assert.deepEqual(forwardQueries(SMALL_SPEC, w, cache, queries, opts).outputs, expected);
    const streamed = forwardQueriesStreamed(SMALL_SPEC, w, tokenSource(ctx, I), queries, chunk);
    assertClose(streamed.outputs, expected, 1e-12);
  }
  // An empty context: each query attends to itself only.
  const none = prepareContext(SMALL_SPEC, w, new Float64Array(0));
  assertClose(
    forwardQueriesStreamed(SMALL_SPEC, w, tokenSource(new Float64Array(0), I), queries).outputs,
    forwardQueries(SMALL_SPEC, w, none, queries, opts).outputs,
    1e-12,
  );
});

test("a model whose early layers attend cannot be chunked", () => {
  const w = randomWeights(createRng(3), SMALL_SPEC, 0.7);
  assert.equal(contextIsRowLocal(SMALL_SPEC, w), false);
  const src = tokenSource(randomTokens(createRng(4), 6, SMALL_SPEC.inputDim), SMALL_SPEC.inputDim);
  const q = randomTokens(createRng(5), 1, SMALL_SPEC.inputDim);
  for (const run of [
    () => prepareContextChunked(SMALL_SPEC, w, src),
    () => forwardQueriesStreamed(SMALL_SPEC, w, src, q),
  ]) {
    assert.throws(run, (e: unknown) => e instanceof BnformerError && e.code === "spec");
  }
});

test("the construction streamed through a context equals the whole-context run to 1e-12", () => {
  const rng = createRng(6);
  const net = randomNetwork(rng, 6, 3, 3);
  const c = construct(net, { eps: 1e-6, maxContext: 300 });
  assert.ok(contextIsRowLocal(c.spec, c.weights));
  const context = withMissing(rng, ancestralRows(rng, net, 300), 0.1);
  const source: ContextSource = {
    rows: context.rows,
    encode: (a, b) => encodeContext(c.layout, sliceRows(context, a, b), {}, -1, a),
  };
  const rows = ancestralRows(rng, net, 8);
  const queries = Array.from({ length: 8 * 6 }, (_, i) => ({
    row: rows.data.subarray((i % 8) * 6, ((i % 8) + 1) * 6),
    target: i % 6,
  }));
  const tokens = encodeQueries(c.layout, queries);
  const whole = prepareContext(c.spec, c.weights, encodeContext(c.layout, context));
  const expected = forwardQueries(c.spec, c.weights, whole, tokens).outputs;
  for (const chunk of [1, 7, 300]) {
    const streamed = forwardQueriesStreamed(c.spec, c.weights, source, tokens, chunk).outputs;
    assertClose(streamed, expected, 1e-12);
    const cached = prepareContextChunked(c.spec, c.weights, source, chunk);
    const out = forwardQueries(c.spec, c.weights, cached, tokens).outputs;
    assert.deepEqual(out, expected);
  }
});

test("the construction engine streams a context past its cache budget, with the same answers", () => {
  const rng = createRng(7);
  const net = randomNetwork(rng, 5, 2, 3);
  const context = ancestralRows(rng, net, 200);
  const c = construct(net, { eps: 1e-6, maxContext: 200 });
  const cached = transformerEngine(constructionModel(c)).bind(net, context);
  const streamed = transformerEngine({ ...constructionModel(c), contextCacheBytes: 0 }).bind(
    net,
    context,
  );
  const rows = ancestralRows(rng, net, 10);
  for (let r = 0; r < rows.rows; r++) {
    const row = rows.data.subarray(r * 5, (r + 1) * 5);
    for (let t = 0; t < 5; t++) assertClose(streamed(t, row), cached(t, row), 1e-12);
  }
  // A bad cell in a chunk is reported with its row number in the whole context.
  const bad = { ...context, data: Uint8Array.from(context.data) };
  bad.data[150 * 5 + 2] = 9;
  assert.throws(
    () => encodeContext(c.layout, sliceRows(bad, 100, 200), {}, -1, 100),
    (e: unknown) => e instanceof BnformerError && /row 150/.test(e.message),
  );
});
