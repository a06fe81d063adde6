import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Rng } from "../../src/bn/rng.ts";
import type { TransformerSpec } from "../../src/model/spec.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY, flattenWeights } from "../../src/model/spec.ts";
import { loadJax } from "../../src/model/jax/setup.ts";
import type { TrainConfig } from "../../src/train/config.ts";
import { defaultTrainConfig, validateTrainConfig } from "../../src/train/config.ts";
import { oneHotTargets } from "../../src/train/loss.ts";
import type { BatchProvider } from "../../src/train/loop.ts";
import { METRICS_FILE, train } from "../../src/train/loop.ts";
import { CHECKPOINT_DIR } from "../../src/train/saved-model.ts";
import { resizedConfig } from "../../src/train/sizing.ts";
import { learningRate } from "../../src/train/schedule.ts";
import { loadTrainCheckpoint } from "../../src/train/saved-model.ts";

const SPEC: TransformerSpec = {
  format: "bnformer-transformer/1",
  inputDim: 4,
  dModel: 16,
  layers: [{ heads: 2, headDim: 8, mlpHidden: 32 }],
  activation: "gelu",
  layerNorm: true,
  outputDim: 2,
  output: "logits",
};

/**
 * A learnable toy task: 6 context tokens with random bits, then one query; the label is
 * the majority of the context tokens' first bit (ties -> 0), so the query must read the
 * context through attention. Sequences have 7 tokens, padded to the bucket 8.
 */
const provider: BatchProvider = (_step: number, rng: Rng) => {
  const B = 8;
  const T = 7;
  const I = 4;
  const tokens = new Float32Array(B * T * I);
  const kinds = new Uint8Array(B * T).fill(TOKEN_CONTEXT);
  const labels: number[] = [];
  for (let b = 0; b < B; b++) {
    let ones = 0;
    for (let t = 0; t < T - 1; t++) {
      const bit = rng.nextInt(2);
      ones += bit;
      tokens[(b * T + t) * I] = bit;
      tokens[(b * T + t) * I + 1] = 1 - bit;
      tokens[(b * T + t) * I + 2] = rng.next();
    }
    tokens[(b * T + T - 1) * I + 3] = 1; // the query flag
    kinds[b * T + T - 1] = TOKEN_QUERY;
    labels.push(ones > (T - 1) / 2 ? 1 : 0);
  }
  return { tokens, kinds, shape: [B, T, I], targets: oneHotTargets(labels, 2) };
};

function config(steps: number): TrainConfig {
  return {
    ...defaultTrainConfig,
    seed: 7,
    steps,
    schedule: { peakLr: 1e-2, minLr: 1e-4, warmupSteps: 3, totalSteps: steps },
    lengthBuckets: [8, 16],
    checkpointEvery: 4,
  };
}

let dir: string;
before(async () => {
  await loadJax();
  dir = mkdtempSync(join(tmpdir(), "bnformer-train-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const readLog = (d: string) =>
  readFileSync(join(d, METRICS_FILE), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; loss: number; gradNorm: number; lr: number });

test("an interrupted and resumed run ends with bitwise the same weights as a straight run", async () => {
  const N = 10;
  const straight = await train({
    spec: SPEC,
    config: config(N),
    provider,
    outDir: join(dir, "a"),
    progress: false,
  });
  assert.equal(straight.step, N);
  assert.equal(straight.interrupted, false);

  const part = await train({
    spec: SPEC,
    config: config(N),
    provider,
    outDir: join(dir, "b"),
    stopAfter: 6,
    progress: false,
  });
  assert.equal(part.interrupted, true);
  assert.equal(loadTrainCheckpoint(join(dir, "b", CHECKPOINT_DIR)).meta.step, 6);
  const resumed = await train({
    spec: SPEC,
    config: config(N),
    provider,
    outDir: join(dir, "b"),
    resumeFrom: join(dir, "b", CHECKPOINT_DIR),
    progress: false,
  });
  assert.equal(resumed.step, N);
  const wa = flattenWeights(straight.weights);
  for (const [k, t] of flattenWeights(resumed.weights))
    assert.deepEqual(t.data, wa.get(k)!.data, k);
  // The metrics logs agree line by line (timings aside), with no duplicated steps.
  const strip = (l: ReturnType<typeof readLog>) =>
    l.map(({ step, loss, gradNorm, lr }) => ({ step, loss, gradNorm, lr }));
  assert.deepEqual(strip(readLog(join(dir, "b"))), strip(readLog(join(dir, "a"))));
  assert.deepEqual(
    readLog(join(dir, "a")).map((l) => l.step),
    Array.from({ length: N }, (_, i) => i + 1),
  );
});

test("an abort signal stops after the current step and saves a checkpoint", async () => {
  const ac = new AbortController();
  const out = join(dir, "c");
  const r = await train({
    spec: SPEC,
    config: config(10),
    provider,
    outDir: out,
    signal: ac.signal,
    progress: false,
    onStep: (m) => {
      if (m.step === 3) ac.abort();
    },
  });
  assert.equal(r.step, 3);
  assert.equal(r.interrupted, true);
  assert.equal(loadTrainCheckpoint(join(out, CHECKPOINT_DIR)).meta.step, 3);
});

test("an abort from a timer or signal handler (a macrotask) is seen after the next step", async () => {
  // The jitted step resolves through microtasks only; the loop must still let timers run,
  // or a time cap or Ctrl-C waits for the next checkpoint write (none here).
  const ac = new AbortController();
  const r = await train({
    spec: SPEC,
    config: config(40),
    provider,
    signal: ac.signal,
    progress: false,
    onStep: (m) => {
      if (m.step === 3) setImmediate(() => ac.abort());
    },
  });
  assert.equal(r.step, 3);
  assert.equal(r.interrupted, true);
});

test("a resize stretches the schedule, checkpoints the new length, and resumes exactly", async () => {
  const told: TrainConfig[] = [];
  const resize = { atStep: 4, steps: () => 14, onResize: (c: TrainConfig) => told.push(c) };
  const straight = await train({
    spec: SPEC,
    config: config(10),
    provider,
    outDir: join(dir, "r1"),
    progress: false,
    resize,
  });
  assert.equal(straight.step, 14);
  assert.equal(straight.interrupted, false);
  const resized = resizedConfig(config(10), 14, 4);
  assert.deepEqual(told, [resized]);
  assert.equal(resized.schedule.totalSteps, 14);
  assert.equal(resized.schedule.warmupSteps, 3);
  // Steps up to the resize ran on the old schedule, the rest on the stretched one.
  const lrs = readLog(join(dir, "r1")).map((l) => l.lr);
  lrs.forEach((lr, s) =>
    assert.equal(lr, learningRate((s < 4 ? config(10) : resized).schedule, s), `step ${s}`),
  );
  assert.deepEqual(loadTrainCheckpoint(join(dir, "r1", CHECKPOINT_DIR)).meta.train, resized);

  // Interrupted after the resize: the checkpoint holds the new length, and continuing
  // with it (no second resize) ends bitwise where the straight run did.
  const part = await train({
    spec: SPEC,
    config: config(10),
    provider,
    outDir: join(dir, "r2"),
    progress: false,
    resize,
    stopAfter: 6,
  });
  assert.equal(part.step, 6);
  const meta = loadTrainCheckpoint(join(dir, "r2", CHECKPOINT_DIR)).meta;
  assert.deepEqual(meta.train, resized);
  const rest = await train({
    spec: SPEC,
    config: meta.train,
    provider,
    outDir: join(dir, "r2"),
    resumeFrom: join(dir, "r2", CHECKPOINT_DIR),
    progress: false,
    resize,
  });
  assert.equal(rest.step, 14);
  const wa = flattenWeights(straight.weights);
  for (const [k, t] of flattenWeights(rest.weights)) assert.deepEqual(t.data, wa.get(k)!.data, k);
  // A resize never ends a run before the updates already applied.
  assert.equal(resizedConfig(config(10), 2, 4).steps, 4);
});

test("training lowers the loss on a learnable task", async () => {
  const losses: number[] = [];
  await train({
    spec: SPEC,
    config: config(80),
    provider,
    progress: false,
    onStep: (m) => losses.push(m.loss),
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 10));
  const last = mean(losses.slice(-10));
  // Chance level is ln 2 = 0.69; a model that reads the context does much better.
  assert.ok(first > 0.6, `first losses ${first}`);
  assert.ok(last < 0.45, `last losses ${last} (first ${first})`);
});

test("resuming with another configuration is refused, naming the reason", async () => {
  await assert.rejects(
    train({
      spec: SPEC,
      config: { ...config(10), seed: 8 },
      provider,
      resumeFrom: join(dir, "a", CHECKPOINT_DIR),
      progress: false,
    }),
    /trained with another configuration/,
  );
});

test("bad configurations name the field", () => {
  assert.throws(
    () => validateTrainConfig({ ...config(5), lengthBuckets: [8, 4] }),
    /lengthBuckets must be ascending/,
  );
  assert.throws(
    () => validateTrainConfig({ ...config(5), steps: 0 }),
    /steps must be an integer >= 1/,
  );
});
