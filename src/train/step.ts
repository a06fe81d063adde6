/**
 * The jitted training step: forward (src/model/jax/executor.ts), loss (loss.ts), gradients
 * by jax-js reverse-mode autodiff, global-norm clipping and AdamW (adamw.ts), all inside one
 * `jit` so jax-js can fuse the elementwise work and compile it once per batch shape.
 *
 * Contract: `TrainBatch` is typed arrays only (a TokenBatch plus per-query targets).
 * `TrainStep.step` consumes the params and optimizer state it is given and returns new ones
 * (jax-js ownership: the caller must drop its old references), so memory stays flat.
 * The varying numbers (learning rate, bias corrections) are array arguments, so a run
 * compiles once per distinct (B, T).
 */
import type { Array as JArray } from "@jax-js/jax";
import type { TransformerSpec } from "../model/spec.ts";
import type { JaxParams, Placement, TokenBatch } from "../model/jax/executor.ts";
import { forwardCore, kindMasks, querySlots, toJax, validateBatch } from "../model/jax/executor.ts";
import { loadJax } from "../model/jax/setup.ts";
import type { LossKind, QueryTargets } from "./loss.ts";
import { denseTargets, lossCore } from "./loss.ts";
import type { AdamwConfig, AdamwState } from "./adamw.ts";
import { adamwStepScalars, adamwUpdate, clipByGlobalNorm, validateAdamw } from "./adamw.ts";

/** A training batch: B sequences of T tokens and a target for every QUERY token. */
export type TrainBatch = TokenBatch & QueryTargets;

/**
 * The batch as jax arrays: x (B, T, I); ctx, live (B, T); sel (B, Qm, T) query slots;
 * target, valid (B Qm, O); weight (B Qm).
 */
export type DeviceBatch = {
  x: JArray;
  ctx: JArray;
  live: JArray;
  sel: JArray;
  target: JArray;
  valid: JArray;
  weight: JArray;
};

/** Uploads a validated batch (the only typed-array -> jax conversion of training). */
export function uploadBatch(
  spec: TransformerSpec,
  batch: TrainBatch,
  place: Placement = {},
): DeviceBatch {
  validateBatch(spec, batch);
  const [B, T] = batch.shape;
  const O = spec.outputDim;
  const { ctx, live } = kindMasks(batch);
  const slots = querySlots(batch);
  const R = B * slots.perSequence;
  const d = denseTargets(slots.slotOfQuery, R, O, batch);
  return {
    x: toJax(batch.tokens, [B, T, spec.inputDim], place),
    ctx: toJax(ctx, [B, T], place),
    live: toJax(live, [B, T], place),
    sel: toJax(slots.sel, [B, slots.perSequence, T], place),
    target: toJax(d.target, [R, O], place),
    valid: toJax(d.valid, [R, O], place),
    weight: toJax(d.weight, [R], place),
  };
}

/** The mean loss of `batch` under params `p`; traced, consumes everything. */
export function batchLoss(
  spec: TransformerSpec,
  kind: LossKind,
  p: JaxParams,
  b: DeviceBatch,
): JArray {
  const out = forwardCore(spec, p, b.x, b.ctx, b.live, b.sel); // (B Qm, O)
  return lossCore(kind, spec.output, out, b.target, b.valid, b.weight);
}

/** What one step reports. */
export interface StepResult {
  params: JaxParams;
  state: AdamwState<JaxParams>;
  /** Mean loss over the batch's queries, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** A compiled training step for one spec, loss and optimizer configuration. */
export interface TrainStep {
  /** One clipped AdamW update at learning rate `lr`; consumes `params` and `state`. */
  step(
    params: JaxParams,
    state: AdamwState<JaxParams>,
    batch: TrainBatch,
    lr: number,
  ): Promise<StepResult>;
  /** Loss and gradients without an update; does not consume `params`. */
  lossAndGrad(params: JaxParams, batch: TrainBatch): Promise<{ loss: number; grads: JaxParams }>;
  /** Loss only; does not consume `params`. */
  loss(params: JaxParams, batch: TrainBatch): Promise<number>;
  dispose(): void;
}

/** Builds the jitted step; loads jax-js if needed. */
export async function createTrainStep(
  spec: TransformerSpec,
  kind: LossKind,
  adamw: AdamwConfig,
): Promise<TrainStep> {
  validateAdamw(adamw);
  const jax = await loadJax();
  const { tree, numpy: np } = jax;
  const lossFn = (p: JaxParams, b: DeviceBatch) => batchLoss(spec, kind, p, b);
  const grad = jax.valueAndGrad(lossFn);
  const update = jax.jit(
    (p: JaxParams, m: JaxParams, v: JaxParams, b: DeviceBatch, s: JArray[]) => {
      const [loss, grads] = grad(tree.ref(p), b);
      const [gLeaves] = tree.flatten(grads);
      const [clipped, norm] = clipByGlobalNorm(gLeaves as JArray[], adamw.clipNorm);
      const [pLeaves, def] = tree.flatten<JArray>(p);
      const [mLeaves] = tree.flatten(m);
      const [vLeaves] = tree.flatten(v);
      const [lr, bc1, bc2] = s as [JArray, JArray, JArray];
      const u = adamwUpdate(adamw, pLeaves, clipped, mLeaves, vLeaves, lr, bc1, bc2);
      const back = (leaves: JArray[]) => tree.unflatten(def, leaves) as unknown as JaxParams;
      return { loss, norm, params: back(u.params), m: back(u.m), v: back(u.v) };
    },
  );
  const valueGrad = jax.jit((p: JaxParams, b: DeviceBatch) => grad(p, b));
  const lossOnly = jax.jit((p: JaxParams, b: DeviceBatch) => lossFn(p, b));
  return {
    async step(params, state, batch, lr) {
      const b = uploadBatch(spec, batch);
      const sc = adamwStepScalars(adamw, state.step, lr);
      const scalars = [np.array(sc.lr), np.array(sc.bc1), np.array(sc.bc2)];
      const r = update(params, state.m, state.v, b, scalars);
      const loss = (await r.loss.data())[0]!;
      const gradNorm = (await r.norm.data())[0]!;
      return {
        params: r.params,
        state: { m: r.m, v: r.v, step: state.step + 1 },
        loss,
        gradNorm,
      };
    },
    async lossAndGrad(params, batch) {
      const [loss, grads] = valueGrad(tree.ref(params), uploadBatch(spec, batch));
      return { loss: (await loss.data())[0]!, grads: grads as JaxParams };
    },
    async loss(params, batch) {
      return (await lossOnly(tree.ref(params), uploadBatch(spec, batch)).data())[0]!;
    },
    dispose() {
      update.dispose();
      valueGrad.dispose();
      lossOnly.dispose();
    },
  };
}
