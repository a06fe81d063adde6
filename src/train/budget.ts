/**
 * Turning a wall-clock budget into a step count, so that a time-limited run still has a
 * fixed, recorded number of steps (its learning-rate schedule ends where the budget ends,
 * and resuming it is exact).
 *
 * `calibrateSteps` times, for every token bucket of the task, one compile step and
 * TIMED_STEPS steady steps (batch drawing included; their median) on throwaway weights, weighs each
 * bucket by its probability under the task's length distribution (`bucketProbabilities`,
 * exact), and returns
 *   steps = floor(SAFETY x (budget - calibration time - one compile per bucket) / E[step time]).
 * The run keeps the budget as a hard cap too (run.ts), for machines whose load grows. The
 * count reflects the load during calibration: if the load then falls, the run ends early
 * (measured: calibrated at 0.32 s/step, ran at 0.21 s/step, 18 of 30 minutes used).
 */
import { createRng } from "../bn/rng.ts";
import type { TransformerSpec } from "../model/spec.ts";
import { initWeights } from "../model/spec.ts";
import { bucketLength, padBatch, paramsFromWeights } from "../model/jax/executor.ts";
import { jaxLib, loadJax } from "../model/jax/setup.ts";
import { adamwInit } from "./adamw.ts";
import type { TrainConfig } from "./config.ts";
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
  train: TrainConfig,
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
