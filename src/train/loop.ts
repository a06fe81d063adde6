/**
 * The training loop. A task is a batch provider plus a loss choice: the loop asks
 * `provider(step, rng)` for each batch, pads its length to a bucket, runs the jitted step
 * (step.ts) at the scheduled learning rate, logs, checkpoints and reports progress.
 *
 * Determinism: the initial weights come from createRng(seed).fork(INIT_STREAM); the provider
 * gets one data stream createRng(seed), advanced only by the provider. A checkpoint stores
 * weights, AdamW moments, the step and the data stream's state, so "k steps, save, load,
 * N - k steps" gives bitwise the same weights as N steps straight, provided the provider is a
 * function of (step, rng) and of what it was built with.
 *
 * Interruption: `signal` (an AbortSignal) stops the loop after the current step and saves a
 * checkpoint when `outDir` is set. The loop yields to the event loop after every step: the
 * jitted step resolves through microtasks only, so without it a time cap (a timer) or Ctrl-C
 * was seen only at the next checkpoint write (measured: a 30-minute cap observed 20 s late); `stopAfter` does the same after a given step (for tests
 * and for chunked runs).
 */
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import type { Rng } from "../bn/rng.ts";
import { createRng, restoreRng } from "../bn/rng.ts";
import type { TransformerSpec, TransformerWeights } from "../model/spec.ts";
import { contextAttentionOf, initWeights, validateSpec } from "../model/spec.ts";
import type { JaxParams } from "../model/jax/executor.ts";
import {
  bucketLength,
  countContextTokens,
  padBatch,
  paramsFromWeights,
  weightsFromParams,
} from "../model/jax/executor.ts";
import { jaxLib, loadJax } from "../model/jax/setup.ts";
import type { AdamwState } from "./adamw.ts";
import { adamwInit } from "./adamw.ts";
import type { TrainConfig } from "./config.ts";
import { validateTrainConfig } from "./config.ts";
import { learningRate } from "./schedule.ts";
import { resizedConfig } from "./sizing.ts";
import type { TrainBatch } from "./step.ts";
import { createTrainStep } from "./step.ts";
import type { StepMetrics } from "./progress.ts";
import { MetricsLog, ProgressLine } from "./progress.ts";
import type { LoadedTrainCheckpoint, TrainCheckpointMeta } from "./checkpoint.ts";
import { restoreTrainState, saveTrainCheckpoint } from "./checkpoint.ts";
import { CHECKPOINT_DIR, loadTrainCheckpoint } from "./saved-model.ts";

/** Fork index of the initial-weights stream (ASCII "init"); the data stream is the root. */
export const INIT_STREAM = 0x696e6974;

/** Gives the batch of 0-based step `step`, drawing randomness only from `rng`. */
export type BatchProvider = (step: number, rng: Rng) => TrainBatch | Promise<TrainBatch>;

export const METRICS_FILE = "metrics.jsonl";

/** What `train` needs. */
export interface TrainOptions {
  spec: TransformerSpec;
  config: TrainConfig;
  provider: BatchProvider;
  /** Starting weights (e.g. the construction's); default: initWeights from the seed. */
  initialWeights?: TransformerWeights;
  /** Checkpoint (or its directory) to continue from; its config must match `config`. */
  resumeFrom?: string | LoadedTrainCheckpoint;
  /** Where the checkpoint and metrics.jsonl go; nothing is written when absent. */
  outDir?: string;
  /** Stop (and checkpoint) once this many updates have been applied. */
  stopAfter?: number;
  /** Stop (and checkpoint) after the current step when aborted. */
  signal?: AbortSignal;
  /** Progress line on stderr (default true). */
  progress?: boolean;
  /** Called after every step. */
  onStep?: (m: StepMetrics) => void;
  /** Once, right after update `atStep`, sets the run's length (see `RunResize`). */
  resize?: RunResize;
  /** Given the weights after each update listed in `config.snapshotSteps`. */
  onSnapshot?: (step: number, weights: TransformerWeights) => void | Promise<void>;
}

/**
 * How a budgeted run fits its length to its own pace (sizing.ts): after update `atStep`
 * (past warmup), `steps(m)` gives the new step count; the schedule's cosine is stretched to
 * end there, a checkpoint with the new config is saved, then `onResize` is told. Checkpoints
 * saved before `atStep` record it (`resizeAt`), so a resumed run still fits its length.
 */
export interface RunResize {
  atStep: number;
  steps: (m: StepMetrics) => number;
  onResize?: (config: TrainConfig) => void;
}

/** What a run returns. */
export interface TrainResult {
  weights: TransformerWeights;
  /** Updates applied so far (== config.steps unless stopped early). */
  step: number;
  /** True when the run ended before config.steps (stopAfter or signal). */
  interrupted: boolean;
  lastLoss: number;
}

interface RunState {
  params: JaxParams;
  opt: AdamwState<JaxParams>;
  rng: Rng;
}

/** Fresh or resumed parameters, optimizer state and data stream. */
function startState(o: TrainOptions): RunState {
  const { spec, config } = o;
  if (o.resumeFrom !== undefined) {
    const ck = typeof o.resumeFrom === "string" ? loadTrainCheckpoint(o.resumeFrom) : o.resumeFrom;
    if (JSON.stringify(ck.spec) !== JSON.stringify(spec))
      throw new BnformerError("spec", "the checkpoint was trained with another spec", {
        file: ck.dir,
      });
    if (JSON.stringify(ck.meta.train) !== JSON.stringify(config))
      throw new BnformerError(
        "config",
        "the checkpoint was trained with another configuration; resume with the same one",
        { file: ck.dir, path: ["config", "train"] },
      );
    const { params, opt } = restoreTrainState(ck);
    return { params, opt, rng: restoreRng(ck.meta.rng.state, ck.meta.rng.seed) };
  }
  const weights = o.initialWeights ?? initWeights(createRng(config.seed).fork(INIT_STREAM), spec);
  const params = paramsFromWeights(spec, weights);
  return { params, opt: adamwInit(params), rng: createRng(config.seed) };
}

/** Trains `spec` on `provider`'s batches; see the module header. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { spec } = o;
  let config = o.config;
  validateSpec(spec);
  validateTrainConfig(config);
  await loadJax();
  const st = startState(o);
  const trainStep = await createTrainStep(spec, config.loss, config.adamw);
  const countContext = contextAttentionOf(spec) === "self";
  const first = st.opt.step;
  const log = o.outDir ? new MetricsLog(join(o.outDir, METRICS_FILE), first) : null;
  const bar = new ProgressLine(o.progress ?? true, config.steps, first);
  const t0 = performance.now();
  let lastLoss = NaN;
  const save = async () => {
    if (!o.outDir) return;
    const meta: TrainCheckpointMeta = {
      kind: "training",
      train: config,
      step: st.opt.step,
      rng: { seed: config.seed, state: st.rng.state() },
      ...(o.resize && st.opt.step < o.resize.atStep ? { resizeAt: o.resize.atStep } : {}),
    };
    await saveTrainCheckpoint(join(o.outDir, CHECKPOINT_DIR), spec, st.params, st.opt, meta);
  };
  try {
    while (st.opt.step < config.steps) {
      const s = st.opt.step;
      const drawn = await o.provider(s, st.rng);
      // Context tokens that see only themselves: run each distinct one once, with its count.
      const raw = countContext ? countContextTokens(drawn) : drawn;
      const batch = padBatch(raw, bucketLength(raw.shape[1], config.lengthBuckets));
      const lr = learningRate(config.schedule, s);
      const r = await trainStep.step(st.params, st.opt, { ...raw, ...batch }, lr);
      st.params = r.params;
      st.opt = r.state;
      lastLoss = r.loss;
      if (!Number.isFinite(r.loss))
        throw new BnformerError("data", `the loss became ${r.loss} at step ${s + 1}`, {
          path: ["train", "step"],
        });
      const elapsedSec = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step: st.opt.step,
        loss: r.loss,
        gradNorm: r.gradNorm,
        lr,
        stepsPerSec: (st.opt.step - first) / elapsedSec,
        elapsedSec,
      };
      if (log && (m.step % config.logEvery === 0 || m.step === config.steps)) log.append(m);
      bar.update(m);
      o.onStep?.(m);
      if (o.resize && m.step === o.resize.atStep && m.step < config.steps) {
        config = resizedConfig(config, o.resize.steps(m), m.step);
        validateTrainConfig(config);
        bar.setTotal(config.steps);
        // The checkpoint carries the new length before anyone else is told of it, so a
        // resume always finds the config its checkpoint was trained with (run.ts).
        await save();
        o.resize.onResize?.(config);
      }
      if (o.onSnapshot && config.snapshotSteps?.includes(m.step))
        await o.onSnapshot(m.step, await weightsFromParams(spec, st.params));
      const every = config.checkpointEvery;
      if (every > 0 && m.step % every === 0 && m.step < config.steps) await save();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (m.step === o.stopAfter || o.signal?.aborted) break;
    }
    await save();
    const weights = await weightsFromParams(spec, st.params);
    return { weights, step: st.opt.step, interrupted: st.opt.step < config.steps, lastLoss };
  } finally {
    bar.stop();
    // After a failed step some leaves may already be consumed; free only the live ones.
    const { tree } = jaxLib();
    for (const a of tree.leaves([st.params, st.opt.m, st.opt.v])) if (a.refCount > 0) a.dispose();
    trainStep.dispose();
  }
}
