/**
 * The --engine flag (and its companions) shared by generate, predict and explain:
 * an estimator name, "bma" (exact model averaging over parent sets, src/estimate/bma.ts),
 * "construction" (the hand-built 2-layer transformer, run by the float64 reference
 * executor), "model:DIR" (a saved checkpoint directory), "pretrained" (the shipped
 * network-agnostic family model in models/pretrained/, PRETRAINED_DIR) or "pretrained-free"
 * (the shipped structure-free model in models/pretrained-free/, PRETRAINED_FREE_DIR, which
 * like bma conditions on every earlier variable).
 */
import type { OptionDef, Parsed } from "./args.ts";
import { num, str } from "./args.ts";
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { variableIndex } from "../bn/network.ts";
import { MISSING } from "../bn/dataset.ts";
import type { EstimatorName } from "../estimate/index.ts";
import { bmaConditional, conditioningSet } from "../estimate/index.ts";
import { ESTIMATORS, estimatorOptions, estimatorFromArgs } from "./estimator-args.ts";
import { bmaFromArgs, bmaOptions, rejectBmaFlags } from "./bma-args.ts";
import type { Engine, FamilyModel, TransformerModel } from "../model/engine.ts";
import { loadPretrainedModel, pretrainedEngine } from "../train/pretrained.ts";
import {
  loadPretrainedFreeModel,
  pretrainedFreeEngine,
  structureFreeModel,
} from "../train/pretrained-free.ts";
import { construct } from "../model/construction.ts";
import { loadConstruction } from "../model/checkpoint.ts";
import {
  constructionEngine,
  estimatorEngine,
  transformerEngine,
  constructionModel,
} from "../model/engine.ts";
import { trainedEngine, trainedTransformerModel } from "../train/trained-model.ts";
import type { SavedModel } from "../train/saved-model.ts";
import { loadSavedModel, trainedModelOf } from "../train/saved-model.ts";

export const DEFAULT_EPS = 1e-6;

export const engineOptions: Record<string, OptionDef> = {
  engine: {
    kind: "string",
    default: "mle",
    placeholder: `${ESTIMATORS.join("|")}|bma|construction|pretrained|pretrained-free|model:DIR`,
    help: "what computes the conditionals: an estimator, the constructed transformer, the pretrained model, the structure-free model, or a saved model",
  },
  ...estimatorOptions,
  estimator: {
    kind: "choice",
    choices: ESTIMATORS,
    help: "same as --engine with an estimator name",
  },
  eps: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    default: DEFAULT_EPS,
    help: "construction: total-variation bound",
  },
  "max-context": {
    kind: "int",
    min: 1,
    help: "construction: largest context the bound holds for (default: the context's row count)",
  },
  ...bmaOptions,
};

/** The engine named by --engine / --estimator, for contexts of `contextRows` rows. */
export function engineFromArgs(args: Parsed, contextRows: number): Engine {
  const name = engineName(args);
  if (name === "bma") return bmaEngine(args);
  rejectBmaFlags(args, name);
  if ((ESTIMATORS as readonly string[]).includes(name)) {
    return estimatorEngine(estimatorFromArgs(args, name as EstimatorName));
  }
  if (name === "construction") {
    return constructionEngine({
      eps: num(args, "eps")!,
      maxContext: num(args, "max-context") ?? Math.max(1, contextRows),
    });
  }
  if (name.startsWith("model:")) return modelEngine(name.slice("model:".length));
  if (name === "pretrained") return pretrainedEngine();
  if (name === "pretrained-free") return pretrainedFreeEngine();
  throw new BnformerError(
    "config",
    `--engine must be one of ${ESTIMATORS.join(", ")}, bma, construction, pretrained, pretrained-free, model:DIR; got "${name}"`,
  );
}

/** BMA over parent sets with the flags of bma-args.ts (the prior's default needs the structure). */
function bmaEngine(args: Parsed): Engine {
  return {
    name: "bma",
    bind: (structure, context) => bmaConditional(structure, context, bmaFromArgs(args, structure)),
  };
}

/** The engine name after reconciling --engine and --estimator. */
export function engineName(args: Parsed): string {
  const engine = str(args, "engine")!;
  const estimator = str(args, "estimator");
  if (estimator === undefined) return engine;
  if (engine !== "mle" && engine !== estimator) {
    throw new BnformerError(
      "config",
      `--engine ${engine} and --estimator ${estimator} disagree; give one of them`,
    );
  }
  return estimator;
}

/** A saved model: a trained checkpoint (bnformer train) or a construction (bnformer construct). */
function modelEngine(dir: string, name = `model:${dir}`): Engine {
  const saved = loadSavedModelArg(dir);
  if (saved.kind === "construction")
    return transformerEngine(constructionModel(saved.construction), name);
  return trainedEngine(trainedModelOf(saved), name);
}

/** The family (network-agnostic) model saved in `dir`, or null when it holds another kind. */
export function loadFamilyModelIfAny(dir: string): FamilyModel | null {
  const saved = loadSavedModelArg(dir);
  if (saved.kind === "construction") return null;
  const t = trainedModelOf(saved);
  if (!("kind" in t.task.layout)) return null;
  return { spec: t.spec, weights: t.weights, layout: t.task.layout };
}

/** The saved model DIR of --engine model:DIR, as a TransformerModel for `structure`. */
export function loadTransformerModel(dir: string, structure: Structure): TransformerModel {
  const saved = loadSavedModelArg(dir);
  if (saved.kind === "construction") return constructionModel(saved.construction);
  return trainedTransformerModel(trainedModelOf(saved), structure);
}

function loadSavedModelArg(dir: string): SavedModel {
  if (dir.length === 0)
    throw new BnformerError(
      "config",
      `--engine model:DIR needs a directory, e.g. model:runs/chain7`,
    );
  return loadSavedModel(dir);
}

/** Which variables the engine conditions on for `target` (they must be given in a query). */
export function conditioningVariables(
  args: Parsed,
  structure: Structure,
  target: number,
): number[] {
  const name = engineName(args);
  if (name === "naive" || name === "bma" || name === "pretrained-free")
    return conditioningSet(structure, target, "naive");
  if (name === "marginal") return [];
  return [...structure.parents[target]!];
}

/**
 * A partial row from "A=a,B=b": state indices for the named variables, MISSING elsewhere.
 * Errors name the unknown variable or state and list the valid ones.
 */
export function parseGiven(structure: Structure, text: string | undefined): Uint8Array {
  const row = new Uint8Array(structure.variables.length).fill(MISSING);
  if (text === undefined || text.trim() === "") return row;
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0)
      throw new BnformerError("config", `--given: expected VAR=STATE, got "${part.trim()}"`);
    const name = part.slice(0, eq).trim();
    const state = part.slice(eq + 1).trim();
    const v = variableIndex(structure, name);
    const k = structure.variables[v]!.states.indexOf(state);
    if (k < 0) {
      throw new BnformerError(
        "config",
        `--given: variable "${name}" has no state "${state}" (states: ${structure.variables[v]!.states.join(", ")})`,
      );
    }
    if (row[v] !== MISSING) throw new BnformerError("config", `--given: "${name}" is given twice`);
    row[v] = k;
  }
  return row;
}

/** Throws unless every variable the engine conditions on for `target` is given. */
export function requireConditioning(
  args: Parsed,
  structure: Structure,
  target: number,
  row: Uint8Array,
): void {
  const need = conditioningVariables(args, structure, target).filter((v) => row[v] === MISSING);
  if (need.length > 0) {
    const names = need.map((v) => structure.variables[v]!.name);
    throw new BnformerError(
      "config",
      `--given must set ${names.join(", ")}: the ${engineName(args)} estimate of ` +
        `"${structure.variables[target]!.name}" conditions on ${need.length > 1 ? "them" : "it"}`,
    );
  }
}

/** A row-token transformer or a family (network-agnostic) model: what has attention to show. */
export type AttentionModel =
  { kind: "transformer"; model: TransformerModel } | { kind: "family"; model: FamilyModel };

/**
 * The transformer an --engine names, for `structure`: the construction (loaded from
 * `checkpoint`, or built for eps and maxContext), the pretrained models, or model:DIR.
 * An estimator has no attention: a "config" error says so.
 */
export function attentionModel(
  engine: string,
  structure: Structure,
  construction: { checkpoint?: string; eps: number; maxContext: number },
): AttentionModel {
  const { checkpoint } = construction;
  if (engine === "construction") {
    const c = checkpoint ? loadConstruction(checkpoint) : construct(structure, construction);
    return { kind: "transformer", model: constructionModel(c) };
  }
  if (engine === "pretrained-free") {
    const free = structureFreeModel(loadPretrainedFreeModel(), structure);
    return { kind: "transformer", model: free };
  }
  if (engine !== "pretrained" && !engine.startsWith("model:"))
    throw new BnformerError(
      "config",
      `--engine ${engine} has no attention to explain: give construction, pretrained, pretrained-free or model:DIR`,
    );
  if (checkpoint !== undefined)
    throw new BnformerError(
      "config",
      "--checkpoint goes with --engine construction; a saved model is --engine model:DIR",
    );
  if (engine === "pretrained") return { kind: "family", model: loadPretrainedModel() };
  const dir = engine.slice("model:".length);
  const family = loadFamilyModelIfAny(dir);
  if (family) return { kind: "family", model: family };
  return { kind: "transformer", model: loadTransformerModel(dir, structure) };
}
