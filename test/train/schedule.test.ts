import { test } from "node:test";
import assert from "node:assert/strict";
import { learningRate, validateSchedule } from "../../src/train/schedule.ts";
import type { ScheduleConfig } from "../../src/train/schedule.ts";

const C: ScheduleConfig = { peakLr: 1e-3, minLr: 1e-5, warmupSteps: 10, totalSteps: 110 };

test("warmup rises linearly to the peak at its last step", () => {
  assert.equal(learningRate(C, 0), 1e-4);
  assert.equal(learningRate(C, 4), 5e-4);
  assert.equal(learningRate(C, 9), 1e-3);
});

test("the cosine starts at the peak, halves the range at its midpoint and ends at the floor", () => {
  assert.equal(learningRate(C, 10), 1e-3);
  assert.ok(Math.abs(learningRate(C, 60) - (1e-3 + 1e-5) / 2) < 1e-15);
  assert.ok(learningRate(C, 109) > 1e-5 && learningRate(C, 109) < 1.05e-5);
  assert.equal(learningRate(C, 110), 1e-5);
  assert.equal(learningRate(C, 500), 1e-5);
  for (let t = 11; t < 110; t++) assert.ok(learningRate(C, t) < learningRate(C, t - 1), `${t}`);
});

test("no warmup starts at the peak", () => {
  assert.equal(learningRate({ ...C, warmupSteps: 0 }, 0), 1e-3);
});

test("bad settings name the field", () => {
  assert.throws(
    () => validateSchedule({ ...C, minLr: 1 }),
    /minLr must be in \[0, peakLr\], got 1/,
  );
  assert.throws(() => validateSchedule({ ...C, totalSteps: 5 }), /totalSteps must be/);
  assert.throws(() => validateSchedule({ ...C, peakLr: 0 }), /peakLr must be > 0/);
});
