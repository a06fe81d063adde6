/**
 * Training checkpoints: everything a run needs to continue bit-exactly, in the model
 * checkpoint directory format of src/model/checkpoint.ts (model.safetensors + config.json):
 *   weights                 under their dotted names (float32, as trained)
 *   extra.adamw.m.<name>    AdamW first moments, float32
 *   extra.adamw.v.<name>    AdamW second moments, float32
 *   config.json "config"    { kind: "training", train: TrainConfig, step, rng: { seed, state },
 *                             resizeAt? (a pending pace fit, sizing.ts) }
 * `step` counts the updates already applied; `rng` is the data stream's state after the
 * batch of the last applied update was drawn. Loading (`loadTrainCheckpoint`) and the
 * schema of the meta live with the other saved files in saved-model.ts.
 */
import type { Array as JArray } from "@jax-js/jax";
import type { Tensor, TransformerSpec, TransformerWeights } from "../model/spec.ts";
import { saveCheckpoint } from "../model/checkpoint.ts";
import type { JaxParams } from "../model/jax/executor.ts";
import { paramEntries, paramsFromWeights, weightsFromParams } from "../model/jax/executor.ts";
import type { AdamwState } from "./adamw.ts";
import type { TrainConfig } from "./config.ts";

/** The JSON a training checkpoint keeps beside the tensors. */
export interface TrainCheckpointMeta {
  kind: "training";
  train: TrainConfig;
  step: number;
  rng: { seed: number; state: [number, number, number, number] };
  /** A budgeted run's pace fit still to come at this update (sizing.ts); absent: none. */
  resizeAt?: number;
}

/** A training checkpoint read back as typed arrays. */
export interface LoadedTrainCheckpoint {
  /** The directory it was read from. */
  dir: string;
  spec: TransformerSpec;
  weights: TransformerWeights;
  m: TransformerWeights;
  v: TransformerWeights;
  meta: TrainCheckpointMeta;
}

/** Saves params, optimizer state and `meta` into `dir` (atomic per file). */
export async function saveTrainCheckpoint(
  dir: string,
  spec: TransformerSpec,
  params: JaxParams,
  opt: AdamwState<JaxParams>,
  meta: TrainCheckpointMeta,
): Promise<void> {
  const weights = await weightsFromParams(spec, params);
  const extra = new Map<string, Tensor>();
  for (const [which, tree] of [
    ["m", opt.m],
    ["v", opt.v],
  ] as const) {
    for (const [name, a] of paramEntries(spec, tree))
      extra.set(`adamw.${which}.${name}`, await read(a));
  }
  saveCheckpoint(dir, { spec, weights, config: { ...meta }, extra });
}

async function read(a: JArray): Promise<Tensor> {
  const data = Float32Array.from((await a.ref.data()) as Float32Array);
  return { shape: [...a.shape], data };
}

/** Jax params and AdamW state from a loaded checkpoint. */
export function restoreTrainState(ck: LoadedTrainCheckpoint): {
  params: JaxParams;
  opt: AdamwState<JaxParams>;
} {
  return {
    params: paramsFromWeights(ck.spec, ck.weights),
    opt: {
      m: paramsFromWeights(ck.spec, ck.m),
      v: paramsFromWeights(ck.spec, ck.v),
      step: ck.meta.step,
    },
  };
}
