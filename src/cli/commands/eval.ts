/**
 * `bnformer eval --checkpoint DIR`: score trained models (bnformer train) against the
 * baselines with the evaluation protocol (docs/evaluation.md) on one structure, and write
 * tv.csv, tv-summary.csv, results.json, figures (SVG + PNG) and report.md into --out.
 */
import { basename } from "node:path";
import { join } from "node:path";
import type { Command } from "../command.ts";
import { describeModel } from "../../experiment/report.ts";
import type { Parsed } from "../args.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import {
  loadStructureArg,
  priorFromFlags,
  priorParameterOptions,
  seedOption,
  checkedOutputFolder,
} from "../shared.ts";
import { BnformerError } from "../../errors.ts";
import { writeFileAtomic } from "../../files.ts";
import type { Structure } from "../../bn/network.ts";
import type { CptPrior, SimplePriorKind } from "../../bn/priors.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import { paperGraph } from "../../bn/families.ts";
import type { UnseenPolicy } from "../../estimate/policy.ts";
import type { TrainedModel } from "../../train/trained-model.ts";
import { rejectFamilyModel, trainedTransformerModel } from "../../train/trained-model.ts";
import { loadTrained } from "../../train/saved-model.ts";
import { runProtocol } from "../../eval/protocol.ts";
import type { EvalResult } from "../../eval/protocol.ts";
import { writeResults } from "../../eval/results-io.ts";
import { writeFigures } from "../../eval/figures.ts";
import { renderReport } from "../../eval/report.ts";
import { modelMethodFactory } from "../../eval/model-method.ts";

/** Default evaluation lengths: the paper's, up to 200 rows. */
export const DEFAULT_EVAL_LENGTHS = "1,2,5,10,20,50,100,200";

export const evaluate: Command = {
  def: {
    name: "eval",
    summary:
      "evaluate trained models against the baselines (TV to the true CPTs; CSV, JSON, figures, report)",
    usage:
      "bnformer eval --checkpoint DIR[,DIR...] --out DIR [--graph NAME | --structure NET] [--episodes N] [--lengths 1,10,100]",
    options: {
      checkpoint: {
        kind: "string",
        required: true,
        placeholder: "DIR[,DIR]",
        help: "trained model(s): run directories of bnformer train, or their model/ folders",
      },
      names: {
        kind: "string",
        placeholder: "A[,B]",
        help: "method names of the models (default: model, or each directory's name)",
      },
      graph: {
        kind: "string",
        placeholder: "NAME",
        help: "paper graph to evaluate on (default: the first model's training structure)",
      },
      structure: {
        kind: "string",
        placeholder: "NET",
        help: "structure file (.bif/.json) to evaluate on",
      },
      prior: {
        kind: "choice",
        choices: ["train", "uniform", "beta", "dirichlet"],
        default: "train",
        help: "prior of the evaluation CPTs (train: the first model's training prior)",
      },
      ...priorParameterOptions,
      lengths: {
        kind: "string",
        default: DEFAULT_EVAL_LENGTHS,
        placeholder: "N,N",
        help: "context lengths",
      },
      episodes: { kind: "int", min: 1, default: 2000, help: "episodes per length" },
      "eval-seed": seedOption("seed of the evaluation episodes", 20250105),
      seed: seedOption("replicate seed of the episodes (default: the first model's training seed)"),
      unseen: {
        kind: "choice",
        choices: ["marginal", "uniform"],
        default: "marginal",
        help: "what the MLE baselines answer for an unseen parent configuration",
      },
      out: { kind: "string", required: true, placeholder: "DIR", help: "output directory" },
      "no-figures": { kind: "boolean", help: "skip the SVG/PNG figures" },
    },
    examples: [
      "bnformer eval --checkpoint runs/chain7-pm --out runs/chain7-pm/eval --episodes 2000",
    ],
  },
  async run(args, io) {
    const out = checkedOutputFolder(str(args, "out")!);
    const dirs = str(args, "checkpoint")!
      .split(",")
      .map((d) => d.trim());
    const models = dirs.map((d) => loadTrained(d));
    const names = methodNames(args, dirs);
    const structure = evalStructure(args, models[0]!);
    const prior = evalPrior(args, models[0]!);
    const seed = num(args, "seed") ?? models[0]!.config.train.seed;
    const { factory, close } = modelMethodFactory(() =>
      models.map((m, i) => ({
        model: trainedTransformerModel(m, structure),
        name: names[i]!,
        description: describeModel(m),
      })),
    );
    let result: EvalResult;
    try {
      result = await runProtocol(
        {
          structure,
          prior,
          lengths: parseLengths(str(args, "lengths")!),
          episodes: num(args, "episodes")!,
          evalSeed: num(args, "eval-seed")!,
          seeds: [seed],
          unseen: str(args, "unseen") as UnseenPolicy,
        },
        factory,
        {
          command: ["bnformer", "eval", ...process.argv.slice(3)].join(" "),
          ...(io.interactive
            ? { onProgress: (p) => io.err(`\r${p.done}/${p.total} episodes`) }
            : {}),
        },
      );
    } finally {
      close();
    }
    const files = writeResults(result, out);
    const figures = flag(args, "no-figures") ? [] : await writeFigures(result, out);
    const report = renderReport(
      [
        {
          result,
          figures,
          files: { "per-seed CSV": files.csv, "summary CSV": files.summaryCsv, JSON: files.json },
        },
      ],
      {
        title: `Evaluation of ${names.join(", ")} on ${structure.name}`,
      },
    );
    writeFileAtomic(join(out, "report.md"), report);
    io.out(
      `evaluated ${names.join(", ")} on ${structure.name}: ${result.config.episodes} episodes in ${result.run.wallSeconds.toFixed(1)} s; wrote ${out}/report.md\n`,
    );
    return 0;
  },
};

function methodNames(args: Parsed, dirs: readonly string[]): string[] {
  const given = str(args, "names");
  const names =
    given !== undefined
      ? given.split(",").map((s) => s.trim())
      : dirs.length === 1
        ? ["model"]
        : dirs.map((d) => basename(d.replace(/\/(model)?\/?$/, "")));
  if (names.length !== dirs.length || new Set(names).size !== names.length)
    throw new BnformerError(
      "config",
      `--names must give ${dirs.length} distinct names; got [${names.join(", ")}]`,
    );
  return names;
}

function evalStructure(args: Parsed, first: TrainedModel): Structure {
  rejectFamilyModel(first);
  const file = str(args, "structure");
  const graph = str(args, "graph");
  if (file !== undefined && graph !== undefined)
    throw new BnformerError("config", "give --graph or --structure, not both");
  if (file !== undefined) return loadStructureArg(file);
  if (graph !== undefined) return paperGraph(graph as PaperGraphName);
  if (first.config.task.randomDag !== null)
    throw new BnformerError(
      "config",
      "this model was trained on random DAGs: give --graph or --structure to evaluate on",
    );
  return first.task.structures[0]!;
}

function evalPrior(args: Parsed, first: TrainedModel): CptPrior {
  const kind = str(args, "prior")!;
  if (kind === "train") return first.config.task.prior;
  return priorFromFlags(kind as SimplePriorKind, args);
}
