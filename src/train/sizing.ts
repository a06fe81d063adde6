/**
 * Run sizing: how many steps a run trains, and the one place that decides it. A run asks
 * for a length (`RunLength`, stored in run.json as asked): fixed steps, a time budget in
 * minutes, or both (fixed steps under the budget as a hard cap). `sizeRun` turns the
 * request into a TrainConfig with a length when a run starts; from then on the length lives
 * in the run's training checkpoint only (`resumedSize` reads it back), so a resumed run
 * continues the schedule its checkpoint was trained with.
 *
 * A budget without steps is turned into a step count, so that a time-limited run still has
 * a fixed number of steps (its learning-rate schedule ends where the budget ends, and
 * resuming it is exact):
 *
 * `calibrateSteps` times, for every token bucket of the task, one compile step and
 * TIMED_STEPS steady steps (batch drawing included; their median) on throwaway weights, weighs each
 * bucket by its probability under the task's length distribution (`bucketProbabilities`,
 * exact), and returns
 *   steps = floor(SAFETY x (budget - calibration time - one compile per bucket) / E[step time]).
 * Calibration times a few steps of code V8 has not yet optimised (it read 0.28 s/step for
 * runs that then went at 0.20), so a calibrated run fits its length once more to its own
 * pace (`paceFit`) at update `resizeStep` (a tenth of the calibrated steps, past warmup);
 * the checkpoint records that resize while it is pending, so a run interrupted before it
 * fits its length when resumed. The run keeps the budget as a hard cap too (run.ts), for
 * machines whose load grows. The count reflects the load during calibration: if the load
 * then falls, the run ends early (measured: calibrated at 0.32 s/step, ran at 0.21 s/step,
 * 18 of 30 minutes used).
 */
import { BnformerError } from "../errors.ts";
import { createRng } from "../bn/rng.ts";
import type { TransformerSpec } from "../model/spec.ts";
import { initWeights } from "../model/spec.ts";
import { bucketLength, padBatch, paramsFromWeights } from "../model/jax/executor.ts";
import { jaxLib, loadJax } from "../model/jax/setup.ts";
import { adamwInit } from "./adamw.ts";
import type { TrainConfig, TrainSettings } from "./config.ts";
import { validateTrainConfig, validateTrainSettings } from "./config.ts";
import type { TrainCheckpointMeta } from "./checkpoint.ts";
import type { RunResize } from "./loop.ts";
import type { StepMetrics } from "./progress.ts";
import { createTrainStep } from "./step.ts";
import type { TaskConfig, TrainingTask } from "./tasks.ts";
import { buildTask } from "./tasks.ts";

/** Timed steady steps per bucket (their median counts, so one slow step does not). */
export const TIMED_STEPS = 3;
/**
 * Share of the remaining budget given to steps, at calibration and at the pace fit (run.ts).
 * The pace over a few hundred steps is a noisy clock (±10% here), and a run the cap stops
 * before its schedule ends misses the cosine tail: on 2026-11-26 the two runs stopped at
 * 88% and 91% of their schedules, trained with 1, were the worst of their graphs' seeds.
 */
export const SAFETY = 0.95;

/** P(N = n) for n in contextMin..contextMax under the task's length sampling. */
export function lengthProbabilities(c: TaskConfig): Float64Array {
  const { contextMin: lo, contextMax: hi } = c;
  const p = new Float64Array(hi - lo + 1);
  const logSpan = Math.log((hi + 1) / lo);
  const wLog = c.lengthSampling === "uniform" ? 0 : c.lengthSampling === "log-uniform" ? 1 : 0.5;
  for (let n = lo; n <= hi; n++) {
    // log-uniform: floor(lo e^{U log((hi+1)/lo)}) = n  <=>  U in [log(n/lo), log((n+1)/lo)) / span
    p[n - lo] = (1 - wLog) / (hi - lo + 1) + wLog * (Math.log((n + 1) / n) / logSpan);
  }
  return p;
}

/** Probability of each of the task's token buckets (same order as task.lengthBuckets). */
export function bucketProbabilities(
  task: TrainingTask,
  buckets: readonly number[],
): Map<number, number> {
  const p = lengthProbabilities(task.config);
  const out = new Map<number, number>();
  p.forEach((q, i) => {
    const b = bucketLength(task.tokensFor(task.config.contextMin + i), buckets);
    out.set(b, (out.get(b) ?? 0) + q);
  });
  return out;
}

/** What calibration measured and decided. */
export interface Calibration {
  steps: number;
  /** Expected seconds per step (draw + update) under the length distribution. */
  secondsPerStep: number;
  /** Seconds the calibration itself took. */
  calibrationSeconds: number;
  /** Steady seconds per step by token bucket. */
  perBucket: Record<string, number>;
}

/** Steps that fit `minutes` on this machine now; see the module header. */
export async function calibrateSteps(
  task: TrainingTask,
  spec: TransformerSpec,
  train: TrainSettings,
  minutes: number,
): Promise<Calibration> {
  await loadJax();
  const t0 = performance.now();
  const probs = bucketProbabilities(task, train.lengthBuckets);
  const step = await createTrainStep(spec, train.loss, train.adamw);
  let params = paramsFromWeights(spec, initWeights(createRng(1), spec));
  let opt = adamwInit(params);
  const perBucket: Record<string, number> = {};
  let compile = 0;
  let expected = 0;
  try {
    for (const [T, q] of probs) {
      const n = Math.max(task.config.contextMin, T - task.tokensFor(0));
      const fixed = buildTask({ ...task.config, contextMin: n, contextMax: n });
      const rng = createRng(T);
      const times: number[] = [];
      for (let i = 0; i <= TIMED_STEPS; i++) {
        const s0 = performance.now();
        const raw = fixed.draw(rng).batch;
        const r = await step.step(params, opt, { ...raw, ...padBatch(raw, T) }, 0);
        [params, opt] = [r.params, r.state];
        times.push((performance.now() - s0) / 1000);
      }
      const steady = median(times.slice(1));
      perBucket[String(T)] = steady;
      compile += Math.max(0, times[0]! - steady);
      expected += q * steady;
    }
  } finally {
    const { tree } = jaxLib();
    for (const a of tree.leaves([params, opt.m, opt.v])) if (a.refCount > 0) a.dispose();
    step.dispose();
  }
  const calibrationSeconds = (performance.now() - t0) / 1000;
  const left = minutes * 60 - calibrationSeconds - compile;
  const steps = Math.max(1, Math.floor((SAFETY * left) / expected));
  return { steps, secondsPerStep: expected, calibrationSeconds, perBucket };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** How long a run is asked to train: fixed steps, minutes, or both (steps under a cap). */
export interface RunLength {
  /** Updates to apply; null: as many as fit `minutes` (calibrated, then fitted to pace). */
  steps: number | null;
  /** Wall-clock budget in minutes, a hard cap; null: none. */
  minutes: number | null;
}

/** Throws a "config" error unless `r` asks for a length: steps >= 1, minutes > 0, one given. */
export function validateRunLength(r: RunLength): void {
  const bad = (k: string, msg: string): never => {
    throw new BnformerError("config", `${k}: ${msg}`, { path: [k] });
  };
  if (r.steps === null && r.minutes === null) bad("steps", "give steps or minutes");
  if (r.steps !== null && !(Number.isInteger(r.steps) && r.steps >= 1))
    bad("steps", `must be an integer >= 1, got ${r.steps}`);
  if (r.minutes !== null && !(r.minutes > 0)) bad("minutes", `must be > 0, got ${r.minutes}`);
}

/** `c` with `steps` updates: the schedule ends there, warmup at most a tenth of it. */
export function withSteps(c: TrainSettings, steps: number): TrainConfig {
  const warmupSteps = Math.min(c.schedule.warmupSteps, Math.floor(steps / 10));
  return { ...c, steps, schedule: { ...c.schedule, warmupSteps, totalSteps: steps } };
}

/** `c` ending after `steps` updates (at least `done`); warmup kept, the cosine stretched. */
export function resizedConfig(c: TrainConfig, steps: number, done: number): TrainConfig {
  const n = Math.max(steps, done, c.schedule.warmupSteps, 1);
  return { ...c, steps: n, schedule: { ...c.schedule, totalSteps: n } };
}

/** Where a calibrated run fits its length to its pace: a tenth in, and past warmup. */
export function resizeStep(c: TrainConfig): number {
  return Math.min(c.steps, Math.max(c.schedule.warmupSteps, Math.ceil(c.steps / 10)));
}

/** A run's length: its TrainConfig, and the update at which it fits it to its pace. */
export interface RunSize {
  train: TrainConfig;
  /** The pending pace fit of a calibrated run; null when there is none (left). */
  resizeAt: number | null;
}

/**
 * The length a new run starts with: `length.steps`, or the steps calibration fits into
 * `length.minutes` (then fitted to the run's pace at `resizeAt`). `train` should carry the
 * task's length buckets; it is validated before anything is timed.
 */
export async function sizeRun(
  task: TrainingTask,
  spec: TransformerSpec,
  train: TrainSettings,
  length: RunLength,
  log: (line: string) => void,
): Promise<RunSize> {
  validateRunLength(length);
  validateTrainSettings(train);
  if (length.steps !== null) {
    const sized = withSteps(train, length.steps);
    validateTrainConfig(sized);
    return { train: sized, resizeAt: null };
  }
  log(`calibrating the step count for ${length.minutes} min on this machine ...`);
  const cal = await calibrateSteps(task, spec, train, length.minutes!);
  log(
    `calibration: ${cal.secondsPerStep.toFixed(3)} s/step expected, ${cal.steps} steps ` +
      `(took ${cal.calibrationSeconds.toFixed(0)} s)`,
  );
  const sized = withSteps(train, cal.steps);
  validateTrainConfig(sized);
  return { train: sized, resizeAt: resizeStep(sized) };
}

/**
 * The length a run resumed from checkpoint `meta` continues with. `legacyResizeAt` is the
 * `resizeAt` of a run.json written before the length moved to the checkpoint (such
 * checkpoints do not record a pending pace fit): pending while the checkpoint is before it.
 */
export function resumedSize(meta: TrainCheckpointMeta, legacyResizeAt: number | null): RunSize {
  const legacy = legacyResizeAt !== null && meta.step < legacyResizeAt ? legacyResizeAt : null;
  return { train: meta.train, resizeAt: meta.resizeAt ?? legacy };
}

/**
 * Fits a calibrated run's length to the pace of this session's updates between a third of
 * the way to `atStep` and `atStep` (the first ones include compiles): the steps that fill
 * what is left of the `minutes` budget (`before` seconds spent by earlier sessions, this
 * one started at `t0`) at that pace, times SAFETY. `onStep` must see every step.
 */
export function paceFit(
  train: TrainConfig,
  atStep: number,
  minutes: number,
  before: number,
  t0: number,
  log: (l: string) => void,
): { onStep: (m: StepMetrics) => void; resize: Omit<RunResize, "onResize"> } {
  const from = Math.floor(atStep / 3);
  let mark: { step: number; sec: number } | null = null;
  return {
    onStep: (m) => {
      if (mark === null && m.step >= from) mark = { step: m.step, sec: m.elapsedSec };
    },
    resize: {
      atStep,
      steps: (m) => {
        const was = train.steps;
        // No update of this session to time (resumed at atStep - 1): keep.
        if (mark === null || m.step === mark.step) return was;
        const secondsPerStep = (m.elapsedSec - mark.sec) / (m.step - mark.step);
        const left = minutes * 60 - before - (performance.now() - t0) / 1000;
        const steps = m.step + Math.max(0, Math.floor((SAFETY * left) / secondsPerStep));
        log(
          `pace at step ${m.step}: ${secondsPerStep.toFixed(3)} s/step; ` +
            `${steps} steps fill the budget (calibration gave ${was})`,
        );
        return steps;
      },
    },
  };
}
