/**
 * The paper experiment's training side (`bnformer experiment paper`): presets, the plan of
 * runs, and training them one after another.
 *
 * For every graph and seed the plan has one run per training target (default: the
 * posterior-mean target and the paper's prediction target), each in its own directory
 *   OUT/runs/<graph>/<target>-seed<seed>/   (run.ts layout: run.json, checkpoint/, model/ ...)
 * so an interrupted experiment, started again with the same flags, skips the finished runs
 * and resumes the unfinished one from its checkpoint. Evaluation (src/eval, the CLI) then
 * scores each seed's models against the baselines on the same episodes.
 */
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import type { PaperGraphName } from "../bn/families.ts";
import { PAPER_GRAPH_NAMES, paperGraph } from "../bn/families.ts";
import { MAX_SEED } from "../bn/rng.ts";
import type { TrainConfig } from "./config.ts";
import { defaultTrainConfig } from "./config.ts";
import type { RunConfig, RunOutcome } from "./run.ts";
import { runTraining, unsizedSteps, withSteps } from "./run.ts";
import type { StepMetrics } from "./progress.ts";
import type { TaskConfig } from "./tasks.ts";
import { defaultTaskConfig, structureToJson } from "./tasks.ts";
import type { TargetKind } from "./targets.ts";
import { defaultLossFor } from "./targets.ts";
import type { ModelSize } from "./trained-model.ts";
import { defaultModelSize } from "./trained-model.ts";

/** Named settings of the experiment. */
export type PresetName = "cpu" | "smoke";
export const PRESET_NAMES: readonly PresetName[] = ["cpu", "smoke"];

/** Task settings shared by every run (the structure and target vary per run). */
export type SharedTaskConfig = Omit<TaskConfig, "kind" | "structures" | "randomDag" | "target">;

/** Optimiser settings shared by every run (the seed and steps vary per run). */
export interface OptimiserConfig {
  peakLr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
}

/** Evaluation settings of the experiment (used by the CLI with src/eval). */
export interface ExperimentEvalConfig {
  lengths: number[];
  episodes: number;
  evalSeed: number;
  /** Node-averaged TV of a model within this factor of the posterior mean's is "met". */
  ratioTarget: number;
  /** Lengths at which the ratio target is checked (those that are evaluated). */
  targetLengths: number[];
}

/** The whole experiment. */
export interface ExperimentConfig {
  preset: PresetName;
  graphs: PaperGraphName[];
  seeds: number[];
  targets: TargetKind[];
  /** Budget per run: steps from calibration (minutes) unless `steps` is set. */
  minutes: MinutesBudget | null;
  steps: number | null;
  model: ModelSize;
  task: SharedTaskConfig;
  optimiser: OptimiserConfig;
  eval: ExperimentEvalConfig;
}

/**
 * Training minutes per run: `perTarget[target]` where given, else `default`.
 * `--minutes M` is `{ default: M }`.
 */
export interface MinutesBudget {
  default: number;
  perTarget?: Partial<Record<TargetKind, number>>;
}

/** The minutes a run with `target` may train, or null when the experiment fixes steps. */
export function minutesFor(e: ExperimentConfig, target: TargetKind): number | null {
  if (e.minutes === null) return null;
  return e.minutes.perTarget?.[target] ?? e.minutes.default;
}

const PAPER_EVAL: ExperimentEvalConfig = {
  lengths: [1, 2, 5, 10, 20, 50, 100, 200],
  episodes: 2000,
  evalSeed: 20250105,
  ratioTarget: 1.1,
  targetLengths: [1, 10, 50, 100, 200],
};

/** The presets: "cpu" is the acceptance run; "smoke" checks the pipeline in about a minute. */
export const PRESETS: Record<PresetName, ExperimentConfig> = {
  cpu: {
    preset: "cpu",
    graphs: ["chain7", "tree7", "general5"],
    seeds: [0, 1, 2],
    targets: ["posterior-mean", "prediction"],
    // Posterior-mean runs (the acceptance target) get the whole 30-minute cap: the ratio at
    // 200 rows still falls with steps (docs/results.md: tree7 missed 1.10 at 20 minutes,
    // chain7 met it only with 8500 steps). The paper's prediction target gets a third of
    // the cap: it is reported, not held to a target.
    minutes: { default: 10, perTarget: { "posterior-mean": 30 } },
    steps: null,
    model: defaultModelSize,
    task: { ...defaultTaskConfig },
    optimiser: { peakLr: 1e-3, minLr: 1e-5, warmupSteps: 100, weightDecay: 0.01 },
    eval: PAPER_EVAL,
  },
  smoke: {
    preset: "smoke",
    graphs: ["chain7", "tree7", "general5"],
    seeds: [0],
    targets: ["posterior-mean", "prediction"],
    minutes: null,
    steps: 6,
    model: { dModel: 16, layers: 2, heads: 1, mlpHidden: 32, activation: "gelu" },
    task: { ...defaultTaskConfig, batchSize: 4, contextMax: 50, queryRows: 2 },
    optimiser: { peakLr: 1e-3, minLr: 1e-5, warmupSteps: 2, weightDecay: 0.01 },
    eval: { ...PAPER_EVAL, lengths: [1, 10, 50], episodes: 20 },
  },
};

/** Throws a "config" error naming the first bad field. */
export function validateExperiment(e: ExperimentConfig): void {
  const bad = (k: string, msg: string): never => {
    throw new BnformerError("config", `${k}: ${msg}`, { path: ["experiment", k] });
  };
  if (e.graphs.length === 0) bad("graphs", "at least one graph is needed");
  for (const g of e.graphs)
    if (!PAPER_GRAPH_NAMES.includes(g))
      bad("graphs", `unknown graph "${g}" (${PAPER_GRAPH_NAMES.join(", ")})`);
  if (
    e.seeds.length === 0 ||
    new Set(e.seeds).size < e.seeds.length ||
    !e.seeds.every((x) => Number.isInteger(x) && x >= 0 && x <= MAX_SEED)
  )
    bad("seeds", `need distinct integers in 0..${MAX_SEED}, got [${e.seeds.join(", ")}]`);
  if (e.targets.length === 0) bad("targets", "at least one training target is needed");
  if (e.steps === null && e.minutes === null) bad("steps", "give steps or minutes");
  if (e.steps !== null && !(Number.isInteger(e.steps) && e.steps >= 1))
    bad("steps", `must be >= 1, got ${e.steps}`);
  if (e.minutes !== null)
    for (const t of e.targets) {
      const m = minutesFor(e, t)!;
      if (!(m > 0)) bad("minutes", `must be > 0, got ${m} for target ${t}`);
    }
}

/** One planned training run. */
export interface PlannedRun {
  readonly graph: PaperGraphName;
  readonly seed: number;
  readonly target: TargetKind;
  readonly dir: string;
  readonly config: RunConfig;
}

/** Directory of one run under the experiment's output directory. */
export function runDir(outDir: string, graph: string, target: TargetKind, seed: number): string {
  return join(outDir, "runs", graph, `${target}-seed${seed}`);
}

/** Every run of the experiment, graphs outer, then seeds, then targets. */
export function planRuns(e: ExperimentConfig, outDir: string): PlannedRun[] {
  validateExperiment(e);
  const out: PlannedRun[] = [];
  for (const graph of e.graphs) {
    for (const seed of e.seeds) {
      for (const target of e.targets) {
        out.push({
          graph,
          seed,
          target,
          dir: runDir(outDir, graph, target, seed),
          config: runConfig(e, graph, target, seed),
        });
      }
    }
  }
  return out;
}

/** The RunConfig of one (graph, target, seed). */
export function runConfig(
  e: ExperimentConfig,
  graph: PaperGraphName,
  target: TargetKind,
  seed: number,
): RunConfig {
  const base: TrainConfig = {
    ...defaultTrainConfig,
    seed,
    loss: defaultLossFor(target),
    logEvery: 10,
    checkpointEvery: 200,
    adamw: { ...defaultTrainConfig.adamw, weightDecay: e.optimiser.weightDecay },
    schedule: {
      peakLr: e.optimiser.peakLr,
      minLr: e.optimiser.minLr,
      warmupSteps: e.optimiser.warmupSteps,
      totalSteps: 1,
    },
  };
  return {
    format: "bnformer-train-run/1",
    task: {
      ...e.task,
      kind: "single",
      structures: [structureToJson(paperGraph(graph))],
      randomDag: null,
      target,
    },
    model: e.model,
    train: e.steps === null ? unsizedSteps(base) : withSteps(base, e.steps),
    minutes: minutesFor(e, target),
    stepsFromMinutes: e.steps === null,
  };
}

/** Options of `trainPlanned`. */
export interface TrainPlannedOptions {
  progress?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onStep?: (run: PlannedRun, m: StepMetrics) => void;
}

/**
 * Trains the planned runs in order (skipping finished ones, resuming an interrupted one);
 * stops early, returning what finished, when `signal` aborts.
 */
export async function trainPlanned(
  runs: readonly PlannedRun[],
  o: TrainPlannedOptions = {},
): Promise<RunOutcome[]> {
  const done: RunOutcome[] = [];
  for (const [i, run] of runs.entries()) {
    if (o.signal?.aborted) break;
    o.log?.(
      `[${i + 1}/${runs.length}] ${run.graph}, target ${run.target}, seed ${run.seed} -> ${run.dir}`,
    );
    const r = await runTraining({
      outDir: run.dir,
      config: run.config,
      resume: true,
      ...(o.progress !== undefined ? { progress: o.progress } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.onStep ? { onStep: (m: StepMetrics) => o.onStep!(run, m) } : {}),
    });
    done.push(r);
    if (r.model === null) break;
  }
  return done;
}
