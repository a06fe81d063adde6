/**
 * The plan of the paper experiment: for every graph and seed, one run per training target
 * (default: the posterior-mean target and the paper's prediction target), each in its own
 * directory
 *   OUT/runs/<graph>/<target>-seed<seed>/   (src/train/run.ts layout: run.json, checkpoint/, model/ ...)
 * so an interrupted experiment, started again with the same flags, skips the finished runs
 * and resumes the unfinished one from its checkpoint (run.ts here trains them).
 */
import { join } from "node:path";
import type { PaperGraphName } from "../bn/families.ts";
import { paperGraph } from "../bn/families.ts";
import type { TrainSettings } from "../train/config.ts";
import { defaultTrainSettings } from "../train/config.ts";
import type { RunConfig } from "../train/run.ts";
import { buildRunConfig } from "../train/run.ts";
import { structureToJson } from "../train/tasks.ts";
import type { TargetKind } from "../train/targets.ts";
import { defaultLossFor } from "../train/targets.ts";
import type { ExperimentConfig } from "./config.ts";
import { DEFAULT_CHECKPOINT_EVERY, minutesFor, validateExperiment } from "./config.ts";

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
  const train: TrainSettings = {
    ...defaultTrainSettings,
    seed,
    loss: defaultLossFor(target),
    logEvery: 10,
    checkpointEvery: e.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    adamw: { ...defaultTrainSettings.adamw, weightDecay: e.optimiser.weightDecay },
    schedule: {
      peakLr: e.optimiser.peakLr,
      minLr: e.optimiser.minLr,
      warmupSteps: e.optimiser.warmupSteps,
    },
  };
  return buildRunConfig({
    task: {
      ...e.task,
      kind: "single",
      structures: [structureToJson(paperGraph(graph))],
      randomDag: null,
      target,
    },
    model: e.model,
    train,
    steps: e.steps,
    minutes: minutesFor(e, target),
  });
}
