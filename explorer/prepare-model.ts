/**
 * Puts the shipped pretrained model where the page finds it, before `vite` serves or builds:
 * explorer/public/pretrained/{model.json, model.safetensors} (Vite copies public/ into the
 * static folder). The model is read by the library's own loader (loadFamilyModel, what
 * `bnformer eval-pretrained` and `--engine pretrained` read), so a broken model stops the
 * build with its file and field; the page then needs no file access, only the spec, the
 * family limits and the weights. The model is models/pretrained/ when it exists; only
 * without it does EXPLORER_MODEL=DIR (a trained model, a run, or a run's checkpoint) give a
 * development model; with neither nothing is written and the page shows no "pretrained"
 * column and no pretrained attention. EXPLORER_PUBLIC=DIR writes (and vite.config.ts
 * copies) another folder than explorer/public/.
 *
 *   node --import tsx explorer/prepare-model.ts
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeSafetensors, flattenWeights } from "../src/core.ts";
import { loadFamilyModel } from "../src/train/pretrained.ts";
import { writeFileAtomic } from "../src/files.ts";
import { BnformerError } from "../src/errors.ts";
import type { ExplorerModelFile } from "./compute.ts";
import { EXPLORER_MODEL_FORMAT, MODEL_JSON, MODEL_WEIGHTS } from "./compute.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
export const PUBLIC_DIR = join(REPO, "explorer", "public");
export const SHIPPED_MODEL_DIR = join(REPO, "models", "pretrained");

/** Writes the page's copy of the model in `modelDir` into `publicDir`; false when there is none. */
export function prepareModel(modelDir: string, publicDir: string): boolean {
  rmSync(join(publicDir, "pretrained"), { recursive: true, force: true });
  if (!existsSync(modelDir)) return false;
  const { model, description } = loadFamilyModel(modelDir);
  const shipped = resolve(modelDir) === resolve(SHIPPED_MODEL_DIR);
  const { spec, layout } = model;
  const json: ExplorerModelFile = {
    format: EXPLORER_MODEL_FORMAT,
    // The page names no path of the machine that built it.
    description:
      (shipped ? "the shipped model (models/pretrained/)" : description.replace(REPO, "")) +
      `, ${spec.layers.length} layers of ${spec.layers[0]!.heads} heads, width ${spec.dModel}; ` +
      `families of at most ${layout.kMax} parents and ${layout.dMax} states`,
    shipped,
    kMax: model.layout.kMax,
    dMax: model.layout.dMax,
    spec: model.spec,
  };
  mkdirSync(join(publicDir, "pretrained"), { recursive: true });
  const weights = encodeSafetensors(flattenWeights(model.weights), { format: model.spec.format });
  writeFileAtomic(join(publicDir, MODEL_WEIGHTS), weights);
  writeFileAtomic(join(publicDir, MODEL_JSON), JSON.stringify(json) + "\n");
  return true;
}

/**
 * The model the page is built with: models/pretrained/ when it exists, else the development
 * model `devModel` (EXPLORER_MODEL), else none. The build and the browser test both use it.
 */
export function explorerModelDir(devModel: string | undefined): string | null {
  if (existsSync(SHIPPED_MODEL_DIR)) return SHIPPED_MODEL_DIR;
  return devModel !== undefined && devModel !== "" ? devModel : null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const devModel = process.env["EXPLORER_MODEL"];
  const dir = explorerModelDir(devModel);
  try {
    if (dir === SHIPPED_MODEL_DIR && devModel)
      console.log(`explorer: EXPLORER_MODEL ignored: ${SHIPPED_MODEL_DIR} ships and is used`);
    const found = prepareModel(
      dir ?? SHIPPED_MODEL_DIR,
      process.env["EXPLORER_PUBLIC"] || PUBLIC_DIR,
    );
    console.log(
      found
        ? `explorer: pretrained model from ${dir}`
        : `explorer: no pretrained model (${dir ?? SHIPPED_MODEL_DIR} does not exist); the page shows none`,
    );
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    console.error(`explorer: ${e.message}`);
    process.exit(1);
  }
}
