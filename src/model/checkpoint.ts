/**
 * Model checkpoints as a directory that other tools can read:
 *   model.safetensors   every weight under its dotted name (`paramShapes`), plus any extra
 *                       tensors (e.g. optimizer moments) under "extra.<name>"
 *   config.json         { format, spec, config, weightsFile, weightsSha256 }: the spec, whatever
 *                       JSON the producer keeps (structure, construction parameters, training
 *                       config, step, RNG state) and the SHA-256 of model.safetensors
 * Each file is written atomically, weights first; the loader checks the digest, so a
 * directory caught between the two writes is reported, never silently mixed. Loading
 * validates the spec and every weight name and shape against `paramShapes`.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import { readBytes, readText, writeFileAtomic } from "../files.ts";
import type { Structure } from "../bn/network.ts";
import { validateStructure } from "../bn/network.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "./spec.ts";
import { flattenWeights, unflattenWeights, validateSpec, validateWeights } from "./spec.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import type { Construction } from "./construction.ts";
import { construct, constructionSpec } from "./construction.ts";
import { tokenLayout } from "./encoding.ts";

export const CHECKPOINT_FORMAT = "bnformer-checkpoint/1";
export const WEIGHTS_FILE = "model.safetensors";
export const CONFIG_FILE = "config.json";
const EXTRA_PREFIX = "extra.";

/** What a checkpoint holds. */
export interface Checkpoint {
  spec: TransformerSpec;
  weights: TransformerWeights;
  /** Any JSON the producer wants back (kept verbatim in config.json). */
  config: Record<string, unknown>;
  /** Tensors stored beside the weights, e.g. optimizer state. */
  extra?: Map<string, Tensor>;
}

/** JSON with object keys sorted, so two specs compare equal whatever their key order. */
function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(",")}]`;
  if (typeof x === "object" && x !== null) {
    const keys = Object.keys(x).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(x);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Saves `ckpt` into directory `dir` (created if needed): model.safetensors, then config.json. */
export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  validateSpec(ckpt.spec);
  validateWeights(ckpt.spec, ckpt.weights);
  const tensors = flattenWeights(ckpt.weights);
  for (const [name, t] of ckpt.extra ?? []) tensors.set(EXTRA_PREFIX + name, t);
  const bytes = encodeSafetensors(tensors, { format: ckpt.spec.format });
  writeFileAtomic(join(dir, WEIGHTS_FILE), bytes);
  const config = {
    format: CHECKPOINT_FORMAT,
    spec: ckpt.spec,
    config: ckpt.config,
    weightsFile: WEIGHTS_FILE,
    weightsSha256: sha256(bytes),
  };
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
}

/** Loads a checkpoint directory, validating format, digest, spec and every weight's shape. */
export function loadCheckpoint(dir: string): Checkpoint {
  const configPath = join(dir, CONFIG_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(configPath));
  } catch (e) {
    if (e instanceof BnformerError) throw e;
    throw new BnformerError(
      "parse",
      `not JSON: ${(e as Error).message}`,
      { file: configPath },
      { cause: e },
    );
  }
  const c = parsed as {
    format?: unknown;
    spec?: TransformerSpec;
    config?: Record<string, unknown>;
    weightsSha256?: unknown;
  };
  if (typeof c !== "object" || c === null || c.format !== CHECKPOINT_FORMAT) {
    throw new BnformerError(
      "parse",
      `expected "format": "${CHECKPOINT_FORMAT}", found ${JSON.stringify(c?.format)}`,
      { file: configPath, path: ["format"] },
    );
  }
  if (typeof c.spec !== "object" || c.spec === null) {
    throw new BnformerError("parse", `missing "spec"`, { file: configPath, path: ["spec"] });
  }
  validateSpec(c.spec);
  const weightsPath = join(dir, WEIGHTS_FILE);
  const bytes = readBytes(weightsPath);
  if (sha256(bytes) !== c.weightsSha256) {
    throw new BnformerError(
      "io",
      `the weights' SHA-256 does not match config.json (a partial save?); save the checkpoint again`,
      { file: weightsPath },
    );
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const weightTensors = new Map<string, Tensor>();
  const extra = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith(EXTRA_PREFIX)) extra.set(name.slice(EXTRA_PREFIX.length), t);
    else weightTensors.set(name, t);
  }
  const weights = unflattenWeights(c.spec, weightTensors);
  const out: Checkpoint = { spec: c.spec, weights, config: c.config ?? {} };
  if (extra.size > 0) out.extra = extra;
  return out;
}

/** Saves a construction: its weights plus the structure and parameters that rebuild its layout. */
export function saveConstruction(dir: string, c: Construction): void {
  const structure = {
    name: c.structure.name,
    variables: c.structure.variables,
    parents: c.structure.parents,
  };
  saveCheckpoint(dir, {
    spec: c.spec,
    weights: c.weights,
    config: { kind: "construction", structure, ...c.params },
  });
}

/**
 * Loads a construction saved by `saveConstruction`. The weights come from the file (not
 * recomputed); the structure must give the same spec.
 */
export function loadConstruction(dir: string): Construction {
  const ckpt = loadCheckpoint(dir);
  const cfg = ckpt.config as {
    kind?: unknown;
    structure?: Structure;
    eps?: number;
    maxContext?: number;
  };
  const where = { file: join(dir, CONFIG_FILE), path: ["config"] };
  if (cfg.kind !== "construction" || typeof cfg.structure !== "object") {
    throw new BnformerError(
      "parse",
      `not a construction checkpoint (config.kind is ${JSON.stringify(cfg.kind)})`,
      where,
    );
  }
  validateStructure(cfg.structure);
  const layout = tokenLayout(cfg.structure);
  const expected = constructionSpec(layout);
  if (canonicalJson(expected) !== canonicalJson(ckpt.spec)) {
    throw new BnformerError(
      "spec",
      "the saved spec is not the construction's spec for the saved structure",
      where,
    );
  }
  // Parameters and layout are rederived; the weights are the loaded ones.
  const rebuilt = construct(cfg.structure, { eps: cfg.eps!, maxContext: cfg.maxContext! });
  return { ...rebuilt, weights: ckpt.weights };
}
