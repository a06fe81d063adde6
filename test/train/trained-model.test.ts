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
import { defaultTrainConfig } from "../../src/train/config.ts";
import { buildTask, defaultTaskConfig, structureToJson } from "../../src/train/tasks.ts";
import type { RunConfig } from "../../src/train/run.ts";
import { runTraining, withSteps } from "../../src/train/run.ts";
import { MODEL_DIR, trainedEngine, specForTask } from "../../src/train/trained-model.ts";
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
  return {
    format: "bnformer-train-run/1",
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
    train: withSteps(
      {
        ...defaultTrainConfig,
        seed: 5,
        checkpointEvery: 5,
        schedule: { peakLr: 1e-2, minLr: 1e-3, warmupSteps: 5, totalSteps: steps },
      },
      steps,
    ),
    minutes: null,
    stepsFromMinutes: false,
  };
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
  const calibrated: RunConfig = { ...config(1), minutes: 30, stepsFromMinutes: true };
  const again = await runTraining({ outDir: out, config: calibrated, resume: true });
  assert.equal(again.skipped, true);
  assert.equal(again.step, 3);
  await assert.rejects(
    runTraining({ outDir: out, config: config(3), resume: true }),
    /started with another configuration/,
  );
});

test("a calibrated run fits its length to its pace once; a resume adopts a resize run.json missed", async () => {
  const out = join(dir, "paced");
  const readRun = () => JSON.parse(readFileSync(join(out, RUN_FILE), "utf8")) as RunConfig;
  const lines: string[] = [];
  const ac = new AbortController();
  let calibrated: RunConfig | null = null;
  const c: RunConfig = { ...config(1), minutes: 0.15, stepsFromMinutes: true };
  const part = await runTraining({
    outDir: out,
    config: c,
    log: (l) => lines.push(l),
    signal: ac.signal,
    onStep: (m) => {
      calibrated ??= readRun();
      if (m.step === calibrated.resizeAt! + 1) ac.abort();
    },
  });
  const at = calibrated!.resizeAt!;
  const { steps, schedule } = calibrated!.train;
  assert.equal(at, Math.max(schedule.warmupSteps, Math.ceil(steps / 10)));
  assert.equal(part.step, at + 1);
  assert.equal(part.model, null);
  const paced = lines.find((l) => l.startsWith("pace at step"));
  const m =
    /^pace at step (\d+): [\d.]+ s\/step; (\d+) steps fill the budget \(calibration gave (\d+)\)$/.exec(
      paced ?? "",
    );
  assert.ok(m, lines.join("\n"));
  assert.equal(Number(m[1]), at);
  assert.equal(Number(m[3]), calibrated!.train.steps);
  const resizedSteps = Number(m[2]);
  assert.equal(readRun().train.steps, resizedSteps);
  assert.equal(readRun().train.schedule.totalSteps, resizedSteps);
  const ckptTrain = () =>
    (
      JSON.parse(readFileSync(join(out, "checkpoint", "config.json"), "utf8")) as {
        config: { train: RunConfig["train"] };
      }
    ).config.train;
  assert.deepEqual(ckptTrain(), readRun().train);

  // As if the process died between the checkpoint and run.json: the resume takes the
  // checkpoint's length, puts it back in run.json, and finishes (or meets the cap).
  const record = JSON.parse(readFileSync(join(out, RUN_FILE), "utf8")) as Record<string, unknown>;
  writeFileSync(join(out, RUN_FILE), JSON.stringify({ ...record, train: calibrated!.train }));
  const rest = await runTraining({ outDir: out, config: c, resume: true });
  assert.equal(readRun().train.steps, resizedSteps);
  assert.ok(rest.model);
  assert.equal(rest.model.config.train.steps, resizedSteps);
  assert.ok(rest.step === resizedSteps || rest.timeCapped, `step ${rest.step}`);
  assert.ok(!lines.slice(lines.indexOf(paced!) + 1).some((l) => l.startsWith("pace")));
});

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
