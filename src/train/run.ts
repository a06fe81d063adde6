/**
 * One training run in a directory, as `bnformer train` and the experiment drive it:
 *   run.json        the resolved RunConfig (task, model size, train config with its final
 *                   step count, budget) and how it was started; written before training
 *   metrics.jsonl   one line per logged step (progress.ts)
 *   checkpoint/     the loop's training checkpoint (weights, AdamW state, data stream)
 *   sessions.json   seconds trained per session (a resumed run has several)
 *   model/          the trained model (trained-model.ts), written when the run ends
 * A run with a time budget (`minutes`) gets its step count from `calibrateSteps` at the
 * start, then fits it once more to its own pace at update `resizeAt` (a tenth of the
 * calibrated steps, past warmup): calibration times a few steps of code V8 has not yet
 * optimised and read 0.28 s/step for runs that then went at 0.20. The budget stays a hard
 * cap: if the machine slows down, the run stops at the cap and saves the model with the
 * steps it reached (recorded in the model's config). Interrupting (the `signal`) saves a
 * checkpoint; running again with `resume` continues from it with the stored config and,
 * with the same seed, ends with the same weights as an uninterrupted run (loop.ts); a
 * budgeted run interrupted before `resizeAt` fits its length again when resumed. A
 * directory whose model is complete is not trained again.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import { validateSpec } from "../model/spec.ts";
import { writeFileAtomic } from "../files.ts";
import type { TrainConfig } from "./config.ts";
import { validateTrainConfig } from "./config.ts";
import type { RunResize } from "./loop.ts";
import { CHECKPOINT_DIR, resizedConfig, train } from "./loop.ts";
import type { LoadedTrainCheckpoint } from "./checkpoint.ts";
import type { StepMetrics } from "./progress.ts";
import type { Calibration } from "./budget.ts";
import { SAFETY, calibrateSteps } from "./budget.ts";
import type { TaskConfig } from "./tasks.ts";
import { buildTask } from "./tasks.ts";
import type { ModelSize, TrainedModel } from "./trained-model.ts";
import { MODEL_DIR, saveTrainedModel, specForTask } from "./trained-model.ts";
import {
  RUN_FILE,
  loadTrainCheckpoint,
  loadTrained,
  readRunFile,
  readSessions,
} from "./saved-model.ts";

/** Everything that defines a run. */
export interface RunConfig {
  format: "bnformer-train-run/1";
  task: TaskConfig;
  model: ModelSize;
  train: TrainConfig;
  /** Wall-clock budget in minutes (a hard cap), or null. */
  minutes: number | null;
  /** true: train.steps (and the schedule's length) come from calibrating against `minutes`. */
  stepsFromMinutes: boolean;
  /** Calibrated runs: the update after which the step count is fitted to the run's pace. */
  resizeAt?: number;
}

export const SESSIONS_FILE = "sessions.json";

/** How to run. */
export interface RunOptions {
  outDir: string;
  /** The requested config; may be omitted with `resume` (the stored one is used). */
  config?: RunConfig;
  /** Continue the run stored in outDir (refused otherwise when outDir holds one). */
  resume?: boolean;
  /** Progress line on stderr. */
  progress?: boolean;
  /** Aborting stops after the current step and saves a checkpoint. */
  signal?: AbortSignal;
  /** Status lines (calibration, resume, skip). */
  log?: (line: string) => void;
  onStep?: (m: StepMetrics) => void;
  /** Recorded in run.json. */
  command?: string;
}

/** What a run call did. */
export interface RunOutcome {
  /** The trained model; null when the run was interrupted before its end. */
  model: TrainedModel | null;
  config: RunConfig;
  /** The model already existed; nothing was trained. */
  skipped: boolean;
  resumed: boolean;
  /** The hard time cap ended the run before config.train.steps. */
  timeCapped: boolean;
  /** Updates applied so far. */
  step: number;
}

/** Trains (or resumes, or skips) the run in `o.outDir`; see the module header. */
export async function runTraining(o: RunOptions): Promise<RunOutcome> {
  const log = o.log ?? (() => {});
  const runPath = join(o.outDir, RUN_FILE);
  const stored = existsSync(runPath) ? readRunFile(runPath).config : null;
  if (stored && !o.resume) {
    throw new BnformerError(
      "config",
      `${o.outDir} already holds a training run; pass --resume to continue it, or choose another --out`,
      { file: runPath },
    );
  }
  if (stored && o.config) checkSameRun(stored, o.config, runPath);
  if (stored && existsSync(join(o.outDir, MODEL_DIR))) {
    const model = loadTrained(join(o.outDir, MODEL_DIR));
    log(`${o.outDir}: the run is complete (step ${model.config.step}); not training again`);
    return {
      model,
      config: stored,
      skipped: true,
      resumed: false,
      timeCapped: false,
      step: model.config.step,
    };
  }
  const config = stored ?? (await resolveRun(o, log));
  return trainResolved(o, config, stored !== null, log);
}

async function resolveRun(o: RunOptions, log: (l: string) => void): Promise<RunConfig> {
  if (!o.config)
    throw new BnformerError("io", `no training run in ${o.outDir} to resume`, {
      file: o.outDir,
    });
  const c = o.config;
  // Everything training would reject is rejected here, before calibrating or writing
  // run.json: a run folder left behind by a bad config refused every rerun.
  const task = buildTask(c.task);
  validateSpec(specForTask(task.layout, c.model));
  let trainCfg: TrainConfig = { ...c.train, lengthBuckets: [...task.lengthBuckets] };
  validateTrainConfig(trainCfg);
  if (c.stepsFromMinutes) {
    log(`calibrating the step count for ${c.minutes} min on this machine ...`);
    const cal = await calibrateRun(c);
    log(
      `calibration: ${cal.secondsPerStep.toFixed(3)} s/step expected, ${cal.steps} steps ` +
        `(took ${cal.calibrationSeconds.toFixed(0)} s)`,
    );
    trainCfg = withSteps(trainCfg, cal.steps);
  }
  validateTrainConfig(trainCfg);
  const resolved: RunConfig = { ...c, train: trainCfg };
  if (c.stepsFromMinutes) resolved.resizeAt = resizeStep(trainCfg);
  const record = { ...resolved, command: o.command ?? null, startedAt: new Date().toISOString() };
  writeFileAtomic(join(o.outDir, RUN_FILE), JSON.stringify(record, null, 2) + "\n");
  return resolved;
}

/** Steps of `c` that fit its `minutes` on this machine now (budget.ts). */
export async function calibrateRun(c: RunConfig): Promise<Calibration> {
  if (c.minutes === null)
    throw new BnformerError("config", "a step count from minutes needs minutes", {
      path: ["minutes"],
    });
  const task = buildTask(c.task);
  const trainCfg = { ...c.train, lengthBuckets: [...task.lengthBuckets] };
  return calibrateSteps(task, specForTask(task.layout, c.model), trainCfg, c.minutes);
}

/**
 * `c` before calibration gives it a length: as short as its warmup allows, warmup intact
 * (withSteps(c, 1) would clip the warmup to 0 for good; calibrated runs lost it that way).
 */
export function unsizedSteps(c: TrainConfig): TrainConfig {
  return resizedConfig(c, 1, 0);
}

/** `c` with `steps` updates: the schedule ends there, warmup at most a tenth of it. */
export function withSteps(c: TrainConfig, steps: number): TrainConfig {
  const warmupSteps = Math.min(c.schedule.warmupSteps, Math.floor(steps / 10));
  return { ...c, steps, schedule: { ...c.schedule, warmupSteps, totalSteps: steps } };
}

/** Where a calibrated run fits its length to its pace: a tenth in, and past warmup. */
export function resizeStep(c: TrainConfig): number {
  return Math.min(c.steps, Math.max(c.schedule.warmupSteps, Math.ceil(c.steps / 10)));
}

async function trainResolved(
  o: RunOptions,
  stored: RunConfig,
  resumed: boolean,
  log: (l: string) => void,
): Promise<RunOutcome> {
  const task = buildTask(stored.task);
  const spec = specForTask(task.layout, stored.model);
  const ckpt = join(o.outDir, CHECKPOINT_DIR);
  // Read once: adoptResize looks at its config, train continues from it.
  const resumeFrom = resumed && existsSync(ckpt) ? loadTrainCheckpoint(ckpt) : null;
  const canResume = resumeFrom !== null;
  if (canResume) log(`resuming ${o.outDir} from its checkpoint`);
  let config = resumeFrom ? adoptResize(o.outDir, stored, resumeFrom) : stored;
  const before = previousSeconds(o.outDir);
  const cap = new AbortController();
  const timer =
    config.minutes === null
      ? null
      : setTimeout(() => cap.abort(), Math.max(0, config.minutes * 60 - before) * 1000);
  const signal = o.signal ? AbortSignal.any([o.signal, cap.signal]) : cap.signal;
  const t0 = performance.now();
  const pace = config.resizeAt === undefined ? null : paceFit(config, before, t0, log);
  const onStep = (m: StepMetrics) => {
    pace?.onStep(m);
    o.onStep?.(m);
  };
  try {
    const r = await train({
      spec,
      config: config.train,
      provider: task.provider,
      outDir: o.outDir,
      signal,
      progress: o.progress ?? false,
      onStep,
      ...(resumeFrom ? { resumeFrom } : {}),
      ...(pace
        ? {
            resize: {
              ...pace.resize,
              onResize: (train: TrainConfig) => {
                config = { ...config, train };
                writeRunConfig(o.outDir, config);
              },
            },
          }
        : {}),
    });
    const session = (performance.now() - t0) / 1000;
    recordSession(o.outDir, session);
    const seconds = before + session;
    const timeCapped = r.interrupted && cap.signal.aborted && !(o.signal?.aborted ?? false);
    const base = { config, skipped: false, resumed: canResume, timeCapped, step: r.step };
    if (r.interrupted && !timeCapped) return { ...base, model: null };
    if (timeCapped) log(`time budget reached at step ${r.step} of ${config.train.steps}`);
    saveTrainedModel(join(o.outDir, MODEL_DIR), spec, r.weights, {
      kind: "trained",
      task: config.task,
      model: config.model,
      train: config.train,
      step: r.step,
      trainSeconds: seconds,
      encoding: { contextVisible: "all" },
      shareContext: true,
    });
    return { ...base, model: loadTrained(join(o.outDir, MODEL_DIR)) };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Fits a calibrated run's length to the pace of this session's updates between a third of
 * the way to `resizeAt` and `resizeAt` (the first ones include compiles): the steps that
 * fill what is left of the budget at that pace, times SAFETY.
 */
function paceFit(
  config: RunConfig,
  before: number,
  t0: number,
  log: (l: string) => void,
): { onStep: (m: StepMetrics) => void; resize: Omit<RunResize, "onResize"> } {
  const atStep = config.resizeAt!;
  const from = Math.floor(atStep / 3);
  let mark: { step: number; sec: number } | null = null;
  return {
    onStep: (m) => {
      if (mark === null && m.step >= from) mark = { step: m.step, sec: m.elapsedSec };
    },
    resize: {
      atStep,
      steps: (m) => {
        const was = config.train.steps;
        // No update of this session to time (resumed at resizeAt - 1): keep.
        if (mark === null || m.step === mark.step) return was;
        const secondsPerStep = (m.elapsedSec - mark.sec) / (m.step - mark.step);
        const left = config.minutes! * 60 - before - (performance.now() - t0) / 1000;
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

/**
 * The run config a checkpoint continues: a resize saves the checkpoint before rewriting
 * run.json, so a checkpoint whose train config is the stored one with another length is
 * a resize that run.json missed, and wins.
 */
function adoptResize(dir: string, stored: RunConfig, ckpt: LoadedTrainCheckpoint): RunConfig {
  if (stored.resizeAt === undefined) return stored;
  const { train } = ckpt.meta;
  const lengthless = (c: TrainConfig) =>
    JSON.stringify({ ...c, steps: 0, schedule: { ...c.schedule, totalSteps: 0 } });
  if (train.steps === stored.train.steps || lengthless(train) !== lengthless(stored.train))
    return stored;
  const config = { ...stored, train };
  writeRunConfig(dir, config);
  return config;
}

/** Rewrites run.json with `config`, keeping how the run was started. */
function writeRunConfig(dir: string, config: RunConfig): void {
  const path = join(dir, RUN_FILE);
  const { command, startedAt } = readRunFile(path);
  const record = { ...config, command, startedAt };
  writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n");
}

/** The stored run must be the requested one (its step count may come from calibration). */
function checkSameRun(stored: RunConfig, wanted: RunConfig, path: string): void {
  // Under a time budget the step count is the budget's to choose (calibrated, or fixed with
  // --steps under the --minutes cap; recorded in run.json), so a budgeted run is the same
  // run under another budget. A run with fixed steps and no cap must match exactly.
  const norm = (c: RunConfig) =>
    JSON.stringify(
      c.minutes === null
        ? c
        : {
            ...c,
            minutes: 0,
            stepsFromMinutes: true,
            resizeAt: 0,
            train: {
              ...c.train,
              steps: 0,
              schedule: { ...c.train.schedule, totalSteps: 0, warmupSteps: 0 },
            },
          },
    );
  const a = { ...stored, train: { ...stored.train, lengthBuckets: [] } };
  const b = { ...wanted, train: { ...wanted.train, lengthBuckets: [] } };
  if (norm(a) !== norm(b))
    throw new BnformerError(
      "config",
      "the stored run was started with another configuration; resume it without changing flags, or choose another --out",
      { file: path },
    );
}

/** Seconds trained by earlier sessions of the run in `dir`. */
function previousSeconds(dir: string): number {
  const p = join(dir, SESSIONS_FILE);
  if (!existsSync(p)) return 0;
  return readSessions(p).reduce((a, b) => a + b, 0);
}

/** Appends this session's seconds to sessions.json. */
function recordSession(dir: string, seconds: number): void {
  const p = join(dir, SESSIONS_FILE);
  const all = existsSync(p) ? readSessions(p) : [];
  writeFileAtomic(p, JSON.stringify([...all, seconds]) + "\n");
}
