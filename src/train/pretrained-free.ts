/**
 * The structure-free model (docs/structure-free.md): a row-token transformer trained on
 * random DAGs (`--task random-dag`, normally `--dag-prior modular`) and never told the
 * structure, so it answers any network of its token layout (same number of variables,
 * cardinalities and topological order) from the context alone. Like BMA it conditions on
 * every variable before the target: its queries were trained showing all of them.
 * PRETRAINED_FREE_DIR is where the package ships one (`--engine pretrained-free`).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Engine, TransformerModel } from "../model/engine.ts";
import { transformerEngine } from "../model/engine.ts";
import { loadSavedModel, trainedModelOf } from "./saved-model.ts";
import type { TrainedModel } from "./trained-model.ts";
import { checkRunnableOn } from "./trained-model.ts";
import { naiveConditioning } from "../estimate/options.ts";
import { structureLayout } from "./tasks.ts";

/** Where the package ships its structure-free model (src/ and dist/ sit at the same depth). */
export const PRETRAINED_FREE_DIR = fileURLToPath(
  new URL("../../models/pretrained-free/", import.meta.url),
);

/**
 * The structure-free model in `dir` (a trained model or a finished run directory); refused
 * with a "config" error naming `dir` when it holds a model trained on fixed structures.
 */
export function loadStructureFreeModel(dir: string): TrainedModel {
  const t = trainedModelOf(loadSavedModel(dir));
  if (t.config.task.randomDag === null)
    throw new BnformerError(
      "config",
      `a "${t.config.task.kind}" model, trained on given structures, not a structure-free one; ` +
        `train one with bnformer train --task random-dag --dag-prior modular`,
      { file: dir },
    );
  return t;
}

/** The shipped structure-free model, or the one in `dir`; an error when there is none. */
export function loadPretrainedFreeModel(dir: string = PRETRAINED_FREE_DIR): TrainedModel {
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
export function structureFreeModel(t: TrainedModel, structure: Structure): TransformerModel {
  checkRunnableOn(t, structure);
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
export function structureFreeEngine(t: TrainedModel, name = "pretrained-free"): Engine {
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
