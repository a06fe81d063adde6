/**
 * Learning-rate schedule: linear warmup, then cosine decay to a floor.
 *
 *   lr(t) = peak * (t + 1) / warmup                                  for t < warmup
 *   lr(t) = min + (peak - min) * (1 + cos(pi * u)) / 2,  u = (t - warmup) / (total - warmup)
 *                                                                    for warmup <= t < total
 *   lr(t) = min                                                      for t >= total
 * Steps t count from 0. Pure numbers; no tensor library.
 */
import { BnformerError } from "../errors.ts";

/** Schedule settings. */
export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warmup. */
  peakLr: number;
  /** Final learning rate of the cosine. */
  minLr: number;
  /** Warmup steps (0: start at the peak). */
  warmupSteps: number;
  /** Total steps of the run; the cosine ends here. */
  totalSteps: number;
}

/** The paper authors' values (PAPER.md): 3e-4 peak, 1e-6 floor; warmup scaled to short runs. */
export const defaultScheduleConfig: ScheduleConfig = {
  peakLr: 3e-4,
  minLr: 1e-6,
  warmupSteps: 100,
  totalSteps: 1000,
};

/** Throws a "config" error naming the first bad field. */
export function validateSchedule(c: ScheduleConfig): void {
  const bad = (k: string, v: unknown, want: string) =>
    new BnformerError("config", `${k} must be ${want}, got ${String(v)}`, {
      path: ["schedule", k],
    });
  if (!(c.peakLr > 0 && Number.isFinite(c.peakLr))) throw bad("peakLr", c.peakLr, "> 0");
  if (!(c.minLr >= 0 && c.minLr <= c.peakLr)) throw bad("minLr", c.minLr, "in [0, peakLr]");
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0)
    throw bad("warmupSteps", c.warmupSteps, "an integer >= 0");
  if (!Number.isInteger(c.totalSteps) || c.totalSteps < 1 || c.totalSteps < c.warmupSteps)
    throw bad("totalSteps", c.totalSteps, "an integer >= max(1, warmupSteps)");
}

/** Learning rate at step t (0-based); see the module header for the formula. */
export function learningRate(c: ScheduleConfig, t: number): number {
  if (t < c.warmupSteps) return (c.peakLr * (t + 1)) / c.warmupSteps;
  if (t >= c.totalSteps) return c.minLr;
  const span = c.totalSteps - c.warmupSteps;
  const u = span === 0 ? 1 : (t - c.warmupSteps) / span;
  return c.minLr + ((c.peakLr - c.minLr) * (1 + Math.cos(Math.PI * u))) / 2;
}
