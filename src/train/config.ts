/**
 * The training configuration: one plain-JSON object, stored in every checkpoint, with
 * defaults from the paper authors' setup (PAPER.md) scaled to CPU runs. `validateTrainConfig`
 * names the first bad field.
 */
import { BnformerError } from "../errors.ts";
import { MAX_SEED } from "../bn/rng.ts";
import type { AdamwConfig } from "./adamw.ts";
import { defaultAdamwConfig, validateAdamw } from "./adamw.ts";
import type { ScheduleConfig } from "./schedule.ts";
import { defaultScheduleConfig, validateSchedule } from "./schedule.ts";
import type { LossKind } from "./loss.ts";
import { LOSS_KINDS } from "./loss.ts";

/** Everything that determines a run besides the model spec and the batch provider. */
export interface TrainConfig {
  /** Seeds the initial weights and the data stream handed to the batch provider. */
  seed: number;
  /** Updates to apply in total. */
  steps: number;
  loss: LossKind;
  /** schedule.totalSteps is normally equal to `steps`. */
  schedule: ScheduleConfig;
  adamw: AdamwConfig;
  /** Pad each batch's T up to the first bucket >= T (each distinct T compiles once); [] = never pad. */
  lengthBuckets: number[];
  /** Save a checkpoint every this many steps (0 = only at the end). */
  checkpointEvery: number;
  /** Write a metrics line every this many steps. */
  logEvery: number;
  /**
   * Keep the weights at these steps as models (run.ts: snapshots/step-N/), for studying how
   * a model changes over training; absent or [] = none.
   */
  snapshotSteps?: number[];
}

/** Defaults: AdamW 0.9/0.999/1e-8, weight decay 0.01, clip 1.0, 3e-4 peak, cosine to 1e-6. */
export const defaultTrainConfig: TrainConfig = {
  seed: 0,
  steps: 1000,
  loss: "cross-entropy",
  schedule: defaultScheduleConfig,
  adamw: defaultAdamwConfig,
  lengthBuckets: [16, 32, 64, 128, 256, 512, 1024],
  checkpointEvery: 0,
  logEvery: 1,
};

/**
 * A TrainConfig without its length (`steps`, `schedule.totalSteps`): what a run asks for
 * (run.json). Run sizing (sizing.ts) gives it a length; the length a run trains to lives in
 * its checkpoint.
 */
export type TrainSettings = Omit<TrainConfig, "steps" | "schedule"> & {
  schedule: Omit<ScheduleConfig, "totalSteps">;
};

/** `c` without its length. */
export function trainSettingsOf(c: TrainConfig): TrainSettings {
  const { steps: _steps, schedule, ...rest } = c;
  const { totalSteps: _total, ...lengthless } = schedule;
  return { ...rest, schedule: lengthless };
}

/** Defaults of TrainSettings (defaultTrainConfig without its length). */
export const defaultTrainSettings: TrainSettings = trainSettingsOf(defaultTrainConfig);

/** Throws a "config" error naming the first bad field of `s` (any length fits it). */
export function validateTrainSettings(s: TrainSettings): void {
  const w = s.schedule.warmupSteps;
  const n = Number.isInteger(w) && w > 1 ? w : 1;
  validateTrainConfig({ ...s, steps: n, schedule: { ...s.schedule, totalSteps: n } });
}

/** Throws a "config" error naming the first bad field. */
export function validateTrainConfig(c: TrainConfig): void {
  const bad = (k: string, v: unknown, want: string) =>
    new BnformerError("config", `${k} must be ${want}, got ${JSON.stringify(v)}`, {
      path: ["train", k],
    });
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > MAX_SEED)
    throw bad("seed", c.seed, `an integer in 0..${MAX_SEED}`);
  if (!Number.isInteger(c.steps) || c.steps < 1) throw bad("steps", c.steps, "an integer >= 1");
  if (!LOSS_KINDS.includes(c.loss)) throw bad("loss", c.loss, `one of ${LOSS_KINDS.join(", ")}`);
  validateSchedule(c.schedule);
  validateAdamw(c.adamw);
  const sorted = c.lengthBuckets.every(
    (b, i) => Number.isInteger(b) && b >= 1 && (i === 0 || b > c.lengthBuckets[i - 1]!),
  );
  if (!sorted) throw bad("lengthBuckets", c.lengthBuckets, "ascending positive integers");
  if (!Number.isInteger(c.checkpointEvery) || c.checkpointEvery < 0)
    throw bad("checkpointEvery", c.checkpointEvery, "an integer >= 0");
  if (!Number.isInteger(c.logEvery) || c.logEvery < 1)
    throw bad("logEvery", c.logEvery, "an integer >= 1");
  const snaps = c.snapshotSteps ?? [];
  if (!snaps.every((v, i) => Number.isInteger(v) && v >= 1 && (i === 0 || v > snaps[i - 1]!)))
    throw bad("snapshotSteps", snaps, "ascending integers >= 1");
}
