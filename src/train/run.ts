/**
 * One training run in a directory, as `bnformer train` and the experiment drive it:
 *   run.json        the run as asked (`RunConfig`: task, model size, train settings, and its
 *                   length as steps and/or minutes) and how it was started; written before
 *                   training
 *   metrics.jsonl   one line per logged step (progress.ts)
 *   checkpoint/     the loop's training checkpoint (weights, AdamW state, data stream, and
 *                   the TrainConfig with the length the run trains to)
 *   sessions.json   seconds trained per session (a resumed run has several)
 *   model/          the trained model (trained-model.ts), written when the run ends
 *   snapshots/step-N/  the model after update N, for each N in train.snapshotSteps
 * How long a run trains is sizing.ts's: fixed steps, or steps calibrated to a time budget
 * and fitted once more to the run's pace. The budget stays a hard cap: if the machine slows
 * down, the run stops at the cap and saves the model with the steps it reached (recorded
 * in the model's config). Interrupting (the `signal`) saves a checkpoint; running again
 * with `resume` continues from it with the length the checkpoint holds and, with the same
 * seed, ends with the same weights as an uninterrupted run (loop.ts). A resumed run
 * without a checkpoint starts again, calibrating again if it has no fixed steps. A
 * directory whose model is complete is not trained again.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import type { TransformerSpec, TransformerWeights } from "../model/spec.ts";
import { validateSpec } from "../model/spec.ts";
import { canonicalJson } from "../model/checkpoint.ts";
import { writeFileAtomic } from "../files.ts";
import type { TrainConfig, TrainSettings } from "./config.ts";
import { train } from "./loop.ts";
import type { StepMetrics } from "./progress.ts";
import type { RunLength, RunSize } from "./sizing.ts";
import { paceFit, resumedSize, sizeRun, validateRunLength, withSteps } from "./sizing.ts";
import type { TaskConfig } from "./tasks.ts";
import { buildTask } from "./tasks.ts";
import type { ModelSize, TrainedModel } from "./trained-model.ts";
import { MODEL_DIR, saveTrainedModel, specForTask } from "./trained-model.ts";
import {
  CHECKPOINT_DIR,
  RUN_FILE,
  RUN_FORMAT,
  loadSavedModel,
  loadTrainCheckpoint,
  loadTrained,
  readRunFile,
  readSessions,
  trainedModelOf,
} from "./saved-model.ts";

/** Where a run keeps its snapshot models (snapshots/step-N/). */
export const SNAPSHOT_DIR = "snapshots";

/** Everything that defines a run, as asked (run.json); its length is `steps`/`minutes`. */
export interface RunConfig extends RunLength {
  format: typeof RUN_FORMAT;
  task: TaskConfig;
  model: ModelSize;
  /** The train settings; sizing.ts gives them their length. */
  train: TrainSettings;
  /** Start from these weights (fine-tuning) instead of fresh ones; absent: fresh. */
  initFrom?: InitFrom;
}

/** The trained model a run starts from, and its weights file's SHA-256 when it was asked. */
export interface InitFrom {
  model: string;
  weightsSha256: string;
}

/**
 * The InitFrom record of the trained model in `dir` (a model directory or a finished run):
 * its path and the SHA-256 its config.json records for its weights.
 */
export function initFromModel(dir: string): InitFrom {
  const saved = loadSavedModel(dir);
  trainedModelOf(saved); // validates the files, the weights against their SHA-256 included
  const modelDir = saved.kind === "run" ? join(dir, MODEL_DIR) : dir;
  const sha = (
    JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as { weightsSha256: string }
  ).weightsSha256;
  return { model: modelDir, weightsSha256: sha };
}

/** The weights of `initFrom`, checked against the run's spec and the recorded SHA-256. */
function initialWeightsOf(initFrom: InitFrom, spec: TransformerSpec): TransformerWeights {
  const now = initFromModel(initFrom.model);
  if (now.weightsSha256 !== initFrom.weightsSha256)
    throw new BnformerError(
      "config",
      `the model to start from changed since the run was set up (weights SHA-256 ${now.weightsSha256}, run.json has ${initFrom.weightsSha256})`,
      { file: initFrom.model },
    );
  const t = trainedModelOf(loadSavedModel(initFrom.model));
  if (canonicalJson(t.spec) !== canonicalJson(spec))
    throw new BnformerError(
      "config",
      "the model to start from has another architecture than this run (task and model size must match)",
      { file: initFrom.model },
    );
  return t.weights;
}

/** What a run is asked to be: the fields of its RunConfig. */
export type RunRequest = Omit<RunConfig, "format">;

/**
 * The RunConfig of a request, the one way `bnformer train` and the experiment build one:
 * fixed `steps`, a budget of `minutes` (steps calibrated), or both (steps under a cap).
 */
export function buildRunConfig(r: RunRequest): RunConfig {
  validateRunLength(r);
  return {
    format: RUN_FORMAT,
    task: r.task,
    model: r.model,
    train: r.train,
    steps: r.steps,
    minutes: r.minutes,
    ...(r.initFrom ? { initFrom: r.initFrom } : {}),
  };
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
  /** The hard time cap ended the run before the end of its schedule. */
  timeCapped: boolean;
  /** Updates applied so far. */
  step: number;
}

/** Trains (or resumes, or skips) the run in `o.outDir`; see the module header. */
export async function runTraining(o: RunOptions): Promise<RunOutcome> {
  const log = o.log ?? (() => {});
  const runPath = join(o.outDir, RUN_FILE);
  const stored = existsSync(runPath) ? readRunFile(runPath) : null;
  if (stored && !o.resume) {
    throw new BnformerError(
      "config",
      `${o.outDir} already holds a training run; pass --resume to continue it, or choose another --out`,
      { file: runPath },
    );
  }
  if (stored && o.config) checkSameRun(stored.config, o.config, runPath);
  if (stored && existsSync(join(o.outDir, MODEL_DIR))) {
    const model = loadTrained(join(o.outDir, MODEL_DIR));
    log(`${o.outDir}: the run is complete (step ${model.config.step}); not training again`);
    return {
      model,
      config: stored.config,
      skipped: true,
      resumed: false,
      timeCapped: false,
      step: model.config.step,
    };
  }
  const config = stored?.config ?? o.config;
  if (!config)
    throw new BnformerError("io", `no training run in ${o.outDir} to resume`, {
      file: o.outDir,
    });
  // Everything training would reject is rejected here, before calibrating or writing
  // run.json: a run folder left behind by a bad config refused every rerun.
  const task = buildTask(config.task);
  const spec = specForTask(task.layout, config.model);
  validateSpec(spec);
  const ckpt = join(o.outDir, CHECKPOINT_DIR);
  const resumeFrom = stored && existsSync(ckpt) ? loadTrainCheckpoint(ckpt) : null;
  let size: RunSize;
  if (resumeFrom) {
    log(`resuming ${o.outDir} from its checkpoint`);
    size = resumedSize(resumeFrom.meta, stored!.legacyResizeAt);
  } else {
    const settings = { ...config.train, lengthBuckets: [...task.lengthBuckets] };
    size = await sizeRun(task, spec, settings, config, log);
  }
  if (!stored) {
    const record = { ...config, command: o.command ?? null, startedAt: new Date().toISOString() };
    writeFileAtomic(runPath, JSON.stringify(record, null, 2) + "\n");
  }
  let trainCfg = size.train;
  const before = previousSeconds(o.outDir);
  const cap = new AbortController();
  const timer =
    config.minutes === null
      ? null
      : setTimeout(() => cap.abort(), Math.max(0, config.minutes * 60 - before) * 1000);
  const signal = o.signal ? AbortSignal.any([o.signal, cap.signal]) : cap.signal;
  const t0 = performance.now();
  const pace =
    size.resizeAt === null
      ? null
      : paceFit(size.train, size.resizeAt, config.minutes!, before, t0, log);
  const modelConfigBase = {
    kind: "trained" as const,
    task: config.task,
    model: config.model,
    encoding: { contextVisible: "all" as const },
    shareContext: true as const,
  };
  const onStep = (m: StepMetrics) => {
    pace?.onStep(m);
    o.onStep?.(m);
  };
  try {
    const r = await train({
      spec,
      config: size.train,
      provider: task.provider,
      outDir: o.outDir,
      signal,
      progress: o.progress ?? false,
      onStep,
      ...(resumeFrom ? { resumeFrom } : {}),
      ...(!resumeFrom && config.initFrom
        ? { initialWeights: initialWeightsOf(config.initFrom, spec) }
        : {}),
      onSnapshot: (step, weights) =>
        saveTrainedModel(join(o.outDir, SNAPSHOT_DIR, `step-${step}`), spec, weights, {
          ...modelConfigBase,
          train: trainCfg,
          step,
          trainSeconds: before + (performance.now() - t0) / 1000,
        }),
      ...(pace
        ? { resize: { ...pace.resize, onResize: (c: TrainConfig) => void (trainCfg = c) } }
        : {}),
    });
    const session = (performance.now() - t0) / 1000;
    recordSession(o.outDir, session);
    const seconds = before + session;
    const timeCapped = r.interrupted && cap.signal.aborted && !(o.signal?.aborted ?? false);
    const base = { config, skipped: false, resumed: resumeFrom !== null, timeCapped, step: r.step };
    if (r.interrupted && !timeCapped) return { ...base, model: null };
    if (timeCapped) log(`time budget reached at step ${r.step} of ${trainCfg.steps}`);
    saveTrainedModel(join(o.outDir, MODEL_DIR), spec, r.weights, {
      ...modelConfigBase,
      train: trainCfg,
      step: r.step,
      trainSeconds: seconds,
    });
    return { ...base, model: loadTrained(join(o.outDir, MODEL_DIR)) };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The stored run must be the requested one (its step count may come from calibration). */
function checkSameRun(stored: RunConfig, wanted: RunConfig, path: string): void {
  // Under a time budget the step count is the budget's to choose (calibrated, or fixed with
  // --steps under the --minutes cap), so a budgeted run is the same run under another
  // budget. A run with fixed steps and no cap must match once sized (a run.json of format
  // /1 stores its warmup already fitted to its steps).
  const norm = (c: RunConfig) => {
    const train = { ...c.train, lengthBuckets: [] };
    return canonicalJson(
      c.minutes === null
        ? { ...c, train: withSteps(train, c.steps!) }
        : {
            ...c,
            minutes: 0,
            steps: null,
            train: { ...train, schedule: { ...train.schedule, warmupSteps: 0 } },
          },
    );
  };
  if (norm(stored) !== norm(wanted))
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
