// Run sizing's pure parts: the length a request asks for, and the length a resumed run
// continues with (from the checkpoint, or from an old-format run.json's pace-fit step).
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultTrainSettings } from "../../src/train/config.ts";
import type { TrainCheckpointMeta } from "../../src/train/checkpoint.ts";
import { resizeStep, resumedSize, validateRunLength, withSteps } from "../../src/train/sizing.ts";

const sized = withSteps(defaultTrainSettings, 1000);

function meta(step: number, resizeAt?: number): TrainCheckpointMeta {
  return {
    kind: "training",
    train: sized,
    step,
    rng: { seed: 0, state: [1, 2, 3, 4] },
    ...(resizeAt !== undefined ? { resizeAt } : {}),
  };
}

test("a request asks for steps, minutes or both; neither, or bad values, are refused", () => {
  for (const ok of [
    { steps: 5, minutes: null },
    { steps: null, minutes: 0.5 },
    { steps: 5, minutes: 2 },
  ])
    validateRunLength(ok);
  assert.throws(() => validateRunLength({ steps: null, minutes: null }), /give steps or minutes/);
  assert.throws(() => validateRunLength({ steps: 0, minutes: null }), /steps: must be an integer/);
  assert.throws(() => validateRunLength({ steps: 2.5, minutes: null }), /steps: must be/);
  assert.throws(() => validateRunLength({ steps: null, minutes: 0 }), /minutes: must be > 0/);
});

test("the schedule ends at the steps; the warmup is at most a tenth of them", () => {
  assert.deepEqual(
    [sized.steps, sized.schedule.totalSteps, sized.schedule.warmupSteps],
    [1000, 1000, 100],
  );
  assert.equal(withSteps(defaultTrainSettings, 300).schedule.warmupSteps, 30);
  assert.equal(resizeStep(sized), 100);
  assert.equal(resizeStep(withSteps(defaultTrainSettings, 3000)), 300);
});

test("a resumed run continues the checkpoint's length and a pace fit still to come", () => {
  assert.deepEqual(resumedSize(meta(40, 100), null), { train: sized, resizeAt: 100 });
  assert.deepEqual(resumedSize(meta(150), null), { train: sized, resizeAt: null });
  // Old run directories: run.json's resizeAt is pending only while the checkpoint is before it.
  assert.equal(resumedSize(meta(40), 100).resizeAt, 100);
  assert.equal(resumedSize(meta(100), 100).resizeAt, null);
  assert.equal(resumedSize(meta(250), 100).resizeAt, null);
});
