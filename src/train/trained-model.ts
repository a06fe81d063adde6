/**
 * Trained models: the spec of a task's transformer, and the checkpoint a finished training
 * run leaves (distinct from construction and training checkpoints).
 *
 * A trained checkpoint is a model checkpoint directory (src/model/checkpoint.ts) whose
 * config.json "config" is `TrainedModelConfig`: kind "trained", the task (structures,
 * prior, target, lengths), the model size, the training config, the updates applied, and
 * how tokens are encoded (one shared, unmarked context encoding, contextVisible "all").
 * Loading and its schema live in saved-model.ts (`loadTrained`, `loadTrainedModel`);
 * `trainedTransformerModel` turns a loaded model into a `TransformerModel`
 * (src/model/engine.ts) for the float64 reference executor.
 *
 * Which structures a trained model may be run on: a model trained on one structure only on
 * that structure (same parents); a mixed or random-DAG model on any structure with the
 * same token layout (it was never told the structure); a family model (kind "family") on
 * any structure whose families fit its kMax and dMax (`familyEngine`).
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type {
  Activation,
  ContextAttention,
  TransformerSpec,
  TransformerWeights,
} from "../model/spec.ts";
import type { TokenLayout } from "../model/encoding.ts";
import { tokenLayout } from "../model/encoding.ts";
import type { Engine, TransformerModel } from "../model/engine.ts";
import { familyEngine, transformerEngine } from "../model/engine.ts";
import { saveCheckpoint } from "../model/checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import type { StructureJson, TaskConfig, TrainingTask } from "./tasks.ts";
import { sameLayout, structureLayout } from "./tasks.ts";

/** Size of a task's transformer; the input and output widths come from the task. */
export interface ModelSize {
  /** D */
  dModel: number;
  layers: number;
  /** H per layer (head dim E = D / H). */
  heads: number;
  /** F per layer (0: no MLP). */
  mlpHidden: number;
  activation: Activation;
  /** What context tokens attend to (spec.ts); absent means "context" (each other). */
  contextAttention?: ContextAttention;
}

/** Defaults chosen by the tuning runs of docs/training.md. */
export const defaultModelSize: ModelSize = {
  dModel: 64,
  layers: 2,
  heads: 1,
  mlpHidden: 256,
  activation: "gelu",
};

/** Throws a "config" error naming the first bad field. */
export function validateModelSize(s: ModelSize): void {
  const bad = (k: string, v: unknown, want: string): never => {
    throw new BnformerError("config", `${k} must be ${want}, got ${JSON.stringify(v)}`, {
      path: ["model", k],
    });
  };
  for (const k of ["dModel", "layers", "heads"] as const)
    if (!Number.isInteger(s[k]) || s[k] < 1) bad(k, s[k], "an integer >= 1");
  if (!Number.isInteger(s.mlpHidden) || s.mlpHidden < 0)
    bad("mlpHidden", s.mlpHidden, "an integer >= 0");
  if (s.dModel % s.heads !== 0) bad("heads", s.heads, `a divisor of dModel ${s.dModel}`);
  if (s.activation !== "gelu" && s.activation !== "relu")
    bad("activation", s.activation, "gelu or relu");
}

/** The pre-LN transformer for a task's layout: logits over the largest cardinality. */
export function specForTask(
  layout: Pick<TokenLayout, "width" | "maxCard">,
  size: ModelSize,
): TransformerSpec {
  validateModelSize(size);
  const layer = {
    heads: size.heads,
    headDim: size.dModel / size.heads,
    mlpHidden: size.mlpHidden,
  };
  return {
    format: "bnformer-transformer/1",
    inputDim: layout.width,
    dModel: size.dModel,
    layers: Array.from({ length: size.layers }, () => ({ ...layer })),
    activation: size.activation,
    layerNorm: true,
    outputDim: layout.maxCard,
    output: "logits",
    // Written only when "self", so specs and checkpoints made before the field stay as they were.
    ...(size.contextAttention === "self" ? { contextAttention: "self" as const } : {}),
  };
}

/** The JSON a trained checkpoint keeps (config.json "config"). */
export interface TrainedModelConfig {
  kind: "trained";
  task: TaskConfig;
  model: ModelSize;
  train: TrainConfig;
  /** Updates applied (train.steps unless the run was stopped by its time budget). */
  step: number;
  /** Seconds spent training (all sessions of the run). */
  trainSeconds: number;
  encoding: { contextVisible: "all" };
  shareContext: true;
}

/** A trained model with everything it was trained with. */
export interface TrainedModel {
  spec: TransformerSpec;
  weights: TransformerWeights;
  config: TrainedModelConfig;
  task: TrainingTask;
}

/** Saves a trained model into `dir` (model.safetensors + config.json, atomic per file). */
export function saveTrainedModel(
  dir: string,
  spec: TransformerSpec,
  weights: TransformerWeights,
  config: TrainedModelConfig,
): void {
  saveCheckpoint(dir, {
    spec,
    weights,
    config: { ...config },
  });
}

/** Sub-directory of a training run that holds its trained model. */
export const MODEL_DIR = "model";

/**
 * A trained model as a TransformerModel for `structure` (default: the task's first
 * structure; for a random-DAG task pass the structure to run on). See the module header
 * for which structures are accepted.
 */
export function trainedTransformerModel(t: TrainedModel, structure?: Structure): TransformerModel {
  rejectFamilyModel(t);
  const s = structure ?? t.task.structures[0]!;
  checkRunnableOn(t, s);
  return {
    structure: s,
    spec: t.spec,
    weights: t.weights,
    encoding: { contextVisible: "all" },
    shareContext: true,
  };
}

/** Throws unless `t` reads whole rows (a family model runs only through `trainedEngine`). */
export function rejectFamilyModel(t: TrainedModel): void {
  if (t.config.task.family)
    throw new BnformerError(
      "config",
      "a family (network-agnostic) model reads one family per target, not whole rows: run it " +
        "with --engine model:DIR (predict, generate, fit) and evaluate it with bnformer eval-pretrained",
      { path: ["task", "kind"] },
    );
}

/**
 * A trained model as an Engine (src/model/engine.ts) for `--engine model:DIR`: bound to
 * whichever structure it is asked about (refused unless `checkRunnableOn`; a family model
 * checks each target's family instead), run by the float64 reference executor.
 */
export function trainedEngine(t: TrainedModel, name: string): Engine {
  if ("kind" in t.task.layout)
    return familyEngine({ spec: t.spec, weights: t.weights, layout: t.task.layout }, name);
  return {
    name,
    bind: (structure, context) =>
      transformerEngine(trainedTransformerModel(t, structure), name).bind(structure, context),
  };
}

/** Throws unless the model may run on `s` (see the module header). */
export function checkRunnableOn(t: TrainedModel, s: Structure): void {
  const layout = tokenLayout(s);
  const trainedLayout = structureLayout(t.task);
  if (!sameLayout(layout, trainedLayout)) {
    throw new BnformerError(
      "config",
      `network "${s.name}" (${layout.vars} variables, cardinalities [${layout.cards.join(",")}]) ` +
        `does not fit this model's token layout (${trainedLayout.vars} variables, ` +
        `cardinalities [${trainedLayout.cards.join(",")}], the same topological order)`,
      { path: ["structure"] },
    );
  }
  const fixed = t.config.task.structures;
  if (t.config.task.randomDag === null && fixed.length === 1 && !sameParents(fixed[0]!, s)) {
    throw new BnformerError(
      "config",
      `this model was trained on "${fixed[0]!.name}" only; network "${s.name}" has other ` +
        `parents (train a mixed or random-dag model to run on several structures)`,
      { path: ["structure"] },
    );
  }
}

function sameParents(a: StructureJson, b: Structure): boolean {
  return (
    a.parents.length === b.parents.length &&
    a.parents.every((ps, i) => ps.join() === b.parents[i]!.join())
  );
}
