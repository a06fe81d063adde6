/**
 * Running the paper experiment: training the planned runs one after another (finished
 * ones skipped, an interrupted one resumed from its checkpoint), then evaluating each
 * graph's models with the baselines on the same episodes (src/eval) and writing, into the
 * output directory, <graph>-tv.csv, <graph>-tv-summary.csv, <graph>-results.json,
 * <graph>-*.svg/png, experiment.json (the resolved settings), experiment-run.json (each
 * run's steps and time) and report.md (report.ts).
 */
import { join } from "node:path";
import { writeFileAtomic } from "../files.ts";
import type { PaperGraphName } from "../bn/families.ts";
import { paperGraph } from "../bn/families.ts";
import type { TargetKind } from "../train/targets.ts";
import type { RunOutcome } from "../train/run.ts";
import { runTraining } from "../train/run.ts";
import type { StepMetrics } from "../train/progress.ts";
import { trainedTransformerModel } from "../train/trained-model.ts";
import type { EvalResult } from "../eval/protocol.ts";
import { runProtocol } from "../eval/protocol.ts";
import { modelMethodFactory } from "../eval/model-method.ts";
import { writeResults } from "../eval/results-io.ts";
import { writeFigures } from "../eval/figures.ts";
import type { ReportSection } from "../eval/report.ts";
import type { ExperimentConfig } from "./config.ts";
import type { PlannedRun } from "./plan.ts";
import type { QueueSettings } from "./queue.ts";
import { planRuns } from "./plan.ts";
import type { ExperimentRunRecord } from "./report.ts";
import { describeModel, experimentReport, modelName, trainingRecord } from "./report.ts";

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
    o.log?.(`[${i + 1}/${runs.length}] ${describeRun(run)}`);
    const r = await trainRun(run, o);
    done.push(r);
    if (r.model === null) break;
  }
  return done;
}

/** "chain7, target prediction, seed 0 -> DIR": a run in status lines. */
export function describeRun(run: PlannedRun): string {
  return `${run.graph}, target ${run.target}, seed ${run.seed} -> ${run.dir}`;
}

/**
 * Trains one planned run in its directory: skipped when its model is there, resumed from
 * its checkpoint when one is. Every way of running the experiment (here one after
 * another, a local pool, a queue worker) trains a run through this function.
 */
export async function trainRun(run: PlannedRun, o: TrainPlannedOptions = {}): Promise<RunOutcome> {
  return runTraining({
    outDir: run.dir,
    config: run.config,
    resume: true,
    ...(o.progress !== undefined ? { progress: o.progress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.onStep ? { onStep: (m: StepMetrics) => o.onStep!(run, m) } : {}),
  });
}

/** Runs the protocol on `graph` with every seed's trained models beside the baselines. */
export async function evaluateGraph(
  exp: ExperimentConfig,
  graph: PaperGraphName,
  runs: readonly PlannedRun[],
  outcomes: readonly RunOutcome[],
): Promise<EvalResult> {
  const structure = paperGraph(graph);
  const modelOf = (seed: number, target: TargetKind) => {
    const i = runs.findIndex((r) => r.graph === graph && r.seed === seed && r.target === target);
    return outcomes[i]!.model!;
  };
  const { factory, close } = modelMethodFactory((seed) =>
    exp.targets.map((t) => {
      const m = modelOf(seed, t);
      return {
        model: trainedTransformerModel(m, structure),
        name: modelName(t),
        description: describeModel(...exp.seeds.map((seed) => modelOf(seed, t))),
      };
    }),
  );
  try {
    return await runProtocol(
      {
        structure,
        prior: exp.task.prior,
        lengths: exp.eval.lengths,
        episodes: exp.eval.episodes,
        evalSeed: exp.eval.evalSeed,
        seeds: exp.seeds,
      },
      factory,
      { command: `bnformer experiment paper --preset ${exp.preset}` },
    );
  } finally {
    close();
  }
}

/** Options of `runExperiment`. */
export interface RunExperimentOptions extends Omit<TrainPlannedOptions, "log"> {
  /** Status lines (each run, calibration, evaluation). */
  log?: (line: string) => void;
  /** Train the planned runs, then stop without evaluating. */
  trainOnly?: boolean;
  /** Runs trained at once in child processes on this machine (parallel.ts); default 1, here. */
  parallel?: number;
  /** Train the runs as jobs on this queue (queue.ts), by `bnformer worker`s, instead of here. */
  queue?: QueueSettings;
}

/** What `runExperiment` did. */
export type ExperimentOutcome =
  | { kind: "interrupted"; runs: number }
  | { kind: "trained"; runs: number }
  | { kind: "reported"; runs: number; reportFile: string; wallSeconds: number };

/** Trains, evaluates and reports the experiment `exp` into `outDir`; see the module header. */
export async function runExperiment(
  exp: ExperimentConfig,
  outDir: string,
  o: RunExperimentOptions = {},
): Promise<ExperimentOutcome> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  writeFileAtomic(join(outDir, "experiment.json"), JSON.stringify(exp, null, 2) + "\n");
  const runs = planRuns(exp, outDir);
  // Elsewhere (a queue's workers, a pool of processes) the runs train into their
  // directories; trainPlanned then loads them here as finished runs.
  const local = o.queue === undefined && (o.parallel ?? 1) <= 1;
  if (!local) {
    const finished =
      o.queue !== undefined
        ? await (await import("./queue.ts")).trainOnQueue(runs, outDir, o.queue, { ...o, log })
        : await (await import("./parallel.ts")).trainInParallel(runs, o.parallel!, { ...o, log });
    if (!finished) return { kind: "interrupted", runs: runs.length };
  }
  const outcomes = await trainPlanned(runs, local ? { ...o, log } : {});
  if (outcomes.length < runs.length || outcomes.some((r) => r.model === null))
    return { kind: "interrupted", runs: runs.length };
  if (o.trainOnly) return { kind: "trained", runs: runs.length };
  const trainSeconds = (performance.now() - t0) / 1000;
  const sections: ReportSection[] = [];
  for (const graph of exp.graphs) {
    log(`evaluating ${graph} ...`);
    const r = await evaluateGraph(exp, graph, runs, outcomes);
    const files = writeResults(r, outDir, `${graph}-`);
    const figures = await writeFigures(r, outDir, `${graph}-`);
    sections.push({
      result: r,
      figures,
      files: { "per-seed CSV": files.csv, "summary CSV": files.summaryCsv, JSON: files.json },
    });
  }
  const wall = (performance.now() - t0) / 1000;
  const record: ExperimentRunRecord = {
    format: "bnformer-experiment-run/1",
    wallSeconds: wall,
    trainSeconds,
    runs: runs.map((r, i) => trainingRecord(r, outcomes[i]!)),
  };
  writeFileAtomic(join(outDir, "experiment-run.json"), JSON.stringify(record, null, 2) + "\n");
  const reportFile = join(outDir, "report.md");
  writeFileAtomic(reportFile, experimentReport(exp, record, sections));
  return { kind: "reported", runs: runs.length, reportFile, wallSeconds: wall };
}
