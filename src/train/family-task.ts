/**
 * The "family" task: training data for the network-agnostic model (src/model/family-encoding.ts).
 *
 * Each context of a batch is one random family, drawn from its own generator:
 *   1. k ~ U{0..kMax} parents; the target's and each parent's cardinality ~ U{dMin..dMax};
 *   2. the distribution of the C parent configurations ~ Dirichlet(c, ..., c) with c drawn
 *      from CONFIG_CONCENTRATIONS (real networks have very unbalanced parents: c = 0.1 puts
 *      most rows on a few configurations);
 *   3. the target's CPT rows from the task's prior (default BROAD_PRIOR);
 *   4. N context rows (parent configuration, then target value) and R query rows (a parent
 *      configuration from the same distribution; its target value is not shown).
 * Parent slots need no explicit shuffle: every slot's cardinality is drawn the same way and
 * the configuration prior is exchangeable, so all slot orders are equally likely already.
 * The target of a query is the exact posterior mean of the target's CPT row at the query's
 * parent configuration under the prior, from the counts of the context rows with that
 * configuration (`posteriorMean`): the Bayes-optimal answer, the floor of the loss. Outputs
 * past the target's cardinality are masked (`valid`, loss.ts gives them no probability).
 * N is drawn once per batch (tasks.ts `drawContextLength`), so a batch has N + R tokens.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Rng } from "../bn/rng.ts";
import { createRng, sampleCategorical, sampleDirichlet } from "../bn/rng.ts";
import { sampleNetwork, validatePrior } from "../bn/priors.ts";
import { decodeParentConfig, parentConfigCount } from "../bn/cpt.ts";
import type { Dataset } from "../bn/dataset.ts";
import { posteriorMean } from "../estimate/posterior.ts";
import type { FamilyLayout, FamilyShape } from "../model/family-encoding.ts";
import { familyLayout, writeFamilyToken } from "../model/family-encoding.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY } from "../model/spec.ts";
import type { TaskConfig, TaskDraw, TrainingTask } from "./tasks.ts";
import { MAX_ATTENTION_CELLS, contextBuckets, drawContextLength } from "./tasks.ts";
import type { TrainBatch } from "./step.ts";

/** Concentrations of the parent-configuration Dirichlet, one drawn per context. */
export const CONFIG_CONCENTRATIONS: readonly number[] = [0.1, 1, 10];

/** Defaults of `bnformer train --task family`: alarm's in-degree 4, child's 6 states. */
export const defaultFamilyTask = { kMax: 4, dMin: 2, dMax: 6 } as const;

/**
 * The structure of one family: parents P1..Pk (roots, in slot order), then the target T
 * with parents [0..k-1]. The target is the last variable.
 */
export function familyStructure(shape: FamilyShape): Structure {
  const states = (d: number) => Array.from({ length: d }, (_, i) => String(i));
  const k = shape.parentCards.length;
  return {
    name: `family${k}`,
    variables: [
      ...shape.parentCards.map((d, j) => ({ name: `P${j + 1}`, states: states(d) })),
      { name: "T", states: states(shape.targetCard) },
    ],
    parents: [...shape.parentCards.map(() => []), Array.from({ length: k }, (_, j) => j)],
  };
}

/** Resolves a family task (config.family set, no structures). */
export function buildFamilyTask(config: TaskConfig): TrainingTask {
  const f = config.family!;
  const bad = (k: string, v: unknown, want: string): never => {
    throw new BnformerError("config", `family.${k} must be ${want}, got ${JSON.stringify(v)}`, {
      path: ["task", "family", k],
    });
  };
  if (!Number.isInteger(f.kMax) || f.kMax < 0 || f.kMax > 8) bad("kMax", f.kMax, "in 0..8");
  if (!Number.isInteger(f.dMax) || f.dMax < 2 || f.dMax > 16) bad("dMax", f.dMax, "in 2..16");
  if (!Number.isInteger(f.dMin) || f.dMin < 2 || f.dMin > f.dMax)
    bad("dMin", f.dMin, `in 2..dMax (${f.dMax})`);
  const layout = familyLayout(f.kMax, f.dMax);
  // The widest family checks the prior (uniform and beta fit binary variables only).
  validatePrior(familyStructure({ targetCard: f.dMax, parentCards: [] }), config.prior);
  const R = config.queryRows;
  const tokensFor = (n: number) => n + R;
  const longest = tokensFor(config.contextMax);
  if (config.batchSize * longest * longest > MAX_ATTENTION_CELLS)
    throw new BnformerError(
      "config",
      `batchSize ${config.batchSize} x (contextMax ${config.contextMax} + queryRows ${R})^2 ` +
        `attention scores exceed ${MAX_ATTENTION_CELLS}; use a smaller batch or contextMax`,
      { path: ["task"] },
    );
  const task: TrainingTask = {
    config,
    structures: [],
    layout,
    outputDim: layout.dMax,
    tokensFor,
    lengthBuckets: contextBuckets(config.contextMin, config.contextMax).map(tokensFor),
    draw: (rng) => drawFamilyBatch(task, layout, rng),
    provider: (_step, rng) => drawFamilyBatch(task, layout, rng).batch,
  };
  return task;
}

/** One random family and its rows (context first, then the R query rows). */
function drawFamily(
  f: NonNullable<TaskConfig["family"]>,
  c: TaskConfig,
  g: Rng,
  n: number,
): TaskDraw["episodes"][number] {
  const d = () => f.dMin + g.nextInt(f.dMax - f.dMin + 1);
  const k = g.nextInt(f.kMax + 1);
  const parentCards = Array.from({ length: k }, d);
  const structure = familyStructure({ targetCard: d(), parentCards });
  const T = k; // the target's index
  const K = structure.variables[T]!.states.length;
  const C = parentConfigCount(structure, T);
  const conc = CONFIG_CONCENTRATIONS[g.nextInt(CONFIG_CONCENTRATIONS.length)]!;
  const configProbs = sampleDirichlet(g, new Float64Array(C).fill(conc));
  const cpt = sampleNetwork(g, structure, c.prior).cpts[T]!;
  const rows = (count: number): Dataset => {
    const data = new Uint8Array(count * (k + 1));
    for (let r = 0; r < count; r++) {
      const cfg = sampleCategorical(g, configProbs);
      data.set(decodeParentConfig(structure, T, cfg), r * (k + 1));
      data[r * (k + 1) + T] = sampleCategorical(g, cpt, cfg * K, K);
    }
    return { vars: k + 1, rows: count, data };
  };
  const context = rows(n);
  return { structure, context, queryRows: rows(c.queryRows) };
}

function drawFamilyBatch(task: TrainingTask, layout: FamilyLayout, rng: Rng): TaskDraw {
  const c = task.config;
  const f = c.family!;
  const n = drawContextLength(c, rng);
  const B = c.batchSize;
  const R = c.queryRows;
  const T = n + R;
  const I = layout.width;
  const O = layout.dMax;
  const tokens = new Float32Array(B * T * I);
  const kinds = new Uint8Array(B * T);
  const targets = new Float32Array(B * R * O);
  const valid = new Uint8Array(B * R * O);
  const episodes: TaskDraw["episodes"][number][] = [];
  for (let b = 0; b < B; b++) {
    const e = drawFamily(f, c, createRng(rng.nextUint32()), n);
    episodes.push(e);
    const k = e.structure.variables.length - 1;
    const shape: FamilyShape = {
      targetCard: e.structure.variables[k]!.states.length,
      parentCards: e.structure.variables.slice(0, k).map((v) => v.states.length),
    };
    const K = shape.targetCard;
    const w = k + 1;
    for (let r = 0; r < n; r++) {
      const row = e.context.data.subarray(r * w, (r + 1) * w);
      writeFamilyToken(layout, shape, tokens, (b * T + r) * I, row[k]!, row, false);
    }
    kinds.fill(TOKEN_CONTEXT, b * T, b * T + n);
    kinds.fill(TOKEN_QUERY, b * T + n, (b + 1) * T);
    const counts = new Float64Array(K);
    for (let q = 0; q < R; q++) {
      const query = e.queryRows.data.subarray(q * w, (q + 1) * w);
      writeFamilyToken(layout, shape, tokens, (b * T + n + q) * I, 0, query, true);
      counts.fill(0);
      for (let r = 0; r < n; r++) {
        let same = true;
        for (let j = 0; j < k && same; j++) same = e.context.data[r * w + j] === query[j];
        if (same) counts[e.context.data[r * w + k]!]! += 1;
      }
      const at = (b * R + q) * O;
      const pm = posteriorMean(c.prior, counts);
      for (let s = 0; s < K; s++) targets[at + s] = pm[s]!;
      valid.fill(1, at, at + K);
    }
  }
  const batch: TrainBatch = { tokens, kinds, shape: [B, T, I], targets, valid };
  return { batch, contextRows: n, episodes };
}
