/**
 * The paper experiment's settings (`bnformer experiment paper`): what it trains (graphs,
 * seeds, targets, model and task sizes, optimiser, budget per run) and how it evaluates,
 * with the named presets. plan.ts turns them into runs, run.ts trains and evaluates them,
 * report.ts writes the report.
 */
import { BnformerError } from "../errors.ts";
import type { PaperGraphName } from "../bn/families.ts";
import { PAPER_GRAPH_NAMES } from "../bn/families.ts";
import { MAX_SEED } from "../bn/rng.ts";
import type { TaskConfig } from "../train/tasks.ts";
import { defaultTaskConfig } from "../train/tasks.ts";
import type { TargetKind } from "../train/targets.ts";
import type { ModelSize } from "../train/trained-model.ts";
import { defaultModelSize } from "../train/trained-model.ts";

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

/** Evaluation settings of the experiment (run.ts evaluates with src/eval). */
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
  /**
   * Steps between a run's checkpoints (default `DEFAULT_CHECKPOINT_EVERY`): what a run loses
   * when it is stopped or its worker dies. Checkpoints do not change the trained weights.
   */
  checkpointEvery?: number;
}

/** Steps between checkpoints when the experiment does not say. */
export const DEFAULT_CHECKPOINT_EVERY = 200;

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
  if (
    e.checkpointEvery !== undefined &&
    !(Number.isInteger(e.checkpointEvery) && e.checkpointEvery >= 1)
  )
    bad("checkpointEvery", `must be an integer >= 1, got ${e.checkpointEvery}`);
  if (e.minutes !== null)
    for (const t of e.targets) {
      const m = minutesFor(e, t)!;
      if (!(m > 0)) bad("minutes", `must be > 0, got ${m} for target ${t}`);
    }
}
