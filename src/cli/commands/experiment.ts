/**
 * `bnformer experiment paper --preset cpu|smoke`: the paper's suite on this machine. The
 * flags pick a preset and override parts of it; src/experiment runs it: for every graph
 * and seed it trains one model per target (runs under OUT/runs/, finished ones skipped, an
 * interrupted one resumed), then evaluates each seed's models with the baselines on the
 * same episodes and writes the results, figures and report.md into --out.
 */
import type { Command } from "../command.ts";
import type { Parsed } from "../args.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import { onFirstInterrupt } from "../interrupt.ts";
import { BnformerError } from "../../errors.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import type { TargetKind } from "../../train/targets.ts";
import { TARGET_KINDS } from "../../train/targets.ts";
import type { StepMetrics } from "../../train/progress.ts";
import type { ExperimentConfig, PresetName } from "../../experiment/config.ts";
import {
  DEFAULT_CHECKPOINT_EVERY,
  PRESETS,
  PRESET_NAMES,
  validateExperiment,
} from "../../experiment/config.ts";
import type { PlannedRun } from "../../experiment/plan.ts";
import { runExperiment } from "../../experiment/run.ts";
import { DEFAULT_QUEUE_NAME, checkQueueUrl } from "../../experiment/queue.ts";
import { formatMinutes } from "../../experiment/report.ts";
import { statusLine } from "./train.ts";
import { checkedOutputFolder } from "../shared.ts";

export const experiment: Command = {
  def: {
    name: "experiment",
    summary:
      "run the paper's suite: train every graph x seed x target, evaluate with baselines, write report.md",
    usage:
      "bnformer experiment paper [--preset cpu|smoke] --out DIR [--seeds 0,1,2] [--minutes M] [--steps N] [--episodes E] [--parallel K | --queue URL]",
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
      "checkpoint-every": {
        kind: "int",
        min: 1,
        help: `steps between a run's checkpoints (default ${DEFAULT_CHECKPOINT_EVERY}); what a stopped run or a dead worker loses`,
      },
      parallel: {
        kind: "int",
        min: 1,
        default: 1,
        placeholder: "K",
        help: "train K runs at once in child processes on this machine (one per core)",
      },
      queue: {
        kind: "string",
        placeholder: "URL",
        help: "train the runs as jobs on this Redis queue (redis://HOST:PORT) by `bnformer worker`s; --out must be shared with them (docs/queue.md)",
      },
      "queue-name": {
        kind: "string",
        placeholder: "NAME",
        help: `the BullMQ queue with --queue (default ${DEFAULT_QUEUE_NAME})`,
      },
    },
    examples: [
      "bnformer experiment paper --preset cpu --out runs/paper",
      "bnformer experiment paper --preset smoke --out /tmp/paper-smoke",
      "bnformer experiment paper --preset cpu --parallel 2 --out runs/paper",
      "bnformer experiment paper --preset cpu --queue redis://redis:6379 --out /shared/paper",
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
    const queueUrl = str(args, "queue");
    const queueName = str(args, "queue-name");
    if (queueUrl !== undefined) checkQueueUrl(queueUrl);
    if (queueUrl !== undefined && num(args, "parallel")! > 1)
      throw new BnformerError(
        "config",
        "--parallel and --queue exclude each other: with a queue, start more workers",
      );
    const stop = new AbortController();
    const onInt = () => {
      io.err(
        "\nstopping after this step (a checkpoint will be saved; Ctrl-C again quits now) ...\n",
      );
      stop.abort();
    };
    const release = onFirstInterrupt(onInt);
    let done;
    try {
      done = await runExperiment(exp, out, {
        progress: io.interactive,
        signal: stop.signal,
        log: (l) => io.err(`${l}\n`),
        trainOnly: flag(args, "train-only"),
        parallel: num(args, "parallel")!,
        ...(queueUrl !== undefined
          ? { queue: { url: queueUrl, ...(queueName !== undefined ? { name: queueName } : {}) } }
          : {}),
        ...(io.interactive
          ? {}
          : { onStep: (_r: PlannedRun, m: StepMetrics) => statusLine(io, m) }),
      });
    } finally {
      release();
    }
    switch (done.kind) {
      case "interrupted":
        io.err(`interrupted; run the same command again to resume\n`);
        return 130;
      case "trained": {
        const n = done.runs === 1 ? "1 run" : `${done.runs} runs`;
        io.out(`trained ${n} under ${out}/runs (no evaluation: --train-only)\n`);
        return 0;
      }
      case "reported":
        io.out(
          `wrote ${out}/report.md (${done.runs} runs, ${exp.graphs.length} graphs, ${formatMinutes(done.wallSeconds)})\n`,
        );
        return 0;
    }
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
    ...(num(args, "checkpoint-every") !== undefined
      ? { checkpointEvery: num(args, "checkpoint-every")! }
      : {}),
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
