/**
 * `bnformer experiment paper --preset cpu|smoke`: the paper's suite on this machine. For
 * every graph and seed it trains one model per target (src/train/experiment.ts: runs under
 * OUT/runs/, finished ones skipped, an interrupted one resumed), then evaluates each seed's
 * models with the baselines on the same episodes (src/eval) and writes, into --out,
 * <graph>-tv.csv, <graph>-tv-summary.csv, <graph>-results.json, <graph>-*.svg/png,
 * experiment.json (the resolved settings), experiment-run.json (each run's steps and time)
 * and report.md (`experimentReport`): the acceptance checks first, the training runs, then
 * the per-graph tables and figures.
 */
import { join } from "node:path";
import type { Command } from "../command.ts";
import type { Parsed } from "../args.ts";
import { flag, num, str } from "../args.ts";
import { onFirstInterrupt } from "../interrupt.ts";
import { BnformerError } from "../../errors.ts";
import { writeFileAtomic } from "../../files.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import type { ExperimentConfig, PlannedRun, PresetName } from "../../train/experiment.ts";
import {
  PRESETS,
  PRESET_NAMES,
  planRuns,
  trainPlanned,
  validateExperiment,
} from "../../train/experiment.ts";
import type { TargetKind } from "../../train/targets.ts";
import { TARGET_KINDS } from "../../train/targets.ts";
import type { RunOutcome } from "../../train/run.ts";
import type { StepMetrics } from "../../train/progress.ts";
import { writeResults } from "../../eval/results-io.ts";
import { writeFigures } from "../../eval/figures.ts";
import type { ReportSection } from "../../eval/report.ts";
import { parseLengths } from "./eval.ts";
import type { ExperimentRunRecord } from "../../eval/experiment.ts";
import {
  evaluateGraph,
  experimentReport,
  formatMinutes,
  trainingRecord,
} from "../../eval/experiment.ts";
import { statusLine } from "./train.ts";
import { checkedOutputFolder } from "../shared.ts";

export const experiment: Command = {
  def: {
    name: "experiment",
    summary:
      "run the paper's suite: train every graph x seed x target, evaluate with baselines, write report.md",
    usage:
      "bnformer experiment paper [--preset cpu|smoke] --out DIR [--seeds 0,1,2] [--minutes M] [--steps N] [--episodes E]",
    positionals: ["paper"],
    options: {
      preset: {
        kind: "choice",
        choices: PRESET_NAMES,
        default: "cpu",
        help: "settings: cpu (the acceptance run) or smoke (a one-minute check)",
      },
      out: {
        kind: "string",
        required: true,
        placeholder: "DIR",
        help: "output directory (runs/, CSV, JSON, figures, report.md)",
      },
      graphs: {
        kind: "string",
        placeholder: "A,B",
        help: "paper graphs (preset: chain7,tree7,general5)",
      },
      seeds: { kind: "string", placeholder: "0,1,2", help: "training seeds (preset: 0,1,2)" },
      targets: {
        kind: "string",
        placeholder: "T,T",
        help: `training targets among ${TARGET_KINDS.join(", ")} (preset: posterior-mean,prediction)`,
      },
      minutes: {
        kind: "number",
        min: 0,
        exclusiveMin: true,
        help: "training budget of every run (preset cpu: 30 for posterior-mean runs, 10 for prediction runs; steps calibrated, then fitted to the run's pace)",
      },
      steps: {
        kind: "int",
        min: 1,
        help: "fixed steps per run instead of calibrated ones (with --minutes: that is the hard cap)",
      },
      episodes: { kind: "int", min: 1, help: "evaluation episodes per seed (preset: 2000)" },
      lengths: {
        kind: "string",
        placeholder: "N,N",
        help: "evaluation context lengths (preset: 1,2,5,10,20,50,100,200)",
      },
      "train-only": {
        kind: "boolean",
        help: "train the planned runs, then stop without evaluating (for two processes at once)",
      },
    },
    examples: [
      "bnformer experiment paper --preset cpu --out runs/paper",
      "bnformer experiment paper --preset smoke --out /tmp/paper-smoke",
    ],
  },
  async run(args, io) {
    if (args.positionals[0] !== "paper")
      throw new BnformerError(
        "config",
        `unknown experiment "${args.positionals[0]}"; the only one is "paper"`,
      );
    const exp = experimentFromArgs(args);
    const out = checkedOutputFolder(str(args, "out")!);
    const t0 = performance.now();
    writeFileAtomic(join(out, "experiment.json"), JSON.stringify(exp, null, 2) + "\n");
    const runs = planRuns(exp, out);
    const stop = new AbortController();
    const onInt = () => {
      io.err(
        "\nstopping after this step (a checkpoint will be saved; Ctrl-C again quits now) ...\n",
      );
      stop.abort();
    };
    const release = onFirstInterrupt(onInt);
    let outcomes: RunOutcome[];
    try {
      outcomes = await trainPlanned(runs, {
        progress: io.interactive,
        signal: stop.signal,
        log: (l) => io.err(`${l}\n`),
        ...(io.interactive
          ? {}
          : { onStep: (_r: PlannedRun, m: StepMetrics) => statusLine(io, m) }),
      });
    } finally {
      release();
    }
    if (outcomes.length < runs.length || outcomes.some((o) => o.model === null)) {
      io.err(`interrupted; run the same command again to resume\n`);
      return 130;
    }
    if (flag(args, "train-only")) {
      const n = runs.length === 1 ? "1 run" : `${runs.length} runs`;
      io.out(`trained ${n} under ${out}/runs (no evaluation: --train-only)\n`);
      return 0;
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const sections: ReportSection[] = [];
    for (const graph of exp.graphs) {
      io.err(`evaluating ${graph} ...\n`);
      const r = await evaluateGraph(exp, graph, runs, outcomes);
      const files = writeResults(r, out, `${graph}-`);
      const figures = await writeFigures(r, out, `${graph}-`);
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
    writeFileAtomic(join(out, "experiment-run.json"), JSON.stringify(record, null, 2) + "\n");
    const report = experimentReport(exp, record, sections);
    writeFileAtomic(join(out, "report.md"), report);
    io.out(
      `wrote ${out}/report.md (${runs.length} runs, ${exp.graphs.length} graphs, ${formatMinutes(wall)})\n`,
    );
    return 0;
  },
};

/** The experiment the flags describe: the preset with the given overrides. */
export function experimentFromArgs(args: Parsed): ExperimentConfig {
  const p = PRESETS[str(args, "preset") as PresetName];
  const list = (k: string) =>
    str(args, k)
      ?.split(",")
      .map((s) => s.trim());
  const steps = num(args, "steps");
  const mins = num(args, "minutes");
  const exp: ExperimentConfig = {
    ...p,
    graphs: (list("graphs") as PaperGraphName[] | undefined) ?? p.graphs,
    seeds: list("seeds")?.map(Number) ?? p.seeds,
    targets: (list("targets") as TargetKind[] | undefined) ?? p.targets,
    // --steps alone: fixed steps, no cap; with --minutes: fixed steps, minutes as a hard cap.
    minutes: mins !== undefined ? { default: mins } : steps !== undefined ? null : p.minutes,
    steps: steps ?? (mins !== undefined ? null : p.steps),
    eval: {
      ...p.eval,
      episodes: num(args, "episodes") ?? p.eval.episodes,
      lengths:
        str(args, "lengths") !== undefined ? parseLengths(str(args, "lengths")!) : p.eval.lengths,
    },
  };
  exp.targets.forEach((t) => {
    if (!TARGET_KINDS.includes(t))
      throw new BnformerError("config", `--targets: unknown target "${t}"`);
  });
  validateExperiment(exp);
  return exp;
}
