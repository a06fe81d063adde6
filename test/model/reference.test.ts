import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import type { TransformerSpec, TransformerWeights } from "../../src/model/spec.ts";
import {
  TOKEN_CONTEXT,
  TOKEN_PAD,
  TOKEN_QUERY,
  paramShapes,
  unflattenWeights,
} from "../../src/model/spec.ts";
import {
  erf,
  erfc,
  forwardQueries,
  forwardReference,
  gelu,
  prepareContext,
} from "../../src/model/reference.ts";
import { construct } from "../../src/model/construction.ts";
import { encodeContext, encodeQueries, queriesForTargets } from "../../src/model/encoding.ts";
import {
  SMALL_SPEC,
  ancestralRows,
  randomNetwork,
  randomTokens,
  randomWeights,
} from "./construction-fixtures.ts";

/** Float64 arithmetic in a different order (numpy vs loops) differs by a few ulps. */
const ROUNDING = 1e-13;

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = "",
): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`,
    );
  }
}

test("erf, erfc and GELU match Python's math.erf / math.erfc to 2e-16", () => {
  // Golden values: python3 -c "import math; print(repr(math.erf(x)), repr(math.erfc(x)))".
  const golden: [number, number, number][] = [
    [1e-8, 1.1283791670955126e-8, 0.9999999887162083],
    [0.1, 0.1124629160182849, 0.8875370839817152],
    [0.5, 0.5204998778130465, 0.4795001221869535],
    [1, 0.8427007929497149, 0.15729920705028513],
    [2, 0.9953222650189527, 0.004677734981047265],
    [3, 0.9999779095030014, 2.2090496998585438e-5],
    [3.5, 0.9999992569016276, 7.430983723414128e-7],
    [5, 0.9999999999984626, 1.5374597944280351e-12],
    [-1.5, -0.9661051464753108, 1.9661051464753108],
  ];
  for (const [x, e, ec] of golden) {
    assert.ok(Math.abs(erf(x) - e) <= 2.5e-16, `erf(${x}) = ${erf(x)}, expected ${e}`);
    assert.ok(Math.abs(erfc(x) - ec) <= 2.5e-16, `erfc(${x}) = ${erfc(x)}, expected ${ec}`);
  }
  // Large arguments: erfc keeps relative accuracy (continued fraction).
  assert.ok(Math.abs(erfc(6) / 2.1519736712498916e-17 - 1) < 1e-14);
  // GELU golden: 0.5 * x * math.erfc(-x / math.sqrt(2)).
  const g: [number, number][] = [
    [-3, -0.004049694094890287],
    [-1, -0.15865525393145707],
    [0.5, 0.34573123063700656],
    [3, 2.99595030590511],
    [-6, -5.919525870226207e-9],
  ];
  for (const [x, y] of g)
    assert.ok(Math.abs(gelu(x) - y) <= 5e-16, `gelu(${x}) = ${gelu(x)}, expected ${y}`);
});

test("a hand-computed one-layer forward pass", () => {
  // I = D = 2, one head of width 1, no MLP, no LN. Embedding = identity.
  // q = x0, k = x1, v = x0 + x1 (column 0 of wv), wo writes the head into channel 0.
  const spec: TransformerSpec = {
    format: "bnformer-transformer/1",
    inputDim: 2,
    dModel: 2,
    layers: [{ heads: 1, headDim: 1, mlpHidden: 0 }],
    activation: "relu",
    layerNorm: false,
    outputDim: 1,
    output: "logits",
  };
  const t = (shape: number[], data: number[]) => ({ shape, data: Float64Array.from(data) });
  const w: TransformerWeights = {
    embed: { w: t([2, 2], [1, 0, 0, 1]), b: t([2], [0, 0]) },
    layers: [
      {
        attn: {
          wq: t([2, 1], [1, 0]),
          bq: t([1], [0]),
          wk: t([2, 1], [0, 1]),
          bk: t([1], [0]),
          wv: t([2, 1], [1, 1]),
          bv: t([1], [0]),
          wo: t([1, 2], [1, 0]),
          bo: t([2], [0, 0]),
        },
      },
    ],
    out: { w: t([2, 1], [1, 0]), b: t([1], [0.5]) },
  };
  // Tokens: context (0, 1), context (0, 0), query (2, 0).
  const tokens = Float64Array.from([0, 1, 0, 0, 2, 0]);
  const kinds = Uint8Array.from([TOKEN_CONTEXT, TOKEN_CONTEXT, TOKEN_QUERY]);
  const r = forwardReference(spec, w, tokens, kinds);
  // Query: q = 2; keys 1, 0, 0 (itself); scores 2, 0, 0; values 1, 0, 2.
  const z = Math.exp(2) + 2;
  const attnOut = (Math.exp(2) * 1 + 0 + 2) / z;
  assertClose(r.outputs, [2 + attnOut + 0.5], 1e-15, "output");
  assertClose(r.attention[0]!.subarray(6, 9), [Math.exp(2) / z, 1 / z, 1 / z], 1e-15, "query row");
  // Context token 0 (q = 0) sees the two context tokens only: uniform, and never the query.
  assertClose(r.attention[0]!.subarray(0, 3), [0.5, 0.5, 0], 0, "context row");
});

test("the mask: queries see context and themselves, context never sees queries, PAD changes nothing", () => {
  const rng = createRng(7);
  const w = randomWeights(rng, SMALL_SPEC, 0.7);
  const I = SMALL_SPEC.inputDim;
  const tokens = randomTokens(rng, 6, I);
  const kinds = Uint8Array.from([0, 0, 1, 0, 2, 1]);
  const base = forwardReference(SMALL_SPEC, w, tokens, kinds);
  for (const att of base.attention) {
    for (let h = 0; h < att.length / 36; h++) {
      for (let i = 0; i < 6; i++) {
        const row = att.subarray((h * 6 + i) * 6, (h * 6 + i + 1) * 6);
        const sum = row.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-15, `row ${i} sums to ${sum}`);
        for (let j = 0; j < 6; j++) {
          const ok = i === j || (kinds[j] === TOKEN_CONTEXT && kinds[i] !== TOKEN_PAD);
          if (!ok) assert.equal(row[j], 0, `token ${i} must not attend to ${j}`);
          else assert.ok(row[j]! > 0);
        }
      }
    }
  }
  // Changing the second query or the PAD token leaves the first query's output unchanged.
  const changed = Float64Array.from(tokens);
  for (let c = 0; c < I; c++) {
    changed[5 * I + c] = 3 - c;
    changed[4 * I + c] = -2;
  }
  const r2 = forwardReference(SMALL_SPEC, w, changed, kinds);
  assert.deepEqual(Array.from(r2.outputs.subarray(0, 3)), Array.from(base.outputs.subarray(0, 3)));
  assert.notDeepEqual(
    Array.from(r2.outputs.subarray(3, 6)),
    Array.from(base.outputs.subarray(3, 6)),
  );
});

test("matches an independent numpy forward pass (LayerNorm, GELU, 2 heads, logits)", () => {
  // Golden: the weights and tokens below saved with saveCheckpoint/writeSafetensors, then
  // `python3 bench/construction_numpy.py DIR DIR/inputs.safetensors --print` (numpy 2.4.6, "full").
  const rng = createRng(2024);
  const w = randomWeights(rng, SMALL_SPEC, 0.7);
  const tokens = randomTokens(rng, 6, SMALL_SPEC.inputDim);
  const kinds = Uint8Array.from([0, 0, 1, 0, 2, 1]);
  const numpy = [
    0.3944836078938988, 0.9887253905783348, 1.8592644805454248, 0.3494535414081455,
    1.3560107194278423, 1.088354149579476,
  ];
  assertClose(forwardReference(SMALL_SPEC, w, tokens, kinds).outputs, numpy, ROUNDING, "outputs");
});

test("context tokens are permutation-equivariant: reordering them leaves the queries' outputs", () => {
  const rng = createRng(11);
  const w = randomWeights(rng, SMALL_SPEC, 0.7);
  const I = SMALL_SPEC.inputDim;
  const tokens = randomTokens(rng, 7, I);
  const kinds = Uint8Array.from([0, 0, 0, 0, 0, 1, 1]);
  const perm = [3, 0, 4, 1, 2, 5, 6];
  const permuted = new Float64Array(tokens.length);
  perm.forEach((src, dst) => permuted.set(tokens.subarray(src * I, (src + 1) * I), dst * I));
  const a = forwardReference(SMALL_SPEC, w, tokens, kinds);
  const b = forwardReference(SMALL_SPEC, w, permuted, kinds);
  assertClose(b.outputs, a.outputs, ROUNDING, "outputs");
});

test("prepareContext + forwardQueries give the same outputs and attention as forwardReference", () => {
  const rng = createRng(5);
  for (const spec of [
    SMALL_SPEC,
    { ...SMALL_SPEC, layerNorm: false, activation: "relu" as const },
  ]) {
    const w = randomWeights(rng, spec, 0.7);
    const I = spec.inputDim;
    const N = 9;
    const Q = 4;
    const context = randomTokens(rng, N, I);
    const queries = randomTokens(rng, Q, I);
    const cache = prepareContext(spec, w, context);
    const fast = forwardQueries(spec, w, cache, queries);
    for (let i = 0; i < Q; i++) {
      const tokens = new Float64Array((N + 1) * I);
      tokens.set(context);
      tokens.set(queries.subarray(i * I, (i + 1) * I), N * I);
      const kinds = new Uint8Array(N + 1);
      kinds[N] = TOKEN_QUERY;
      const full = forwardReference(spec, w, tokens, kinds);
      assertClose(fast.outputs.subarray(i * 3, (i + 1) * 3), full.outputs, ROUNDING, `query ${i}`);
      spec.layers.forEach((l, li) => {
        for (let h = 0; h < l.heads; h++) {
          const row = full.attention[li]!.subarray(
            (h * (N + 1) + N) * (N + 1),
            (h * (N + 1) + N + 1) * (N + 1),
          );
          const got = fast.attention[li]!.subarray(
            (h * Q + i) * (N + 1),
            (h * Q + i + 1) * (N + 1),
          );
          assertClose(got, row, ROUNDING, `layer ${li} head ${h} query ${i}`);
        }
      });
    }
  }
});

test("wrong token counts and non-finite weights are rejected with the offending name", () => {
  const rng = createRng(3);
  const w = randomWeights(rng, SMALL_SPEC, 0.5);
  assert.throws(
    () => forwardReference(SMALL_SPEC, w, new Float64Array(7), new Uint8Array(2)),
    /tokens have 7 values; expected 2 tokens x inputDim 5 = 10/,
  );
  const flat = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, shape] of paramShapes(SMALL_SPEC)) {
    flat.set(name, { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  }
  flat.get("layers.1.attn.wv")!.data[2] = NaN;
  const bad = unflattenWeights(SMALL_SPEC, flat);
  assert.throws(
    () => forwardReference(SMALL_SPEC, bad, new Float64Array(5), new Uint8Array(1)),
    /weight "layers.1.attn.wv" has a non-finite value/,
  );
});

test("without attention maps the outputs are the same bits (silent heads are skipped)", () => {
  const rng = createRng(12);
  const net = randomNetwork(rng, 5, 2, 3);
  const c = construct(net, { eps: 1e-3, maxContext: 30 }); // layer 1's head is silent
  const context = encodeContext(c.layout, ancestralRows(rng, net, 30));
  const queries = encodeQueries(
    c.layout,
    queriesForTargets(ancestralRows(rng, net, 3), [0, 1, 2, 3, 4]),
  );
  const tokens = new Float64Array(context.length + queries.length);
  tokens.set(context);
  tokens.set(queries, context.length);
  const kinds = new Uint8Array(30 + 15);
  kinds.fill(TOKEN_QUERY, 30);
  const kept = forwardReference(c.spec, c.weights, tokens, kinds);
  const dropped = forwardReference(c.spec, c.weights, tokens, kinds, { keepAttention: false });
  assert.deepEqual(Array.from(dropped.outputs), Array.from(kept.outputs));
  assert.equal(dropped.attention.length, 0);
  const cache = prepareContext(c.spec, c.weights, context);
  const fast = forwardQueries(c.spec, c.weights, cache, queries, { keepAttention: false });
  assert.deepEqual(Array.from(fast.outputs), Array.from(kept.outputs));
});
