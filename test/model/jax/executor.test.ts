import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../../src/bn/rng.ts";
import type { Rng } from "../../../src/bn/rng.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "../../../src/model/spec.ts";
import {
  TOKEN_CONTEXT,
  TOKEN_PAD,
  TOKEN_QUERY,
  attends,
  flattenWeights,
  unflattenWeights,
} from "../../../src/model/spec.ts";
import { forwardReference } from "../../../src/model/reference.ts";
import { construct } from "../../../src/model/construction.ts";
import { encodeBatch, queriesForTargets } from "../../../src/model/encoding.ts";
import { sliceRows } from "../../../src/bn/dataset.ts";
import { loadJax, jaxLib } from "../../../src/model/jax/setup.ts";
import type { JaxExecutor, TokenBatch } from "../../../src/model/jax/executor.ts";
import {
  MASK_BIAS,
  attentionBias,
  countContextTokens,
  createExecutor,
  padBatch,
  paramsFromWeights,
  validateBatch,
  weightsFromParams,
} from "../../../src/model/jax/executor.ts";
import {
  SMALL_SPEC,
  ancestralRows,
  randomNetwork,
  randomTokens,
  randomWeights,
} from "../construction-fixtures.ts";

/**
 * Executor vs float64 reference, on the same float32-rounded weights and tokens: what is
 * left is float32 arithmetic (eps 1.2e-7) through LayerNorm, softmax, erf and sums of <= 64
 * terms, plus jax-js's float32 exp/erf approximations (~1e-7 relative). Measured worst case
 * on these specs is ~1.1e-6; 2e-5 leaves headroom while a wrong mask, scale or layout (errors
 * of 1e-2 and more) still fails.
 */
const FORWARD_TOL = 2e-5;

function round32(spec: TransformerSpec, w: TransformerWeights): TransformerWeights {
  const flat = new Map<string, Tensor>();
  for (const [k, t] of flattenWeights(w))
    flat.set(k, { shape: t.shape, data: Float32Array.from(t.data) });
  return unflattenWeights(spec, flat);
}

/** Reference outputs of every sequence of a batch, concatenated in query order. */
function referenceOutputs(spec: TransformerSpec, w: TransformerWeights, b: TokenBatch): number[] {
  const [B, T, I] = b.shape;
  const out: number[] = [];
  for (let s = 0; s < B; s++) {
    const tokens = Float64Array.from(b.tokens.subarray(s * T * I, (s + 1) * T * I));
    const r = forwardReference(spec, w, tokens, b.kinds.subarray(s * T, (s + 1) * T), {
      keepAttention: false,
    });
    out.push(...r.outputs);
  }
  return out;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
) {
  assert.equal(actual.length, expected.length, `${what}: lengths`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(Number.isFinite(actual[i]!), `${what}: entry ${i} is ${actual[i]}`);
    worst = Math.max(worst, e);
  }
  if (process.env.BNFORMER_PRINT_ERRORS) console.log(what, worst);
  assert.ok(worst <= tol, `${what}: worst error ${worst} > ${tol}`);
}

/** Random kinds: context, queries and PAD mixed in every sequence (at least one query). */
function randomBatch(rng: Rng, B: number, T: number, I: number): TokenBatch {
  const kinds = new Uint8Array(B * T);
  for (let i = 0; i < B * T; i++) {
    const u = rng.next();
    kinds[i] = u < 0.6 ? TOKEN_CONTEXT : u < 0.85 ? TOKEN_QUERY : TOKEN_PAD;
  }
  for (let b = 0; b < B; b++) kinds[b * T + T - 1] = TOKEN_QUERY;
  return { tokens: Float32Array.from(randomTokens(rng, B * T, I)), kinds, shape: [B, T, I] };
}

/** Specs under test with the weight scale of each (no LN: smaller, so scores stay O(10)). */
const SPECS: Record<string, [TransformerSpec, number]> = {
  "pre-LN, GELU, 2 heads, an MLP-less layer, logits": [SMALL_SPEC, 0.6],
  "no LN, ReLU, 3 layers, probabilities readout": [
    {
      format: "bnformer-transformer/1",
      inputDim: 4,
      dModel: 8,
      layers: [
        { heads: 1, headDim: 8, mlpHidden: 16 },
        { heads: 4, headDim: 2, mlpHidden: 0 },
        { heads: 2, headDim: 5, mlpHidden: 3 },
      ],
      activation: "relu",
      layerNorm: false,
      outputDim: 2,
      output: "probabilities",
    },
    0.3,
  ],
};

// The same specs with context tokens attending only to themselves: `forward` then takes the
// two-stream path (forwardSelfContext), `forwardAll` the generic masked one.
for (const [name, [spec, scale]] of Object.entries({ ...SPECS }))
  SPECS[`${name}, context self-only`] = [{ ...spec, contextAttention: "self" }, scale];

let execs: Map<TransformerSpec, JaxExecutor>;
before(async () => {
  await loadJax();
  execs = new Map();
  for (const [s] of Object.values(SPECS)) execs.set(s, await createExecutor(s));
});

for (const [name, [spec, scale]] of Object.entries(SPECS)) {
  test(`matches forwardReference on random weights (${name})`, async () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 3; trial++) {
      const w = round32(spec, randomWeights(rng, spec, scale));
      const batch = randomBatch(rng, 3, 9, spec.inputDim);
      const params = paramsFromWeights(spec, w);
      const { outputs, queriesPerSequence } = await execs.get(spec)!.forward(params, batch);
      assertClose(outputs, referenceOutputs(spec, w, batch), FORWARD_TOL, `trial ${trial}`);
      let q = 0;
      for (const k of batch.kinds) if (k === TOKEN_QUERY) q++;
      assert.equal(
        queriesPerSequence.reduce((a, b) => a + b, 0),
        q,
      );
      jaxLib().tree.dispose(params);
    }
  });
}

test("matches forwardReference on the construction's weights (a random network, 3 targets)", async () => {
  const rng = createRng(5);
  const net = randomNetwork(rng, 5, 2, 3);
  const c = construct(net, { eps: 1e-3, maxContext: 40 });
  const rows = ancestralRows(rng, net, 40);
  const episodes = [0, 1, 2].map((e) => ({
    context: sliceRows(rows, e * 10, e * 10 + 8 + e),
    queries: queriesForTargets(sliceRows(rows, 35 + e, 36 + e), [0, 2, 4]),
  }));
  const enc = encodeBatch(c.layout, episodes);
  const batch: TokenBatch = { tokens: enc.tokens, kinds: enc.kinds, shape: enc.shape };
  const w = round32(c.spec, c.weights);
  const ex = await createExecutor(c.spec);
  const params = paramsFromWeights(c.spec, w);
  const { outputs } = await ex.forward(params, batch);
  const ref = referenceOutputs(c.spec, w, batch);
  assertClose(outputs, ref, FORWARD_TOL, "construction");
  assert.ok(
    ref.some((x) => x > 0.2 && x < 0.8),
    "the fixture has non-trivial distributions",
  );
  jaxLib().tree.dispose(params);
  ex.dispose();
});

test("the mask bias is 0 exactly where `attends` allows and MASK_BIAS elsewhere", async () => {
  const { numpy: np } = jaxLib();
  const rng = createRng(3);
  const B = 2;
  const T = 7;
  const kinds = Uint8Array.from({ length: B * T }, () => rng.nextInt(3));
  const ctx = Float32Array.from(kinds, (k) => (k === TOKEN_CONTEXT ? 1 : 0));
  const live = Float32Array.from(kinds, (k) => (k === TOKEN_PAD ? 0 : 1));
  for (const mode of ["context", "self"] as const) {
    const bias = await attentionBias(
      np.array(ctx).reshape([B, T]),
      np.array(live).reshape([B, T]),
      mode,
    ).data();
    for (let b = 0; b < B; b++) {
      const kb = kinds.subarray(b * T, (b + 1) * T);
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++)
          assert.equal(
            bias[(b * T + i) * T + j],
            attends(kb, i, j, mode) ? 0 : MASK_BIAS,
            `${mode} ${b} ${i} ${j}`,
          );
    }
  }
});

test("context rows see each other, the query sees everything, nothing sees the query or PAD", async () => {
  const spec = SMALL_SPEC;
  const ex = execs.get(spec)!;
  const rng = createRng(8);
  const params = paramsFromWeights(spec, round32(spec, randomWeights(rng, spec, 0.6)));
  const T = 6;
  const I = spec.inputDim;
  const O = spec.outputDim;
  // tokens 0..2 context, 3 query, 4 query, 5 PAD
  const kinds = Uint8Array.from([0, 0, 0, 1, 1, 2]);
  const base = Float32Array.from(randomTokens(rng, T, I));
  const outAll = (tokens: Float32Array) =>
    ex.forwardAll(params, { tokens, kinds, shape: [1, T, I] });
  const y0 = await outAll(base);
  const changedRows = async (tok: number): Promise<number[]> => {
    const t = Float32Array.from(base);
    for (let k = 0; k < I; k++) t[tok * I + k]! += 1.5;
    const y = await outAll(t);
    const rows: number[] = [];
    for (let r = 0; r < T; r++) {
      let d = 0;
      for (let o = 0; o < O; o++) d = Math.max(d, Math.abs(y[r * O + o]! - y0[r * O + o]!));
      if (d > 1e-6) rows.push(r);
    }
    return rows;
  };
  // A context token changes every context row and every query (not PAD).
  assert.deepEqual(await changedRows(1), [0, 1, 2, 3, 4]);
  // A query changes only itself; PAD changes only itself.
  assert.deepEqual(await changedRows(3), [3]);
  assert.deepEqual(await changedRows(5), [5]);
  jaxLib().tree.dispose(params);
});

test("with context self-only, a context row changes only itself and the queries", async () => {
  const spec = { ...SMALL_SPEC, contextAttention: "self" as const };
  const ex = await createExecutor(spec);
  const rng = createRng(8);
  const params = paramsFromWeights(spec, round32(spec, randomWeights(rng, spec, 0.6)));
  const T = 6;
  const I = spec.inputDim;
  const O = spec.outputDim;
  const kinds = Uint8Array.from([0, 0, 0, 1, 1, 2]);
  const base = Float32Array.from(randomTokens(rng, T, I));
  const y0 = await ex.forwardAll(params, { tokens: base, kinds, shape: [1, T, I] });
  const t = Float32Array.from(base);
  for (let k = 0; k < I; k++) t[1 * I + k]! += 1.5;
  const y = await ex.forwardAll(params, { tokens: t, kinds, shape: [1, T, I] });
  const changed: number[] = [];
  for (let r = 0; r < T; r++) {
    let d = 0;
    for (let o = 0; o < O; o++) d = Math.max(d, Math.abs(y[r * O + o]! - y0[r * O + o]!));
    if (d > 1e-6) changed.push(r);
  }
  assert.deepEqual(changed, [1, 3, 4]);
  jaxLib().tree.dispose(params);
  ex.dispose();
});

for (const spec of [SMALL_SPEC, { ...SMALL_SPEC, contextAttention: "self" as const }])
  test(`the query-only last layer gives the outputs of running every row (context ${spec.contextAttention ?? "context"})`, async () => {
    const rng = createRng(12);
    const params = paramsFromWeights(spec, round32(spec, randomWeights(rng, spec, 0.6)));
    const batch = randomBatch(rng, 3, 7, spec.inputDim);
    const [B, T] = batch.shape;
    const O = spec.outputDim;
    const ex = execs.get(spec) ?? (await createExecutor(spec));
    const all = await ex.forwardAll(params, batch);
    const rows: number[] = [];
    for (let i = 0; i < B * T; i++)
      if (batch.kinds[i] === TOKEN_QUERY) rows.push(...all.subarray(i * O, (i + 1) * O));
    const { outputs } = await ex.forward(params, batch);
    assertClose(outputs, rows, 1e-6, "query rows");
    jaxLib().tree.dispose(params);
  });

test("padding a batch with PAD tokens leaves every query output unchanged", async () => {
  const spec = SMALL_SPEC;
  const rng = createRng(9);
  const params = paramsFromWeights(spec, round32(spec, randomWeights(rng, spec, 0.6)));
  const batch = randomBatch(rng, 2, 5, spec.inputDim);
  const a = await execs.get(spec)!.forward(params, batch);
  const b = await execs.get(spec)!.forward(params, padBatch(batch, 8));
  assertClose(b.outputs, a.outputs, 1e-6, "padded");
  jaxLib().tree.dispose(params);
});

test("weights round-trip through jax arrays bit-exactly, and forward does not consume params", async () => {
  const spec = SMALL_SPEC;
  const w = round32(spec, randomWeights(createRng(2), spec, 1));
  const params = paramsFromWeights(spec, w);
  await execs.get(spec)!.forward(params, randomBatch(createRng(4), 1, 4, spec.inputDim));
  assert.equal(params.embed.w.refCount, 1);
  const back = await weightsFromParams(spec, params);
  for (const [k, t] of flattenWeights(back)) {
    assert.deepEqual(Array.from(t.data), Array.from(flattenWeights(w).get(k)!.data), k);
  }
  jaxLib().tree.dispose(params);
});

/**
 * Wasm memory in bytes: Node counts it in `external`, beside the ArrayBuffers that reads
 * return (which come and go with the garbage collector); the allocator's memory grows and
 * never shrinks, so a leak shows as steady growth once its free lists are warm.
 */
function wasmBytes(): number {
  const m = process.memoryUsage();
  return m.external - m.arrayBuffers;
}

for (const spec of [SMALL_SPEC, { ...SMALL_SPEC, contextAttention: "self" as const }])
  test(`memory stays flat over many forward passes (context ${spec.contextAttention ?? "context"})`, async () => {
    const ex = execs.get(spec) ?? (await createExecutor(spec));
    const params = paramsFromWeights(spec, round32(spec, randomWeights(createRng(2), spec, 1)));
    const batch = randomBatch(createRng(6), 8, 64, spec.inputDim);
    for (let i = 0; i < 30; i++) await ex.forward(params, batch);
    const before = wasmBytes();
    for (let i = 0; i < 40; i++) await ex.forward(params, batch);
    const grown = wasmBytes() - before;
    // A leak of the (8, 64, 64) attention maps alone would add > 1 MiB per pass.
    assert.ok(grown < 1 << 20, `wasm memory grew by ${grown} bytes over 40 passes`);
    jaxLib().tree.dispose(params);
  });

test("batches that do not fit the spec are rejected with what was expected", async () => {
  const spec = SMALL_SPEC;
  const params = paramsFromWeights(spec, round32(spec, randomWeights(createRng(2), spec, 1)));
  const ex = execs.get(spec)!;
  await assert.rejects(
    ex.forward(params, { tokens: new Float32Array(9), kinds: new Uint8Array(2), shape: [1, 2, 5] }),
    /tokens have 9 values; expected B 1 x T 2 x I 5/,
  );
  await assert.rejects(
    ex.forward(params, {
      tokens: new Float32Array(10),
      kinds: Uint8Array.from([0, 7]),
      shape: [1, 2, 5],
    }),
    /kinds\[1\] = 7 is not CONTEXT, QUERY or PAD/,
  );
  jaxLib().tree.dispose(params);
});

test("counting identical context tokens leaves every query output unchanged (context self-only)", async () => {
  const spec = { ...SMALL_SPEC, contextAttention: "self" as const };
  const ex = await createExecutor(spec);
  const rng = createRng(31);
  const w = round32(spec, randomWeights(rng, spec, 0.6));
  const params = paramsFromWeights(spec, w);
  // Two sequences of 12 tokens: 9 context tokens drawn from 3 distinct ones, 2 queries, 1 PAD.
  const I = spec.inputDim;
  const T = 12;
  const distinct = randomTokens(rng, 3, I);
  const tokens = new Float32Array(2 * T * I);
  const kinds = new Uint8Array(2 * T);
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < T; t++) {
      const at = b * T + t;
      kinds[at] = t < 9 ? TOKEN_CONTEXT : t < 11 ? TOKEN_QUERY : TOKEN_PAD;
      const src = t < 9 ? distinct.subarray(rng.nextInt(3) * I) : randomTokens(rng, 1, I);
      tokens.set(src.subarray(0, I), at * I);
    }
  }
  const batch: TokenBatch = { tokens, kinds, shape: [2, T, I] };
  const counted = countContextTokens(batch);
  assert.ok(counted.shape[1] <= 5, `counted length ${counted.shape[1]}`);
  let total = 0;
  for (let i = 0; i < counted.kinds.length; i++)
    if (counted.kinds[i] === TOKEN_CONTEXT) total += counted.counts![i]!;
  assert.equal(total, 18);
  const full = await ex.forward(params, batch);
  const fewer = await ex.forward(params, counted);
  assertClose(fewer.outputs, full.outputs, 1e-5, "counted vs full");
  assertClose(full.outputs, referenceOutputs(spec, w, batch), FORWARD_TOL, "full vs reference");
  // Counts are refused where they would be wrong: a bidirectional spec, and forwardAll.
  assert.throws(() => validateBatch(SMALL_SPEC, counted), /context attends only to itself/);
  await assert.rejects(ex.forwardAll(params, counted), /no counted batch/);
  jaxLib().tree.dispose(params);
  ex.dispose();
});
