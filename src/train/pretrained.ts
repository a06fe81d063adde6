/**
 * The pretrained (network-agnostic) family model: loading one from a trained model, a run
 * or a checkpoint directory, and the shipped one in models/pretrained/ as an engine.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { BnformerError } from "../errors.ts";
import type { Engine, FamilyModel } from "../model/engine.ts";
import { familyEngine } from "../model/engine.ts";
import { canonicalJson } from "../model/checkpoint.ts";
import { buildTask } from "./tasks.ts";
import { specForTask } from "./trained-model.ts";
import { loadSavedModel, runCheckpointOf, trainedModelOf } from "./saved-model.ts";

/** Where the package ships its pretrained family model (src/ and dist/ sit at the same depth). */
export const PRETRAINED_DIR = fileURLToPath(new URL("../../models/pretrained/", import.meta.url));

/** The family model to evaluate and what it is, in words. */
export interface LoadedFamilyModel {
  readonly model: FamilyModel;
  readonly description: string;
}

/**
 * A family model from a trained model directory, a run directory (its model/, or while the
 * run has none yet its checkpoint/), or a run's checkpoint/ directory (the task and size come
 * from the run's run.json next to it). Anything else is refused, naming the directory.
 */
export function loadFamilyModel(dir: string): LoadedFamilyModel {
  const saved = loadSavedModel(dir);
  const notFamily = (what: string) =>
    new BnformerError(
      "config",
      `${what}, not a family (network-agnostic) model; train one with bnformer train --task family`,
      { file: dir },
    );
  if (saved.kind === "construction") throw notFamily("a construction");
  const run = runCheckpointOf(dir, saved);
  if (run) {
    const { config, checkpoint: ck, runFile, ckptDir } = run;
    if (config.task.kind !== "family") throw notFamily(`a "${config.task.kind}" training run`);
    const layout = buildTask(config.task).layout;
    if (!("kind" in layout)) throw notFamily("a row-token training run");
    if (canonicalJson(specForTask(layout, config.model)) !== canonicalJson(ck.spec))
      throw new BnformerError(
        "parse",
        `the checkpoint's spec does not match the run's task and model size in ${runFile}`,
        { file: ckptDir },
      );
    return {
      model: { spec: ck.spec, weights: ck.weights, layout },
      description: `training checkpoint ${ckptDir} at step ${ck.meta.step} of ${basename(dir)}`,
    };
  }
  const t = trainedModelOf(saved);
  if (!("kind" in t.task.layout)) throw notFamily(`a "${t.config.task.kind}" trained model`);
  return {
    model: { spec: t.spec, weights: t.weights, layout: t.task.layout },
    description: `trained model ${saved.dir}`,
  };
}

/**
 * The shipped pretrained model (or the family model in `dir`) as an engine: any network
 * whose families fit its limits (at most kMax parents and dMax states per family member).
 */
export function pretrainedEngine(dir: string = PRETRAINED_DIR, name = "pretrained"): Engine {
  return familyEngine(loadPretrainedModel(dir), name);
}

/** The shipped pretrained model, or the family model in `dir`; an error when there is none. */
export function loadPretrainedModel(dir: string = PRETRAINED_DIR): FamilyModel {
  if (!existsSync(dir))
    throw new BnformerError(
      "config",
      `no pretrained model at ${dir}; train one with ` +
        `bnformer train --task family --out runs/family and use --engine model:runs/family`,
      { file: dir },
    );
  return loadFamilyModel(dir).model;
}
