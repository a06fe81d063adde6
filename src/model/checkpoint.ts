/**
 * Model checkpoints as a directory that other tools can read:
 *   model.safetensors   every weight under its dotted name (`paramShapes`), plus any extra
 *                       tensors (e.g. optimizer moments) under "extra.<name>"
 *   config.json         { format, spec, config, weightsFile, weightsSha256 }: the spec, whatever
 *                       JSON the producer keeps (structure, construction parameters, training
 *                       config, step, RNG state) and the SHA-256 of model.safetensors
 * Each file is written atomically, weights first; the loader checks the digest, so a
 * directory caught between the two writes is reported, never silently mixed.
 * `readCheckpointDir` reads each file once, checks config.json against its schema
 * (src/schema.ts) and every weight name and shape against `paramShapes`; errors name the
 * file and the field or tensor. "config" is checked by the loader of its kind: a
 * construction here, trained models and training checkpoints in src/train/saved-model.ts.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { BnformerError, formatLocation } from "../errors.ts";
import { readBytes, writeFileAtomic } from "../files.ts";
import {
  array,
  checked,
  integer,
  jsonObject,
  literal,
  number,
  object,
  refine,
  schemaError,
  string,
} from "../schema.ts";
import { validateStructure } from "../bn/network.ts";
import type { Tensor, TransformerSpec, TransformerWeights } from "./spec.ts";
import {
  flattenWeights,
  specSchema,
  unflattenWeights,
  validateSpec,
  validateWeights,
} from "./spec.ts";
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
export function canonicalJson(x: unknown): string {
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

/** Reads a file's bytes; a parameter so that tests can count the reads. */
export type FileReader = (path: string) => Uint8Array;

/** A checkpoint directory read once: config.json parsed and the weights checked against it. */
export interface CheckpointFiles {
  dir: string;
  /** Path of config.json (errors about the config name it). */
  configFile: string;
  /** Path of model.safetensors. */
  weightsFile: string;
  spec: TransformerSpec;
  weights: TransformerWeights;
  /** config.json "config": the producer's JSON, checked by the loader of its kind. */
  config: Record<string, unknown>;
  /** Tensors stored beside the weights ("extra.<name>" in the file). */
  extra: Map<string, Tensor>;
}

/** config.json of every checkpoint; "config" is the producer's, checked per kind. */
const checkpointConfigSchema = object({
  format: literal(CHECKPOINT_FORMAT),
  spec: specSchema,
  config: jsonObject,
  weightsFile: literal(WEIGHTS_FILE),
  weightsSha256: string(/^[0-9a-f]{64}$/, "64 lowercase hex digits (a SHA-256)"),
});

/** JSON text of `file` (read with `read`), or a "parse" error naming it. */
export function readJsonFile(file: string, read: FileReader = readBytes): unknown {
  const text = Buffer.from(read(file))
    .toString("utf8")
    .replace(/^\uFEFF/, "");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BnformerError("parse", `not JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/**
 * Reads config.json and model.safetensors of `dir`, each once: checks config.json against
 * its schema, the weights against its SHA-256, and every tensor name and shape against the
 * spec. Errors name the file and the field or tensor.
 */
export function readCheckpointDir(dir: string, read: FileReader = readBytes): CheckpointFiles {
  const configFile = join(dir, CONFIG_FILE);
  const c = checkpointConfigSchema(readJsonFile(configFile, read), { file: configFile, path: [] });
  const weightsFile = join(dir, WEIGHTS_FILE);
  const bytes = read(weightsFile);
  if (sha256(bytes) !== c.weightsSha256) {
    throw new BnformerError(
      "io",
      `the weights' SHA-256 does not match config.json (a partial save?); save the checkpoint again`,
      { file: weightsFile },
    );
  }
  const { tensors } = decodeSafetensors(bytes, weightsFile);
  const weightTensors = new Map<string, Tensor>();
  const extra = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith(EXTRA_PREFIX)) extra.set(name.slice(EXTRA_PREFIX.length), t);
    else weightTensors.set(name, t);
  }
  const weights = weightsFromTensors(c.spec, weightTensors, weightsFile);
  return { dir, configFile, weightsFile, spec: c.spec, weights, config: c.config, extra };
}

/**
 * `unflattenWeights` for tensors read from `file`: a missing, extra or misshapen tensor is
 * a "parse" error naming the file and the tensor.
 */
export function weightsFromTensors(
  spec: TransformerSpec,
  tensors: Map<string, Tensor>,
  file: string,
): TransformerWeights {
  try {
    return unflattenWeights(spec, tensors);
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    const message = e.message.slice(formatLocation(e.location).length);
    throw new BnformerError("parse", message, { file }, { cause: e });
  }
}

/** Loads a checkpoint directory, validating format, digest, spec and every weight's shape. */
export function loadCheckpoint(dir: string): Checkpoint {
  const f = readCheckpointDir(dir);
  const out: Checkpoint = { spec: f.spec, weights: f.weights, config: f.config };
  if (f.extra.size > 0) out.extra = f.extra;
  return out;
}

/** A structure as checkpoints store it: name, variables with their states, parent indices. */
export const structureSchema = refine(
  object({
    name: string(),
    variables: array(object({ name: string(), states: array(string()) }), { minLength: 1 }),
    parents: array(array(integer({ min: 0 }))),
  }),
  validateStructure,
);

/** config.json "config" of a construction (`saveConstruction`). */
const constructionConfigSchema = object({
  kind: literal("construction"),
  structure: structureSchema,
  eps: number({ min: 0, exclusiveMin: true, max: 1 }),
  maxContext: integer({ min: 1 }),
  beta: number(),
  penalty: number(),
});

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
export function loadConstruction(dir: string, read: FileReader = readBytes): Construction {
  return constructionFromCheckpoint(readCheckpointDir(dir, read));
}

/** The construction in checkpoint files whose config is of kind "construction". */
export function constructionFromCheckpoint(f: CheckpointFiles): Construction {
  const at = { file: f.configFile, path: ["config"] };
  const cfg = constructionConfigSchema(f.config, at);
  const expected = constructionSpec(tokenLayout(cfg.structure));
  if (canonicalJson(expected) !== canonicalJson(f.spec)) {
    throw schemaError(
      { file: f.configFile, path: ["spec"] },
      "is not the construction's spec for the saved structure",
    );
  }
  // Parameters and layout are rederived; the weights are the loaded ones.
  const rebuilt = checked(at, () =>
    construct(cfg.structure, { eps: cfg.eps, maxContext: cfg.maxContext }),
  );
  return { ...rebuilt, weights: f.weights };
}
