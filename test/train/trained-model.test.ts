import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng } from "../../src/bn/rng.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { sampleNetwork } from "../../src/bn/priors.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { flattenWeights } from "../../src/model/spec.ts";
import { transformerEngine } from "../../src/model/engine.ts";
import { construct } from "../../src/model/construction.ts";
import { saveConstruction, loadConstruction } from "../../src/model/checkpoint.ts";
import { loadJax } from "../../src/model/jax/setup.ts";
import { padBatch, paramsFromWeights } from "../../src/model/jax/executor.ts";
import { createTrainStep } from "../../src/train/step.ts";
import { defaultTrainConfig, defaultTrainSettings } from "../../src/train/config.ts";
import { buildTask, defaultTaskConfig, structureToJson } from "../../src/train/tasks.ts";
import type { RunConfig } from "../../src/train/run.ts";
import { SNAPSHOT_DIR, buildRunConfig, runTraining } from "../../src/train/run.ts";
import { resizeStep, withSteps } from "../../src/train/sizing.ts";
import { MODEL_DIR, trainedEngine, specForTask } from "../../src/train/trained-model.ts";
import type { TrainCheckpointMeta } from "../../src/train/checkpoint.ts";
import {
  RUN_FILE,
  loadSavedModel,
  loadTrained,
  loadTrainedModel,
} from "../../src/train/saved-model.ts";
import { drawEpisodes, episodeStream } from "../../src/eval/episodes.ts";
import { modelMethod } from "../../src/eval/model-method.ts";

const CHAIN = paperGraph("chain5");
const STEPS = 20;

/**
 * A tiny run that learns fast: Beta(0.3, 0.3) CPTs are near-deterministic, so copying the
 * context's statistics (what uniform attention at initialisation already does) pays at once.
 */
function config(steps = STEPS): RunConfig {
  return buildRunConfig({
    task: {
      ...defaultTaskConfig,
      kind: "single",
      structures: [structureToJson(CHAIN)],
      randomDag: null,
      prior: { kind: "beta", alpha: 0.3 },
      batchSize: 8,
      contextMin: 4,
      contextMax: 12,
      queryRows: 2,
    },
    model: { dModel: 16, layers: 2, heads: 2, mlpHidden: 32, activation: "gelu" },
    train: {
      ...defaultTrainSettings,
      seed: 5,
      checkpointEvery: 5,
      schedule: { peakLr: 1e-2, minLr: 1e-3, warmupSteps: 5 },
    },
    steps,
    minutes: null,
  });
}

let dir: string;
before(async () => {
  await loadJax();
  dir = mkdtempSync(join(tmpdir(), "bnformer-trained-"));
  await runTraining({ outDir: join(dir, "a"), config: config() });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a tiny training run lowers the loss on held-out batches", async () => {
  const trained = loadTrained(join(dir, "a"));
  const task = buildTask(config().task);
  const spec = specForTask(task.layout, config().model);
  const step = await createTrainStep(spec, "cross-entropy", defaultTrainConfig.adamw);
  const { initWeights } = await import("../../src/model/spec.ts");
  const { INIT_STREAM } = await import("../../src/train/loop.ts");
  const init = paramsFromWeights(spec, initWeights(createRng(5).fork(INIT_STREAM), spec));
  const final = paramsFromWeights(spec, trained.weights);
  const rng = createRng(999);
  let before = 0;
  let afterLoss = 0;
  for (let i = 0; i < 4; i++) {
    const raw = task.draw(rng).batch;
    const batch = { ...raw, ...padBatch(raw, task.lengthBuckets[0]!) }; // one shape, one compile
    before += await step.loss(init, batch);
    afterLoss += await step.loss(final, batch);
  }
  step.dispose();
  // At initialisation the readout is ~uniform (loss ~ ln 2). The batches are the same for
  // both, so the difference is paired; an untrained model does not drop 0.02 per batch.
  assert.ok(afterLoss < before - 4 * 0.02, `loss ${before / 4} -> ${afterLoss / 4}`);
});

test("the trained checkpoint is kind 'trained' and loads as a TransformerModel", () => {
  const cfg = JSON.parse(readFileSync(join(dir, "a", MODEL_DIR, "config.json"), "utf8")) as {
    config: { kind: string; step: number; task: { target: string } };
  };
  assert.equal(cfg.config.kind, "trained");
  assert.equal(cfg.config.step, STEPS);
  assert.equal(loadSavedModel(join(dir, "a", MODEL_DIR)).kind, "trained");
  const run = loadSavedModel(join(dir, "a"));
  assert.ok(run.kind === "run" && run.model !== null && run.model.config.step === STEPS);
  const model = loadTrainedModel(join(dir, "a"));
  assert.equal(model.structure.name, "chain5");
  assert.equal(model.shareContext, true);
  assert.deepEqual(model.encoding, { contextVisible: "all" });
});

/** Float32 jax forward vs float64 reference on the same float32 weights. */
const EXECUTOR_TOLERANCE = 1e-4;

test("reference-executor outputs equal the jax executor's within float32 tolerance", async () => {
  const model = loadTrainedModel(join(dir, "a"));
  const { batch } = drawEpisodes(
    episodeStream(1, 0),
    CHAIN,
    { kind: "beta", alpha: 0.3 },
    0,
    6,
    12,
    [3, 12],
  );
  const method = await modelMethod(model, { name: "m" });
  const engine = transformerEngine(model);
  for (const n of [3, 12]) {
    const fast = (await method.predict(batch, n)) as Float64Array;
    for (let e = 0; e < batch.episodes; e++) {
      const context = {
        vars: 5,
        rows: n,
        data: batch.contexts.subarray(e * 12 * 5, (e * 12 + n) * 5),
      };
      const conditional = engine.bind(CHAIN, context);
      const query = batch.queries.subarray(e * 5, (e + 1) * 5);
      for (let m = 0; m < 5; m++) {
        const slow = conditional(m, query);
        for (let s = 0; s < 2; s++) {
          const d = Math.abs(slow[s]! - fast[(e * 5 + m) * 2 + s]!);
          assert.ok(d < EXECUTOR_TOLERANCE, `n ${n} episode ${e} node ${m}: ${d}`);
        }
      }
    }
  }
  method.dispose();
});

test("an interrupted and resumed run ends with the same weights as a straight one", async () => {
  const stop = new AbortController();
  const part = await runTraining({
    outDir: join(dir, "b"),
    config: config(),
    signal: stop.signal,
    onStep: (m) => {
      if (m.step === 7) stop.abort();
    },
  });
  assert.equal(part.model, null);
  assert.equal(part.step, 7);
  assert.ok(!existsSync(join(dir, "b", MODEL_DIR)));
  await assert.rejects(
    runTraining({ outDir: join(dir, "b"), config: config() }),
    /already holds a training run; pass --resume/,
  );
  const done = await runTraining({ outDir: join(dir, "b"), resume: true });
  assert.equal(done.resumed, true);
  const a = flattenWeights(loadTrained(join(dir, "a")).weights);
  for (const [k, t] of flattenWeights(done.model!.weights))
    assert.deepEqual(t.data, a.get(k)!.data, k);
  const again = await runTraining({ outDir: join(dir, "b"), config: config(), resume: true });
  assert.equal(again.skipped, true);
  await assert.rejects(
    runTraining({ outDir: join(dir, "b"), config: config(STEPS + 1), resume: true }),
    /started with another configuration/,
  );
  assert.ok(existsSync(join(dir, "b", RUN_FILE)));
});

test("a budgeted run is the same run under any budget; a run without a cap must match exactly", async () => {
  const out = join(dir, "budgeted");
  // Fixed steps under a 5-minute cap, as `experiment --steps N --minutes M` trains them.
  await runTraining({ outDir: out, config: { ...config(3), minutes: 5 } });
  const calibrated: RunConfig = { ...config(1), minutes: 30, steps: null };
  const again = await runTraining({ outDir: out, config: calibrated, resume: true });
  assert.equal(again.skipped, true);
  assert.equal(again.step, 3);
  await assert.rejects(
    runTraining({ outDir: out, config: config(3), resume: true }),
    /started with another configuration/,
  );
});

test("a calibrated run fits its length to its pace once; run.json keeps the request, the checkpoint the length", async () => {
  const out = join(dir, "paced");
  const readRequest = () =>
    JSON.parse(readFileSync(join(out, RUN_FILE), "utf8")) as Record<string, unknown>;
  const ckptMeta = () =>
    (
      JSON.parse(readFileSync(join(out, "checkpoint", "config.json"), "utf8")) as {
        config: TrainCheckpointMeta;
      }
    ).config;
  const lines: string[] = [];
  const c: RunConfig = { ...config(1), minutes: 0.15, steps: null };
  let calibrated = 0;
  let at = 0;
  /** One session that stops after update `stopAt(at)`. */
  const session = async (stopAt: (at: number) => number) => {
    const ac = new AbortController();
    return runTraining({
      outDir: out,
      config: c,
      resume: true,
      log: (l) => lines.push(l),
      signal: ac.signal,
      onStep: (m) => {
        if (at === 0) {
          const cal = /calibration: .*, (\d+) steps \(took/.exec(lines.join("\n"));
          assert.ok(cal, lines.join("\n"));
          calibrated = Number(cal[1]);
          at = resizeStep(withSteps(c.train, calibrated));
          assert.ok(at > 2, `resize at ${at}`);
        }
        if (m.step === stopAt(at)) ac.abort();
      },
    });
  };
  // Stopped before the pace fit: the checkpoint holds the calibrated length and the fit to come.
  const first = await session(() => 1);
  assert.equal(first.step, 1);
  assert.equal(first.model, null);
  const request = readRequest();
  assert.deepEqual(
    [request.format, request.steps, request.minutes],
    ["bnformer-train-run/2", null, 0.15],
  );
  assert.deepEqual(request.train, c.train);
  assert.ok(!("resizeAt" in request) && !("stepsFromMinutes" in request));
  assert.equal(ckptMeta().train.steps, calibrated);
  assert.equal(ckptMeta().resizeAt, at);
  assert.ok(!lines.some((l) => l.startsWith("pace")));

  // Resumed, it fits its length at `at`; the checkpoint takes the new length, run.json stays.
  const part = await session((a) => a + 1);
  assert.equal(part.step, at + 1);
  assert.equal(part.resumed, true);
  const paced = lines.find((l) => l.startsWith("pace at step"));
  const m =
    /^pace at step (\d+): [\d.]+ s\/step; (\d+) steps fill the budget \(calibration gave (\d+)\)$/.exec(
      paced ?? "",
    );
  assert.ok(m, lines.join("\n"));
  assert.equal(Number(m[1]), at);
  assert.equal(Number(m[3]), calibrated);
  const resizedSteps = Number(m[2]);
  assert.equal(ckptMeta().train.steps, resizedSteps);
  assert.equal(ckptMeta().train.schedule.totalSteps, resizedSteps);
  assert.equal(ckptMeta().resizeAt, undefined);
  assert.deepEqual(readRequest(), request);

  const rest = await session(() => -1);
  assert.ok(rest.model);
  assert.equal(rest.model.config.train.steps, resizedSteps);
  assert.ok(rest.step === resizedSteps || rest.timeCapped, `step ${rest.step}`);
  assert.equal(lines.filter((l) => l.startsWith("pace")).length, 1);
});

test("a run directory of the old format (run.json with the step count) still resumes bit-exactly", async () => {
  const out = join(dir, "legacy");
  const ac = new AbortController();
  const part = await runTraining({
    outDir: out,
    config: config(),
    signal: ac.signal,
    onStep: (m) => (m.step === 7 ? ac.abort() : undefined),
  });
  assert.equal(part.step, 7);
  // run.json as format /1 wrote it: the sized train config with the task's buckets.
  const task = buildTask(config().task);
  const { steps: _s, ...request } = readRun(out);
  const legacy = {
    ...request,
    format: "bnformer-train-run/1",
    train: withSteps({ ...config().train, lengthBuckets: [...task.lengthBuckets] }, STEPS),
    stepsFromMinutes: false,
  };
  writeFileSync(join(out, RUN_FILE), JSON.stringify(legacy, null, 2));
  const done = await runTraining({ outDir: out, config: config(), resume: true });
  assert.equal(done.resumed, true);
  assert.equal(done.step, STEPS);
  const a = flattenWeights(loadTrained(join(dir, "a")).weights);
  for (const [k, t] of flattenWeights(done.model!.weights))
    assert.deepEqual(t.data, a.get(k)!.data, k);
  assert.deepEqual(JSON.parse(readFileSync(join(out, RUN_FILE), "utf8")), legacy);
  await assert.rejects(
    runTraining({ outDir: out, config: config(STEPS + 1), resume: true }),
    /started with another configuration/,
  );
});

function readRun(out: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(out, RUN_FILE), "utf8")) as Record<string, unknown>;
}

test("structures: a single-structure model refuses others; a construction is not a trained model", () => {
  assert.throws(
    () => loadTrainedModel(join(dir, "a"), paperGraph("tree5")),
    /trained on "chain5" only; network "tree5" has other parents/,
  );
  assert.throws(
    () => loadTrainedModel(join(dir, "a"), paperGraph("chain7")),
    /does not fit this model's token layout/,
  );
  const c = construct(CHAIN, { eps: 1e-3, maxContext: 10 });
  saveConstruction(join(dir, "c"), c);
  assert.throws(
    () => loadTrained(join(dir, "c")),
    /c: a construction, not a trained model; use it with --engine model:DIR/,
  );
  assert.equal(loadConstruction(join(dir, "c")).structure.name, "chain5");
  assert.throws(() => loadTrained(join(dir, "nothing")), /nothing: no such directory/);
  // --engine model:DIR: an engine that binds to the structure it is asked about.
  const engine = trainedEngine(loadTrained(join(dir, "a")), `model:${join(dir, "a")}`);
  assert.equal(engine.name, `model:${join(dir, "a")}`);
  const net = sampleNetwork(createRng(1), CHAIN, { kind: "beta", alpha: 0.3 });
  const context = sampleRows(createRng(2), net, 8);
  const p = engine.bind(CHAIN, context)(2, Uint8Array.from([1, 0, 0, 0, 0]));
  assert.ok(p.length === 2 && Math.abs(p[0]! + p[1]! - 1) < 1e-12);
  assert.throws(() => engine.bind(paperGraph("tree5"), context), /trained on "chain5" only/);
});

test("snapshotSteps keeps the model after those updates; the last one is the final model", async () => {
  const base = config();
  const out = join(dir, "snap");
  await runTraining({
    outDir: out,
    config: { ...base, train: { ...base.train, snapshotSteps: [3, 11, STEPS] } },
  });
  const final = flattenWeights(loadTrained(out).weights);
  const last = loadTrained(join(out, SNAPSHOT_DIR, `step-${STEPS}`));
  assert.equal(last.config.step, STEPS);
  for (const [k, t] of flattenWeights(last.weights))
    assert.deepEqual(t.data, final.get(k)!.data, k);
  const early = loadTrained(join(out, SNAPSHOT_DIR, "step-3"));
  assert.equal(early.config.step, 3);
  const differs = [...flattenWeights(early.weights)].some(
    ([k, t]) => !t.data.every((v, i) => v === final.get(k)!.data[i]),
  );
  assert.ok(differs, "the step-3 snapshot is not the final model");
  assert.ok(existsSync(join(out, SNAPSHOT_DIR, "step-11")));
  assert.ok(!existsSync(join(out, SNAPSHOT_DIR, "step-4")));
});
