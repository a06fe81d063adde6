/**
 * Saved models and training runs, each read once and checked in full. `loadSavedModel(dir)`
 * reads a checkpoint directory (config.json + model.safetensors, src/model/checkpoint.ts)
 * or a training-run directory (run.json, checkpoint/, model/; run.ts) and returns what it
 * holds, by the kind it declares:
 *   construction   config.json "config.kind": "construction" (bnformer construct)
 *   trained        "config.kind": "trained", the model/ a finished run leaves
 *   training       "config.kind": "training", a run's checkpoint/ (train --resume)
 *   run            a run directory: its run.json, and its trained model once finished
 * Every JSON file of these has its one schema here (src/schema.ts), so a bad file is
 * reported with its path and field, e.g.
 *   runs/x/model/config.json: field "config.train.steps": expected an integer >= 1, got 0
 * Nothing here loads jax-js (src/model/jax/setup.ts loads it on demand).
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { BnformerError } from "../errors.ts";
import { readBytes } from "../files.ts";
import type { Place, Schema } from "../schema.ts";
import {
  array,
  boolean,
  child,
  checked,
  integer,
  jsonObject,
  literal,
  missingField,
  nullable,
  number,
  object,
  optional,
  refine,
  schemaError,
  string,
  tuple,
  variant,
} from "../schema.ts";
import type { Structure } from "../bn/network.ts";
import type { Tensor, TransformerWeights } from "../model/spec.ts";
import { paramShapes } from "../model/spec.ts";
import type { CheckpointFiles, FileReader } from "../model/checkpoint.ts";
import {
  CONFIG_FILE,
  canonicalJson,
  constructionFromCheckpoint,
  readCheckpointDir,
  readJsonFile,
  structureSchema,
  weightsFromTensors,
} from "../model/checkpoint.ts";
import type { Construction } from "../model/construction.ts";
import type { TransformerModel } from "../model/engine.ts";
import type { TrainConfig, TrainSettings } from "./config.ts";
import { trainSettingsOf, validateTrainConfig, validateTrainSettings } from "./config.ts";
import { LOSS_KINDS } from "./loss.ts";
import type { EdgeRangeDagTask, ModularDagTask, RandomDagTask, TaskConfig } from "./tasks.ts";
import { buildTask } from "./tasks.ts";
import { TARGET_KINDS } from "./targets.ts";
import type { ModelSize, TrainedModel, TrainedModelConfig } from "./trained-model.ts";
import {
  MODEL_DIR,
  specForTask,
  trainedTransformerModel,
  validateModelSize,
} from "./trained-model.ts";
import type { LoadedTrainCheckpoint, TrainCheckpointMeta } from "./checkpoint.ts";
import type { RunConfig } from "./run.ts";

/** A run's requested config (run.ts); lives here with the other saved files' names. */
export const RUN_FILE = "run.json";

/** The training checkpoint's folder inside a run directory. */
export const CHECKPOINT_DIR = "checkpoint";
/** The format of run.json; "bnformer-train-run/1" files (with a step count) are still read. */
export const RUN_FORMAT = "bnformer-train-run/2";

// ---- The schemas: one per saved JSON object ----

const probability = number({ min: 0, max: 1 });
const concentration = number({ min: 0, exclusiveMin: true });
const priorSchema = variant("kind", {
  uniform: object({ kind: literal("uniform"), low: probability, high: probability }),
  beta: object({ kind: literal("beta"), alpha: concentration }),
  dirichlet: object({ kind: literal("dirichlet"), alpha: concentration }),
  "dirichlet-mixture": object({
    kind: literal("dirichlet-mixture"),
    alphas: array(concentration, { minLength: 1 }),
    weights: array(probability, { minLength: 1 }),
  }),
});

const edgeRangeDagSchema: Schema<EdgeRangeDagTask> = object({
  nodes: integer({ min: 2 }),
  pMin: number({ min: 0, max: 1 }),
  pMax: number({ min: 0, max: 1 }),
  states: integer({ min: 2 }),
});
const modularDagSchema: Schema<ModularDagTask> = object({
  dagPrior: literal("modular"),
  nodes: integer({ min: 2 }),
  states: integer({ min: 2 }),
  edgeProb: probability,
  maxParents: integer({ min: 0 }),
});
// Files written before the modular prior have no "dagPrior": they are edge-range tasks.
const randomDagSchema: Schema<RandomDagTask> = (v, at) =>
  jsonObject(v, at).dagPrior === undefined ? edgeRangeDagSchema(v, at) : modularDagSchema(v, at);

const taskConfigSchema: Schema<TaskConfig> = object({
  kind: literal("single", "mixed", "random-dag", "categorical", "family"),
  structures: array(structureSchema),
  randomDag: nullable(randomDagSchema),
  family: optional(
    object({
      kMax: integer({ min: 0 }),
      dMin: integer({ min: 2 }),
      dMax: integer({ min: 2 }),
    }),
  ),
  prior: priorSchema,
  target: literal(...TARGET_KINDS),
  batchSize: integer({ min: 1 }),
  contextMin: integer({ min: 1 }),
  contextMax: integer({ min: 1 }),
  lengthSampling: literal("uniform", "log-uniform", "mixed"),
  queryRows: integer({ min: 1 }),
});

const scheduleFields = {
  peakLr: number({ min: 0, exclusiveMin: true }),
  minLr: number({ min: 0 }),
  warmupSteps: integer({ min: 0 }),
};
const trainFields = {
  seed: integer(),
  loss: literal(...LOSS_KINDS),
  adamw: object({
    beta1: number({ min: 0, max: 1 }),
    beta2: number({ min: 0, max: 1 }),
    eps: number({ min: 0, exclusiveMin: true }),
    weightDecay: number({ min: 0 }),
    clipNorm: number({ min: 0 }),
  }),
  lengthBuckets: array(integer({ min: 1 })),
  checkpointEvery: integer({ min: 0 }),
  logEvery: integer({ min: 1 }),
  snapshotSteps: optional(array(integer({ min: 1 }))),
};

const trainConfigSchema: Schema<TrainConfig> = refine(
  object({
    ...trainFields,
    steps: integer({ min: 1 }),
    schedule: object({ ...scheduleFields, totalSteps: integer({ min: 1 }) }),
  }),
  validateTrainConfig,
);

const trainSettingsSchema: Schema<TrainSettings> = refine(
  object({ ...trainFields, schedule: object(scheduleFields) }),
  validateTrainSettings,
);

const modelSizeSchema: Schema<ModelSize> = refine(
  object({
    dModel: integer({ min: 1 }),
    layers: integer({ min: 1 }),
    heads: integer({ min: 1 }),
    mlpHidden: integer({ min: 0 }),
    activation: literal("gelu", "relu"),
    contextAttention: optional(literal("context", "self")),
  }),
  validateModelSize,
);

const trainedModelConfigSchema: Schema<TrainedModelConfig> = object({
  kind: literal("trained"),
  task: taskConfigSchema,
  model: modelSizeSchema,
  train: trainConfigSchema,
  step: integer({ min: 0 }),
  trainSeconds: number({ min: 0 }),
  encoding: object({ contextVisible: literal("all") }),
  shareContext: literal(true),
});

const uint32 = integer({ min: 0, max: 0xffffffff });
const trainCheckpointMetaSchema: Schema<TrainCheckpointMeta> = object({
  kind: literal("training"),
  train: trainConfigSchema,
  step: integer({ min: 0 }),
  rng: object({ seed: integer(), state: tuple(uint32, uint32, uint32, uint32) }),
  resizeAt: optional(integer({ min: 1 })),
});

const startedFields = {
  command: optional(nullable(string())),
  startedAt: optional(nullable(string())),
};
const minutesSchema = nullable(number({ min: 0, exclusiveMin: true }));

const runFileSchema = variant("format", {
  "bnformer-train-run/2": object({
    format: literal(RUN_FORMAT),
    task: taskConfigSchema,
    model: modelSizeSchema,
    train: trainSettingsSchema,
    steps: nullable(integer({ min: 1 })),
    minutes: minutesSchema,
    initFrom: optional(
      object({ model: string(), weightsSha256: string(/^[0-9a-f]{64}$/, "a SHA-256") }),
    ),
    ...startedFields,
  }),
  // Written before the length moved to the checkpoint: train holds the step count (the
  // calibrated or fitted one when stepsFromMinutes), resizeAt the pace fit's update.
  "bnformer-train-run/1": object({
    format: literal("bnformer-train-run/1"),
    task: taskConfigSchema,
    model: modelSizeSchema,
    train: trainConfigSchema,
    minutes: minutesSchema,
    stepsFromMinutes: boolean,
    resizeAt: optional(integer({ min: 0 })),
    ...startedFields,
  }),
});

// ---- Loading ----

/** What a saved-model directory holds (see the module header). */
export type SavedModel =
  | { kind: "construction"; dir: string; construction: Construction }
  | { kind: "trained"; dir: string; model: TrainedModel }
  | { kind: "training"; dir: string; checkpoint: LoadedTrainCheckpoint }
  | { kind: "run"; dir: string; run: RunConfig; model: TrainedModel | null };

const KINDS = ["construction", "trained", "training"] as const;

/**
 * Reads the saved model or training run in `dir` (each file once, through `read`) and
 * checks it in full; errors name the file and the field or tensor.
 */
export function loadSavedModel(dir: string, read: FileReader = readBytes): SavedModel {
  if (!existsSync(dir)) throw new BnformerError("io", "no such directory", { file: dir });
  if (!statSync(dir).isDirectory())
    throw new BnformerError(
      "io",
      `not a directory; a saved model is a directory holding ${CONFIG_FILE}`,
      { file: dir },
    );
  if (existsSync(join(dir, CONFIG_FILE))) return fromCheckpoint(readCheckpointDir(dir, read));
  const modelDir = join(dir, MODEL_DIR);
  if (existsSync(join(dir, RUN_FILE))) {
    const { config } = readRunFile(join(dir, RUN_FILE), read);
    const model = existsSync(modelDir) ? trainedModelFrom(readCheckpointDir(modelDir, read)) : null;
    return { kind: "run", dir, run: config, model };
  }
  if (existsSync(join(modelDir, CONFIG_FILE))) return loadSavedModel(modelDir, read);
  throw new BnformerError(
    "io",
    `no saved model here (neither ${CONFIG_FILE} nor ${RUN_FILE}): give a directory written ` +
      `by bnformer construct or bnformer train`,
    { file: dir },
  );
}

function fromCheckpoint(f: CheckpointFiles): SavedModel {
  const at = { file: f.configFile, path: ["config", "kind"] };
  if (!("kind" in f.config)) throw missingField(at);
  const kind = literal(...KINDS)(f.config.kind, at);
  switch (kind) {
    case "construction":
      return { kind, dir: f.dir, construction: constructionFromCheckpoint(onlyWeights(f)) };
    case "trained":
      return { kind, dir: f.dir, model: trainedModelFrom(f) };
    case "training":
      return { kind, dir: f.dir, checkpoint: trainCheckpointFrom(f) };
  }
}

/** `f` unless it holds tensors besides the weights (only training checkpoints do). */
function onlyWeights(f: CheckpointFiles): CheckpointFiles {
  const [name] = f.extra.keys();
  if (name !== undefined)
    throw new BnformerError(
      "parse",
      `unexpected tensor "extra.${name}": a ${String(f.config.kind)} checkpoint holds only weights`,
      { file: f.weightsFile },
    );
  return f;
}

/** The trained model in checkpoint files of kind "trained". */
export function trainedModelFrom(f: CheckpointFiles): TrainedModel {
  onlyWeights(f);
  const at: Place = { file: f.configFile, path: ["config"] };
  const config = trainedModelConfigSchema(f.config, at);
  const task = checked(child(at, "task"), () => buildTask(config.task));
  const expected = checked(child(at, "model"), () => specForTask(task.layout, config.model));
  if (canonicalJson(expected) !== canonicalJson(f.spec))
    throw schemaError(
      { file: f.configFile, path: ["spec"] },
      "does not match the saved task and model size (config.task, config.model)",
    );
  return { spec: f.spec, weights: f.weights, config, task };
}

/** The training checkpoint (weights, AdamW moments, meta) in files of kind "training". */
export function trainCheckpointFrom(f: CheckpointFiles): LoadedTrainCheckpoint {
  const meta = trainCheckpointMetaSchema(f.config, { file: f.configFile, path: ["config"] });
  const moment = (which: "m" | "v"): TransformerWeights => {
    const flat = new Map<string, Tensor>();
    for (const name of paramShapes(f.spec).keys()) {
      const t = f.extra.get(`adamw.${which}.${name}`);
      if (!t)
        throw new BnformerError(
          "parse",
          `missing optimizer tensor "extra.adamw.${which}.${name}"`,
          { file: f.weightsFile },
        );
      flat.set(name, t);
    }
    return weightsFromTensors(f.spec, flat, f.weightsFile);
  };
  const m = moment("m");
  const v = moment("v");
  const known = 2 * paramShapes(f.spec).size;
  if (f.extra.size !== known) {
    const [odd] = [...f.extra.keys()].filter((k) => !/^adamw\.[mv]\./.test(k));
    throw new BnformerError("parse", `unexpected tensor "extra.${odd}"`, { file: f.weightsFile });
  }
  return { dir: f.dir, spec: f.spec, weights: f.weights, m, v, meta };
}

/** The trained model of `saved`, or an error saying what `saved` is instead. */
export function trainedModelOf(saved: SavedModel): TrainedModel {
  switch (saved.kind) {
    case "trained":
      return saved.model;
    case "run":
      if (saved.model !== null) return saved.model;
      throw new BnformerError(
        "io",
        `the training run has no trained model yet (no ${MODEL_DIR}/); if it was interrupted, ` +
          `finish it with bnformer train --resume --out ${saved.dir}`,
        { file: saved.dir },
      );
    case "construction":
      throw new BnformerError(
        "parse",
        `a construction, not a trained model; use it with --engine model:DIR`,
        { file: saved.dir },
      );
    case "training":
      throw new BnformerError(
        "parse",
        `a training checkpoint, not a trained model: finish the run (bnformer train --resume) to get the model`,
        { file: saved.dir },
      );
  }
}

/** Loads a trained model (a model directory or a run directory). */
export function loadTrained(dir: string): TrainedModel {
  return trainedModelOf(loadSavedModel(dir));
}

/** `loadTrained` then `trainedTransformerModel`. */
export function loadTrainedModel(dir: string, structure?: Structure): TransformerModel {
  return trainedTransformerModel(loadTrained(dir), structure);
}

/** Loads a training checkpoint directory (a run's checkpoint/). */
export function loadTrainCheckpoint(dir: string): LoadedTrainCheckpoint {
  return trainCheckpointFrom(readCheckpointDir(dir));
}

/** A run's run.json, as read. */
export interface RunFile {
  config: RunConfig;
  command: string | null;
  startedAt: string | null;
  /** A format /1 file's pace-fit update (sizing.ts `resumedSize`); null otherwise. */
  legacyResizeAt: number | null;
}

/**
 * A run's run.json: its config, and how the run was started. A format /1 file (its step
 * count in train) is read as the request it was: its steps unless they were calibrated.
 */
export function readRunFile(path: string, read: FileReader = readBytes): RunFile {
  const file = runFileSchema(readJsonFile(path, read), { file: path, path: [] });
  const command = file.command ?? null;
  const startedAt = file.startedAt ?? null;
  if (file.format === RUN_FORMAT) {
    const { command: _c, startedAt: _s, ...config } = file;
    return { config, command, startedAt, legacyResizeAt: null };
  }
  const config: RunConfig = {
    format: RUN_FORMAT,
    task: file.task,
    model: file.model,
    train: trainSettingsOf(file.train),
    steps: file.stepsFromMinutes ? null : file.train.steps,
    minutes: file.minutes,
  };
  return { config, command, startedAt, legacyResizeAt: file.resizeAt ?? null };
}

/** Seconds of each training session (a run's sessions.json). */
export function readSessions(path: string): number[] {
  return array(number({ min: 0 }))(readJsonFile(path), { file: path, path: [] });
}

/** A run's latest training checkpoint, with the run's request and where both were read. */
export interface RunCheckpoint {
  readonly config: RunConfig;
  readonly checkpoint: LoadedTrainCheckpoint;
  readonly runFile: string;
  readonly ckptDir: string;
}

/**
 * The training checkpoint `saved` (loaded from `dir`) stands for: a run directory that has
 * no model yet (its checkpoint/), or a run's checkpoint/ (the run.json next to it); null for
 * anything else. Refused, naming `dir`, when the run.json or the checkpoint is missing.
 */
export function runCheckpointOf(dir: string, saved: SavedModel): RunCheckpoint | null {
  if (!(saved.kind === "training" || (saved.kind === "run" && saved.model === null))) return null;
  const inRun = saved.kind === "run";
  const ckptDir = inRun ? join(dir, CHECKPOINT_DIR) : dir;
  const runFile = join(inRun ? dir : dirname(dir), RUN_FILE);
  if (!existsSync(runFile))
    throw new BnformerError(
      "io",
      `a training checkpoint without its run's ${RUN_FILE} (expected ${runFile}): give the run directory`,
      { file: dir },
    );
  if (!existsSync(ckptDir))
    throw new BnformerError("io", "the run has neither a model nor a checkpoint yet", {
      file: dir,
    });
  const { config } = readRunFile(runFile);
  const checkpoint = saved.kind === "training" ? saved.checkpoint : loadTrainCheckpoint(ckptDir);
  return { config, checkpoint, runFile, ckptDir };
}
