/**
 * The structure-free model (docs/structure-free.md): a row-token transformer trained on
 * random DAGs (`--task random-dag`, normally `--dag-prior modular`) and never told the
 * structure, so it answers any network of its token layout (same number of variables,
 * cardinalities and topological order) from the context alone. Like BMA it conditions on
 * every variable before the target: its queries were trained showing all of them.
 * PRETRAINED_FREE_DIR is where the package ships one (`--engine pretrained-free`).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Engine, TransformerModel } from "../model/engine.ts";
import { transformerEngine } from "../model/engine.ts";
import type { TransformerSpec, TransformerWeights } from "../model/spec.ts";
import { tokenLayout } from "../model/encoding.ts";
import { canonicalJson } from "../model/checkpoint.ts";
import { naiveConditioning } from "../estimate/options.ts";
import {
  CHECKPOINT_DIR,
  RUN_FILE,
  loadSavedModel,
  loadTrainCheckpoint,
  readRunFile,
  trainedModelOf,
} from "./saved-model.ts";
import { specForTask } from "./trained-model.ts";
import type { TrainingTask } from "./tasks.ts";
import { buildTask, sameLayout, structureLayout } from "./tasks.ts";

/** Where the package ships its structure-free model (src/ and dist/ sit at the same depth). */
export const PRETRAINED_FREE_DIR = fileURLToPath(
  new URL("../../models/pretrained-free/", import.meta.url),
);

/** A structure-free model: weights, the task it was trained on, and what it is, in words. */
export interface StructureFreeModel {
  readonly spec: TransformerSpec;
  readonly weights: TransformerWeights;
  readonly task: TrainingTask;
  readonly description: string;
}

/**
 * The structure-free model in `dir`: a trained model, a run directory (its model/, or while
 * the run has none yet its checkpoint/, to measure a run before it finishes) or a run's
 * checkpoint/ (the task and size from the run.json next to it). Refused with a "config"
 * error naming `dir` when it holds a model trained on given structures.
 */
export function loadStructureFreeModel(dir: string): StructureFreeModel {
  const saved = loadSavedModel(dir);
  if (saved.kind === "training" || (saved.kind === "run" && saved.model === null)) {
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
    const kind = config.task.kind;
    if (config.task.randomDag === null) throw notStructureFree(dir, kind);
    const ck = saved.kind === "training" ? saved.checkpoint : loadTrainCheckpoint(ckptDir);
    const task = buildTask(config.task);
    if (canonicalJson(specForTask(structureLayout(task), config.model)) !== canonicalJson(ck.spec))
      throw new BnformerError(
        "parse",
        `the checkpoint's spec does not match the run's task and model size in ${runFile}`,
        { file: ckptDir },
      );
    return {
      spec: ck.spec,
      weights: ck.weights,
      task,
      description: `training checkpoint ${ckptDir} at step ${ck.meta.step}`,
    };
  }
  const t = trainedModelOf(saved);
  if (t.config.task.randomDag === null) throw notStructureFree(dir, t.config.task.kind);
  return {
    spec: t.spec,
    weights: t.weights,
    task: t.task,
    description: `trained model ${saved.dir} (${t.config.step} steps)`,
  };
}

function notStructureFree(dir: string, kind: string): BnformerError {
  return new BnformerError(
    "config",
    `a "${kind}" model, trained on given structures, not a structure-free one; ` +
      `train one with bnformer train --task random-dag --dag-prior modular`,
    { file: dir },
  );
}

/** The shipped structure-free model, or the one in `dir`; an error when there is none. */
export function loadPretrainedFreeModel(dir: string = PRETRAINED_FREE_DIR): StructureFreeModel {
  if (!existsSync(dir))
    throw new BnformerError(
      "config",
      `no structure-free model at ${dir}; train one with bnformer train --task random-dag ` +
        `--dag-prior modular --out runs/free and use --engine model:runs/free`,
      { file: dir },
    );
  return loadStructureFreeModel(dir);
}

/**
 * `t` as a TransformerModel over `structure`, whose edges it ignores (it was never told
 * any); refused unless `structure` has the model's token layout.
 */
export function structureFreeModel(
  t: Pick<StructureFreeModel, "spec" | "weights" | "task">,
  structure: Structure,
): TransformerModel {
  const layout = tokenLayout(structure);
  const trained = structureLayout(t.task);
  if (!sameLayout(layout, trained))
    throw new BnformerError(
      "config",
      `network "${structure.name}" (${layout.vars} variables, cardinalities [${layout.cards.join(",")}]) ` +
        `does not fit this model's token layout (${trained.vars} variables, ` +
        `cardinalities [${trained.cards.join(",")}], the same topological order)`,
      { path: ["structure"] },
    );
  return {
    structure,
    spec: t.spec,
    weights: t.weights,
    encoding: { contextVisible: "all" },
    shareContext: true,
  };
}

/**
 * A structure-free model as an engine (float64 reference executor): any structure of its
 * token layout; a call needs every variable before the target (`naiveConditioning`).
 */
export function structureFreeEngine(
  t: Pick<StructureFreeModel, "spec" | "weights" | "task">,
  name = "pretrained-free",
): Engine {
  structureLayout(t.task); // a family model has no row layout: refuse it now
  return {
    name,
    bind: (structure, context) => {
      const bound = transformerEngine(structureFreeModel(t, structure), name).bind(
        structure,
        context,
      );
      const earlier = structure.variables.map((_, v) => naiveConditioning(structure, v));
      return (target, row) => {
        for (const v of earlier[target] ?? []) {
          const x = row[v]!;
          if (!(Number.isInteger(x) && x >= 0 && x < structure.variables[v]!.states.length))
            throw notGiven(structure, target, v);
        }
        return bound(target, row);
      };
    },
  };
}

/** The shipped structure-free model (or the one in `dir`) as an engine. */
export function pretrainedFreeEngine(dir: string = PRETRAINED_FREE_DIR): Engine {
  return structureFreeEngine(loadPretrainedFreeModel(dir), "pretrained-free");
}

function notGiven(structure: Structure, target: number, v: number): BnformerError {
  return new BnformerError(
    "config",
    `the structure-free model's estimate of "${structure.variables[target]!.name}" needs every ` +
      `variable before it; "${structure.variables[v]!.name}" is not given`,
    { path: ["query", structure.variables[v]!.name] },
  );
}
