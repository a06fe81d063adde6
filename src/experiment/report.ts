/**
 * The paper experiment's report: the issue's acceptance checks and the training-run table
 * rendered from the results, then the per-graph report (src/eval/report.ts) of each
 * graph. run.ts writes it after training and evaluating; results-page.ts rebuilds it
 * from the committed data.
 */
import type { PaperGraphName } from "../bn/families.ts";
import type { TargetKind } from "../train/targets.ts";
import type { RunOutcome } from "../train/run.ts";
import type { TrainedModel } from "../train/trained-model.ts";
import type { EvalResult } from "../eval/protocol.ts";
import { NODE_MEAN } from "../eval/protocol.ts";
import { NAIVE, POSTERIOR_MEAN } from "../eval/baselines.ts";
import type { ReportSection } from "../eval/report.ts";
import { renderReport } from "../eval/report.ts";
import type { ExperimentConfig } from "./config.ts";
import type { PlannedRun } from "./plan.ts";

/** The method name of the model trained with `target`. */
export const modelName = (target: TargetKind): string => `model-${target}`;

/** general5's nodes on which the issue compares the model with the naive estimator. */
export const NAIVE_CHECK = { graph: "general5", nodes: ["B", "D", "E"], length: 200, target: 0.75 };

/**
 * One line about a trained model for the report's method table; with several models (the
 * same recipe, one per training seed) their steps and minutes are listed in seed order.
 */
export function describeModel(...models: readonly TrainedModel[]): string {
  const c = models[0]!.config;
  const s = c.model;
  const list = (f: (m: TrainedModel) => string) => models.map(f).join(", ");
  const seeds = models.length > 1 ? "seeds" : "seed";
  return (
    `transformer trained on ${c.task.structures.map((x) => x.name).join("+") || "random DAGs"}, ` +
    `target ${c.task.target} (${c.train.loss}), ${s.layers} layers, D ${s.dModel}, ${s.heads} head(s), ` +
    `MLP ${s.mlpHidden}; ${seeds} ${list((m) => String(m.config.train.seed))}: ` +
    `${list((m) => String(m.config.step))} steps, ` +
    `${list((m) => (m.config.trainSeconds / 60).toFixed(1))} min`
  );
}

/** The issue's targets, checked on the results: one table per check, "met" or "missed". */
export function acceptanceSection(exp: ExperimentConfig, results: readonly EvalResult[]): string[] {
  const out = [
    "## Acceptance checks",
    "",
    `Node-averaged TV of each model ÷ that of the posterior mean (the Bayes-optimal estimate under the training prior), ` +
      `mean over seeds of the per-seed ratio; target: at most ${exp.eval.ratioTarget.toFixed(2)} at every length.`,
    "",
  ];
  const lengths = exp.eval.targetLengths.filter((n) => exp.eval.lengths.includes(n));
  out.push(`| graph | model | ${lengths.map((n) => `n = ${n}`).join(" | ")} | target |`);
  out.push(`| --- | --- | ${lengths.map(() => "---:").join(" | ")} | --- |`);
  for (const r of results) {
    for (const t of exp.targets) {
      const ratios = lengths.map(
        (n) =>
          r.ratios.find(
            (x) =>
              x.method === modelName(t) &&
              x.reference === POSTERIOR_MEAN &&
              x.length === n &&
              x.node === NODE_MEAN,
          )?.mean ?? null,
      );
      const met = ratios.every((x) => x !== null && x <= exp.eval.ratioTarget);
      out.push(
        `| ${r.config.structure.name} | ${modelName(t)} | ${ratios.map((x) => (x === null ? "—" : x.toFixed(3))).join(" | ")} | ${met ? "met" : "missed"} |`,
      );
    }
  }
  out.push("");
  const g = results.find(
    (r) =>
      r.config.structure.name === NAIVE_CHECK.graph &&
      r.config.lengths.includes(NAIVE_CHECK.length),
  );
  if (g === undefined) return out;
  const avg = (method: string) => {
    const xs = NAIVE_CHECK.nodes.map(
      (node) =>
        g.summary.find(
          (s) => s.method === method && s.length === NAIVE_CHECK.length && s.node === node,
        )!.mean,
    );
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const naive = avg(NAIVE);
  out.push(
    `On ${NAIVE_CHECK.graph}, TV averaged over nodes ${NAIVE_CHECK.nodes.join(", ")} at n = ${NAIVE_CHECK.length} ` +
      `(mean over seeds), ÷ the naive estimator's (${naive.toFixed(4)}); target: at most ${NAIVE_CHECK.target}.`,
    "",
    "| model | TV | ÷ naive | target |",
    "| --- | ---: | ---: | --- |",
    ...exp.targets.map((t) => {
      const tv = avg(modelName(t));
      return `| ${modelName(t)} | ${tv.toFixed(4)} | ${(tv / naive).toFixed(3)} | ${tv / naive <= NAIVE_CHECK.target ? "met" : "missed"} |`;
    }),
    "",
  );
  return out;
}

/**
 * What the report keeps of one training run. The experiment writes them, with its wall
 * time, to experiment-run.json beside the results, so the report can be rebuilt from the
 * output directory alone (results-page.ts) after runs/ is gone.
 */
export interface TrainingRunRecord {
  readonly graph: PaperGraphName;
  readonly target: TargetKind;
  readonly seed: number;
  readonly loss: string;
  readonly warmupSteps: number;
  readonly steps: number;
  readonly plannedSteps: number;
  readonly trainSeconds: number;
}

/** The contents of experiment-run.json. */
export interface ExperimentRunRecord {
  readonly format: "bnformer-experiment-run/1";
  /** Wall time of the command that wrote the report, and the part of it spent training. */
  readonly wallSeconds: number;
  readonly trainSeconds: number;
  readonly runs: readonly TrainingRunRecord[];
}

/** The record of a finished run. */
export function trainingRecord(run: PlannedRun, outcome: RunOutcome): TrainingRunRecord {
  const m = outcome.model!.config;
  return {
    graph: run.graph,
    target: run.target,
    seed: run.seed,
    loss: m.train.loss,
    warmupSteps: m.train.schedule.warmupSteps,
    steps: m.step,
    plannedSteps: m.train.steps,
    trainSeconds: m.trainSeconds,
  };
}

/** One row per training run: steps, time, final loss. */
export function trainingSection(
  exp: ExperimentConfig,
  runs: readonly TrainingRunRecord[],
): string[] {
  const rows = runs.map((r) => {
    const capped = r.steps < r.plannedSteps ? ` (time cap; ${r.plannedSteps} planned)` : "";
    return `| ${r.graph} | ${r.target} | ${r.loss} | ${r.seed} | ${r.warmupSteps} | ${r.steps}${capped} | ${(r.trainSeconds / 60).toFixed(1)} |`;
  });
  const { model: s, task: t } = exp;
  const size = `${s.layers} layers, D ${s.dModel}, ${s.heads} head(s), MLP ${s.mlpHidden}; batch ${t.batchSize} contexts x ${t.queryRows} query rows; contexts ${t.contextMin}..${t.contextMax} rows (${t.lengthSampling}); AdamW peak lr ${exp.optimiser.peakLr}`;
  return [
    "## Training runs",
    "",
    size,
    "",
    "| graph | target | loss | seed | warmup steps | steps | minutes |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
  ];
}

/** "42 s" below two minutes, else "12.7 min". */
export function formatMinutes(sec: number): string {
  return sec < 120 ? `${sec.toFixed(0)} s` : `${(sec / 60).toFixed(1)} min`;
}

/**
 * report.md of `bnformer experiment paper`: the wall time, the acceptance checks, the
 * training runs, then the per-graph report (report.ts) of each section.
 */
export function experimentReport(
  exp: ExperimentConfig,
  record: ExperimentRunRecord,
  sections: readonly ReportSection[],
): string {
  const wall = record.wallSeconds;
  return [
    `# Paper experiment, preset "${exp.preset}"`,
    "",
    `Wall time ${formatMinutes(wall)} on this machine (training ${formatMinutes(record.trainSeconds)}, evaluation ${formatMinutes(wall - record.trainSeconds)}; runs finished earlier count only their loading).`,
    "",
    ...acceptanceSection(
      exp,
      sections.map((s) => s.result),
    ),
    ...trainingSection(exp, record.runs),
    renderReport(sections, { title: "Per-graph results" }).replace(
      /^# .*\n/,
      "## Per-graph results\n",
    ),
  ].join("\n");
}
