import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../src/bn/rng.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { initWeights } from "../../src/model/spec.ts";
import { tokenLayout } from "../../src/model/encoding.ts";
import type { TransformerModel } from "../../src/model/engine.ts";
import { constructionModel } from "../../src/model/engine.ts";
import { construct } from "../../src/model/construction.ts";
import { loadJax } from "../../src/model/jax/setup.ts";
import { specForTask } from "../../src/train/trained-model.ts";
import { drawEpisodes, episodeStream } from "../../src/eval/episodes.ts";
import { baselineMethods } from "../../src/eval/baselines.ts";
import { runProtocol } from "../../src/eval/protocol.ts";
import { modelMethod, modelMethodFactory } from "../../src/eval/model-method.ts";

const G = paperGraph("general5");
const PRIOR = { kind: "uniform", low: 0.1, high: 0.9 } as const;

/** An untrained model with random weights (the method does not care what it learned). */
function randomModel(seed: number): TransformerModel {
  const spec = specForTask(tokenLayout(G), {
    dModel: 16,
    layers: 2,
    heads: 2,
    mlpHidden: 16,
    activation: "gelu",
  });
  // Larger weights than GPT-2's init, so that outputs differ across tokens and lengths.
  const w = initWeights(createRng(seed), spec);
  for (const l of w.layers)
    for (const t of Object.values(l.attn)) t.data.forEach((x, i, a) => (a[i] = 40 * x));
  return {
    structure: G,
    spec,
    weights: w,
    encoding: { contextVisible: "all" },
    shareContext: true,
  };
}

before(async () => {
  await loadJax();
});

const draw = () => drawEpisodes(episodeStream(3, 0), G, PRIOR, 0, 7, 40, [1, 9, 40]);

test("predictions are distributions over each node's states at every length", async () => {
  const m = await modelMethod(randomModel(1), { name: "m" });
  const { batch } = draw();
  for (const n of batch.lengths) {
    const p = (await m.predict(batch, n)) as Float64Array;
    assert.equal(p.length, 7 * 5 * 2);
    for (let i = 0; i < p.length; i += 2) {
      assert.ok(p[i]! > 0 && p[i + 1]! > 0 && Math.abs(p[i]! + p[i + 1]! - 1) < 1e-12);
    }
  }
  m.dispose();
});

/** Float32 sums in a different order (other padding and chunking): a few ulps of a probability. */
const LAYOUT_TOLERANCE = 1e-5;

test("chunk size and padding buckets do not change the predictions", async () => {
  const model = randomModel(2);
  const a = await modelMethod(model, { name: "a" });
  const b = await modelMethod(model, { name: "b", tokensPerChunk: 60, buckets: [50, 100] });
  const { batch } = draw();
  let spread = 0;
  for (const n of [1, 40]) {
    const [pa, pb] = [
      (await a.predict(batch, n)) as Float64Array,
      (await b.predict(batch, n)) as Float64Array,
    ];
    pa.forEach((x, i) => assert.ok(Math.abs(x - pb[i]!) < LAYOUT_TOLERANCE, `n ${n} entry ${i}`));
    spread = Math.max(spread, Math.max(...pa) - Math.min(...pa));
  }
  assert.ok(spread > 0.01, "the random model's outputs vary, so the comparison means something");
  a.dispose();
  b.dispose();
});

/** The construction's eps plus float32 rounding of its sharpened softmax. */
const CONSTRUCTION_TOLERANCE = 1e-3;

test("the construction as a method (probability readout) matches the MLE where parents are seen", async () => {
  const c = construct(G, { eps: 1e-4, maxContext: 40 });
  const m = await modelMethod(constructionModel(c), { name: "construction" });
  const { batch } = draw();
  const mle = baselineMethods(PRIOR, "marginal")[1]!;
  const want = (await mle.predict(batch, 40)) as { probs: Float64Array; fallback: Uint8Array };
  const got = (await m.predict(batch, 40)) as Float64Array;
  let compared = 0;
  for (let i = 0; i < 7 * 5; i++) {
    if (want.fallback[i]) continue;
    compared++;
    for (let s = 0; s < 2; s++)
      assert.ok(
        Math.abs(got[2 * i + s]! - want.probs[2 * i + s]!) < CONSTRUCTION_TOLERANCE,
        `cell ${i}`,
      );
  }
  assert.ok(compared > 25);
  m.dispose();
});

test("a batch over another layout is refused", async () => {
  const m = await modelMethod(randomModel(3), { name: "m" });
  const { batch } = drawEpisodes(episodeStream(3, 0), paperGraph("chain7"), PRIOR, 0, 2, 5);
  await assert.rejects(
    Promise.resolve().then(() => m.predict(batch, 5)),
    /token layout has 5 variables/,
  );
  m.dispose();
});

test("the method factory gives each seed the baselines plus its own models", async () => {
  const seen: number[] = [];
  const { factory, close } = modelMethodFactory((seed) => {
    seen.push(seed);
    return [{ model: randomModel(seed + 10), name: "model", description: `seed ${seed}` }];
  });
  const r = await runProtocol(
    { structure: G, lengths: [1, 5], episodes: 4, seeds: [0, 1], batchSize: 4 },
    factory,
  );
  close();
  assert.deepEqual(seen, [0, 1]);
  assert.deepEqual(
    r.methods.map((x) => x.name),
    ["posterior-mean", "mle", "naive", "model"],
  );
  const tv = (seed: number) =>
    r.cells.find(
      (c) => c.method === "model" && c.seed === seed && c.length === 5 && c.node === "(mean)",
    )!.tvMean;
  assert.ok(tv(0) > 0 && tv(1) > 0);
});
