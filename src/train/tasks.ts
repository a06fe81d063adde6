/**
 * Training tasks as batch providers (src/train/loop.ts `BatchProvider`).
 *
 * A task is plain JSON (`TaskConfig`): the structure(s) (fixed ones, or a random DAG drawn
 * per context), the CPT prior, the target (targets.ts), B contexts per batch, the range and
 * sampling of the context length N, and R query rows per context. Each batch:
 *   1. draws one N for the whole batch (so its token count is one of few buckets);
 *   2. per context: a generator seeded by one draw of the data stream, then (random-dag)
 *      a structure (`drawRandomDag`: an edge-probability range or the modular prior), (mixed)
 *      a uniformly chosen structure, a CPT set from the prior, N
 *      context rows and R fresh query rows, all from that generator;
 *   3. encodes ONE shared context (contextVisible "all", no target mark) and R x M query
 *      tokens: every (query row, target) pair, the query showing the variables before its
 *      target (src/model/encoding.ts), so every context serves R x M training signals for
 *      about the cost of one;
 *   4. attaches the targets (targets.ts), rows in token order.
 * Every structure of a task must share one token layout (variables, cardinalities and
 * topological order); the model is never told which structure a context came from.
 * The batch depends only on the config and the data stream, so training resumes exactly.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { validateStructure } from "../bn/network.ts";
import type { Rng } from "../bn/rng.ts";
import { createRng } from "../bn/rng.ts";
import type { CptPrior } from "../bn/priors.ts";
import { sampleNetwork, validatePrior } from "../bn/priors.ts";
import type { ModularDagOptions } from "../bn/families.ts";
import { modularRandomDag, randomDag } from "../bn/families.ts";
import { sampleRows } from "../bn/sample.ts";
import type { Dataset } from "../bn/dataset.ts";
import type { TokenLayout } from "../model/encoding.ts";
import type { FamilyLayout } from "../model/family-encoding.ts";
import { encodeBatch, queriesForTargets, tokenLayout } from "../model/encoding.ts";
import type { TrainBatch } from "./step.ts";
import type { TargetKind } from "./targets.ts";
import { checkTargetKind, validMask, writeTargets } from "./targets.ts";
import { buildFamilyTask } from "./family-task.ts";

/** The task families of the issue; only a label once the structures are resolved. */
export type TaskKind = "single" | "mixed" | "random-dag" | "categorical" | "family";

/** How N is drawn per batch: uniform on [min, max], log-uniform, or each half the time. */
export type LengthSampling = "uniform" | "log-uniform" | "mixed";

/** A structure as stored in JSON (a Structure without anything else). */
export interface StructureJson {
  name: string;
  variables: { name: string; states: string[] }[];
  parents: number[][];
}

/** Random DAGs over X0..X(n-1), one per context: from an edge-probability range or the modular prior. */
export type RandomDagTask = EdgeRangeDagTask | ModularDagTask;

/** `randomDag` (src/bn/families.ts): edge probability p ~ U(pMin, pMax) per DAG. */
export interface EdgeRangeDagTask {
  nodes: number;
  pMin: number;
  pMax: number;
  states: number;
}

/**
 * `modularRandomDag` (src/bn/families.ts): each earlier node a parent with probability
 * edgeProb, at most maxParents parents: exactly the structure prior BMA averages over
 * (src/estimate/bma.ts), so a model trained on it learns to approach BMA
 * (docs/structure-free.md).
 */
export interface ModularDagTask {
  dagPrior: "modular";
  nodes: number;
  states: number;
  edgeProb: number;
  maxParents: number;
}

/** Defaults of the modular prior in `train` (issue 10's held-out distribution). */
export const DEFAULT_MODULAR_EDGE_PROB = 0.35;
export const DEFAULT_MODULAR_MAX_PARENTS = 3;

/** The modular-prior DAG options of `r`, or null for an edge-range task. */
export function modularDagOptions(r: RandomDagTask): ModularDagOptions | null {
  if (!("dagPrior" in r)) return null;
  return {
    nodes: { min: r.nodes, max: r.nodes },
    states: { min: r.states, max: r.states },
    edgeProb: r.edgeProb,
    maxParents: r.maxParents,
  };
}

/** One DAG of a random-DAG task, drawn from `rng`. */
export function drawRandomDag(rng: Rng, r: RandomDagTask): Structure {
  if (!("dagPrior" in r)) return randomDag(rng, r.nodes, r);
  // Named like the layout structure, so a drawn DAG and the layout agree on everything but edges.
  return { ...modularRandomDag(rng, modularDagOptions(r)!), name: `random${r.nodes}` };
}

/** Random families for the network-agnostic model (family-task.ts); see the module header. */
export interface FamilyTask {
  /** Most parents; k is drawn uniformly from 0..kMax per context. */
  kMax: number;
  /** Cardinalities are drawn uniformly from dMin..dMax per variable and context. */
  dMin: number;
  dMax: number;
}

/** Everything that defines a task's data; stored in run configs and trained checkpoints. */
export interface TaskConfig {
  kind: TaskKind;
  /** Fixed structures (one for single/categorical, several for mixed); empty for random-dag. */
  structures: StructureJson[];
  /** Set for random-dag (then `structures` is empty). */
  randomDag: RandomDagTask | null;
  /** Set exactly for kind "family" (then `structures` is empty and randomDag null). */
  family?: FamilyTask;
  prior: CptPrior;
  target: TargetKind;
  /** B: contexts per batch. */
  batchSize: number;
  /** N is drawn per batch from [contextMin, contextMax]. */
  contextMin: number;
  contextMax: number;
  lengthSampling: LengthSampling;
  /** R: query rows per context (each gives one query token per variable). */
  queryRows: number;
}

/** Defaults besides the structures (docs/training.md): U(0.1, 0.9), posterior-mean targets, N in 1..200. */
export const defaultTaskConfig: Omit<TaskConfig, "kind" | "structures" | "randomDag"> = {
  prior: { kind: "uniform", low: 0.1, high: 0.9 },
  target: "posterior-mean",
  batchSize: 16,
  contextMin: 1,
  contextMax: 200,
  lengthSampling: "mixed",
  queryRows: 4,
};

/** Most attention scores (batch x tokens^2) a task's largest batch may need per head. */
export const MAX_ATTENTION_CELLS = 2 ** 30;

/** A resolved task: its structures, shared token layout and batch drawing. */
export interface TrainingTask {
  readonly config: TaskConfig;
  readonly structures: readonly Structure[];
  /** The structures' shared row-token layout, or (kind "family") the family layout. */
  readonly layout: TokenLayout | FamilyLayout;
  /** O: the largest cardinality (the model's output width). */
  readonly outputDim: number;
  /** Token count of a batch with N context rows: N + R x M. */
  tokensFor(n: number): number;
  /** Token buckets that keep the number of distinct batch shapes small. */
  readonly lengthBuckets: readonly number[];
  /** One batch and what it was made of. */
  draw(rng: Rng): TaskDraw;
  /** The batch provider for the train loop. */
  provider(step: number, rng: Rng): TrainBatch;
}

/** One drawn batch plus its raw episodes (for tests and inspection). */
export interface TaskDraw {
  readonly batch: TrainBatch;
  readonly contextRows: number;
  readonly episodes: readonly {
    structure: Structure;
    context: Dataset;
    queryRows: Dataset;
  }[];
}

/** A Structure as plain JSON (copies the arrays). */
export function structureToJson(s: Structure): StructureJson {
  return {
    name: s.name,
    variables: s.variables.map((v) => ({ name: v.name, states: [...v.states] })),
    parents: s.parents.map((p) => [...p]),
  };
}

/** The edgeless structure X0..X(n-1) whose layout every random DAG of the task shares. */
function randomDagLayoutStructure(r: RandomDagTask): Structure {
  const states = Array.from({ length: r.states }, (_, i) => String(i));
  return {
    name: `random${r.nodes}`,
    variables: Array.from({ length: r.nodes }, (_, i) => ({ name: `X${i}`, states })),
    parents: Array.from({ length: r.nodes }, () => []),
  };
}

/** The row-token layout of a structure task (not of a family task, which has none). */
export function structureLayout(task: TrainingTask): TokenLayout {
  if ("kind" in task.layout)
    throw new BnformerError(
      "config",
      "a family task has no row-token layout (it encodes one family at a time)",
      { path: ["task", "kind"] },
    );
  return task.layout;
}

/** Same variables count, cardinalities and topological order. */
export function sameLayout(a: TokenLayout, b: TokenLayout): boolean {
  return (
    a.vars === b.vars &&
    a.cards.every((d, i) => d === b.cards[i]) &&
    a.order.every((v, i) => v === b.order[i])
  );
}

/** Throws a "config" error naming the first bad field of `c`. */
export function validateTaskConfig(c: TaskConfig): void {
  const bad = (k: string, v: unknown, want: string): never => {
    throw new BnformerError("config", `${k} must be ${want}, got ${JSON.stringify(v)}`, {
      path: ["task", k],
    });
  };
  checkTargetKind(c.target);
  const posInt = (k: keyof TaskConfig) => {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 1) bad(k, v, "an integer >= 1");
  };
  (["batchSize", "contextMin", "contextMax", "queryRows"] as const).forEach(posInt);
  if (c.contextMax < c.contextMin) bad("contextMax", c.contextMax, `>= contextMin`);
  if (!["uniform", "log-uniform", "mixed"].includes(c.lengthSampling))
    bad("lengthSampling", c.lengthSampling, "uniform, log-uniform or mixed");
  if ((c.kind === "family") !== (c.family !== undefined))
    bad("family", c.family ?? null, 'set exactly when kind is "family"');
  if (c.family) {
    if (c.structures.length > 0 || c.randomDag !== null)
      bad("structures", c.structures.length, "empty (and randomDag null) for a family task");
  } else if ((c.randomDag === null) === (c.structures.length === 0))
    bad("structures", c.structures.length, "non-empty exactly when randomDag is null");
  if (c.randomDag) {
    const r = c.randomDag;
    if (!Number.isInteger(r.nodes) || r.nodes < 2) bad("randomDag.nodes", r.nodes, ">= 2");
    // The DAG samplers validate p, K and states themselves; draw one to surface their errors here.
    drawRandomDag(createRng(0), r);
  }
}

/** Resolves and checks a task: structures, prior fit, one shared layout. */
export function buildTask(config: TaskConfig): TrainingTask {
  validateTaskConfig(config);
  if (config.family) return buildFamilyTask(config);
  const structures: Structure[] = config.randomDag
    ? [randomDagLayoutStructure(config.randomDag)]
    : config.structures;
  structures.forEach((s) => validateStructure(s));
  structures.forEach((s) => validatePrior(s, config.prior));
  const layout = tokenLayout(structures[0]!);
  structures.forEach((s, i) => {
    if (!sameLayout(layout, tokenLayout(s))) {
      const describe = (x: TokenLayout) =>
        `${x.vars} variables, cardinalities [${x.cards.join(",")}], order [${x.order.join(",")}]`;
      throw new BnformerError(
        "config",
        `structure "${s.name}" does not share the token layout of "${structures[0]!.name}": ` +
          `${describe(tokenLayout(s))} vs ${describe(layout)}; a task mixes only structures ` +
          `with the same variables count, cardinalities and topological order`,
        { path: ["task", "structures", String(i)] },
      );
    }
  });
  const M = layout.vars;
  const Q = config.queryRows * M;
  const tokensFor = (n: number) => n + Q;
  // The largest batch's attention scores, B x T x T per head: past MAX_ATTENTION_CELLS no
  // machine holds them, and the typed arrays would fail with a bare RangeError.
  const longest = tokensFor(config.contextMax);
  if (config.batchSize * longest * longest > MAX_ATTENTION_CELLS) {
    throw new BnformerError(
      "config",
      `batchSize ${config.batchSize} x (contextMax ${config.contextMax} + queryRows ${config.queryRows} x ${M} variables)^2 ` +
        `attention scores exceed ${MAX_ATTENTION_CELLS}; use a smaller batch, contextMax or queryRows`,
      { path: ["task"] },
    );
  }
  const task: TrainingTask = {
    config,
    structures,
    layout,
    outputDim: layout.maxCard,
    tokensFor,
    lengthBuckets: contextBuckets(config.contextMin, config.contextMax).map(tokensFor),
    draw: (rng) => drawBatch(task, layout, rng),
    provider: (_step, rng) => drawBatch(task, layout, rng).batch,
  };
  return task;
}

/**
 * Context-row counts at which batches are padded: 16, 32, 64, then x1.5 (96, 144, 216, ...),
 * those below `max`, then `max`. Few shapes (each compiles once, ~1-3 s, and its memory stays),
 * at most a third of a long batch's context padding.
 */
export function contextBuckets(min: number, max: number): number[] {
  const out: number[] = [];
  for (let c = 16; c < max; c = c < 64 ? 2 * c : Math.round(c * 1.5)) if (c >= min) out.push(c);
  out.push(max);
  return out;
}

/** N for one batch, from the task's length distribution. */
export function drawContextLength(c: TaskConfig, rng: Rng): number {
  const { contextMin: lo, contextMax: hi } = c;
  const log =
    c.lengthSampling === "log-uniform" || (c.lengthSampling === "mixed" && rng.next() < 0.5);
  if (!log) return lo + rng.nextInt(hi - lo + 1);
  // Log-uniform on [lo, hi + 1), floored: every integer in range has positive probability.
  const n = Math.floor(lo * Math.exp(rng.next() * Math.log((hi + 1) / lo)));
  return Math.min(hi, Math.max(lo, n));
}

function drawBatch(task: TrainingTask, layout: TokenLayout, rng: Rng): TaskDraw {
  const c = task.config;
  const O = task.outputDim;
  const M = layout.vars;
  const targets = Array.from({ length: M }, (_, m) => m);
  const n = drawContextLength(c, rng);
  const episodes: TaskDraw["episodes"][number][] = [];
  for (let b = 0; b < c.batchSize; b++) {
    const g = createRng(rng.nextUint32());
    const structure = c.randomDag
      ? drawRandomDag(g, c.randomDag)
      : task.structures[task.structures.length === 1 ? 0 : g.nextInt(task.structures.length)]!;
    const net = sampleNetwork(g, structure, c.prior);
    episodes.push({
      structure,
      context: sampleRows(g, net, n),
      queryRows: sampleRows(g, net, c.queryRows),
    });
  }
  const enc = encodeBatch(
    layout,
    episodes.map((e) => ({ context: e.context, queries: queriesForTargets(e.queryRows, targets) })),
    { contextVisible: "all" },
  );
  const perContext = c.queryRows * M;
  const out = new Float32Array(c.batchSize * perContext * O);
  episodes.forEach((e, b) =>
    writeTargets(c.target, { ...e, targets }, c.prior, O, out, b * perContext),
  );
  const valid = validMask(layout.cards, targets, c.batchSize * c.queryRows, O);
  const batch: TrainBatch = { ...enc, targets: out, ...(valid ? { valid } : {}) };
  return { batch, contextRows: n, episodes };
}
