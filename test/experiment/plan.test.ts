import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ExperimentConfig } from "../../src/experiment/config.ts";
import { PRESETS, minutesFor, validateExperiment } from "../../src/experiment/config.ts";
import { planRuns, runConfig, runDir } from "../../src/experiment/plan.ts";
import { buildTask } from "../../src/train/tasks.ts";
import { withSteps } from "../../src/train/sizing.ts";

test("the cpu preset is the issue's suite: 3 graphs x 3 seeds x 2 targets, at most 30 minutes a run", () => {
  const runs = planRuns(PRESETS.cpu, "out");
  assert.equal(runs.length, 18);
  assert.deepEqual([...new Set(runs.map((r) => r.graph))], ["chain7", "tree7", "general5"]);
  assert.deepEqual([...new Set(runs.map((r) => r.seed))], [0, 1, 2]);
  assert.deepEqual([...new Set(runs.map((r) => r.target))], ["posterior-mean", "prediction"]);
  assert.ok(runs.every((r) => r.config.minutes! > 0 && r.config.minutes! <= 30));
  assert.equal(PRESETS.cpu.steps, null);
  assert.equal(PRESETS.cpu.model.layers, 2);
  assert.deepEqual(PRESETS.cpu.task.prior, { kind: "uniform", low: 0.1, high: 0.9 });
  assert.equal(PRESETS.cpu.eval.episodes, 2000);
  assert.deepEqual(PRESETS.cpu.eval.targetLengths, [1, 10, 50, 100, 200]);
  assert.ok(PRESETS.cpu.eval.targetLengths.every((n) => PRESETS.cpu.eval.lengths.includes(n)));
});

test("each run has its own directory, seed, target and loss; the budget decides its steps", () => {
  const [a, b] = planRuns(PRESETS.cpu, "out");
  assert.equal(a!.dir, join("out", "runs", "chain7", "posterior-mean-seed0"));
  assert.equal(b!.dir, runDir("out", "chain7", "prediction", 0));
  assert.equal(a!.config.train.loss, "cross-entropy");
  assert.equal(a!.config.task.target, "posterior-mean");
  assert.equal(b!.config.task.target, "prediction");
  assert.deepEqual([a!.config.steps, a!.config.minutes], [null, 30]);
  // The warmup survives until calibration gives the run its length (it was clipped to 0).
  const warmup = PRESETS.cpu.optimiser.warmupSteps;
  assert.equal(warmup, 100);
  assert.equal(a!.config.train.schedule.warmupSteps, warmup);
  assert.equal(withSteps(a!.config.train, 6000).schedule.warmupSteps, warmup);
  assert.equal(withSteps(a!.config.train, 500).schedule.warmupSteps, 50);
  const mle = runConfig({ ...PRESETS.smoke, targets: ["mle"] }, "tree7", "mle", 4);
  assert.equal(mle.train.loss, "l1");
  assert.equal(mle.train.seed, 4);
  assert.deepEqual([mle.steps, mle.minutes], [PRESETS.smoke.steps, null]);
  // run.json holds the request: the length is the sizing's, not part of the settings.
  assert.ok(!("steps" in mle.train) && !("totalSteps" in mle.train.schedule));
  assert.equal(buildTask(mle.task).structures[0]!.name, "tree7");
});

test("minutes come per target where the budget names it, else the default", () => {
  const e: ExperimentConfig = {
    ...PRESETS.cpu,
    minutes: { default: 7, perTarget: { "posterior-mean": 30 } },
  };
  assert.equal(minutesFor(e, "posterior-mean"), 30);
  assert.equal(minutesFor(e, "prediction"), 7);
  assert.equal(minutesFor(e, "mle"), 7);
  assert.equal(runConfig(e, "chain7", "posterior-mean", 0).minutes, 30);
  assert.equal(runConfig(e, "tree7", "prediction", 0).minutes, 7);
  assert.equal(minutesFor({ ...e, minutes: null, steps: 5 }, "prediction"), null);
});

test("bad experiments are refused by field", () => {
  const bad = (over: Partial<ExperimentConfig>) => () =>
    validateExperiment({ ...PRESETS.smoke, ...over });
  assert.throws(bad({ graphs: [] }), /graphs: at least one graph is needed/);
  assert.throws(
    bad({ seeds: [1, 1] }),
    /seeds: need distinct integers in 0\.\.4294967295, got \[1, 1\]/,
  );
  assert.throws(bad({ seeds: [2 ** 32] }), /seeds: need distinct integers in 0\.\.4294967295/);
  assert.throws(bad({ steps: null, minutes: null }), /steps: give steps or minutes/);
  assert.throws(
    bad({ steps: null, minutes: { default: 5, perTarget: { prediction: 0 } } }),
    /minutes: must be > 0, got 0 for target prediction/,
  );
  assert.throws(bad({ graphs: ["chain8" as "chain7"] }), /unknown graph "chain8"/);
});
