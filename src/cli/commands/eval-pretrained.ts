/**
 * `bnformer eval-pretrained --model DIR --out DIR`: a family (network-agnostic) model against
 * issue 9's targets 1-4 (src/eval/pretrained.ts): held-out random networks, length
 * generalisation, real networks with their own CPTs, generation on asia. Writes points.csv
 * (every point), checks.csv, results.json, the figures (src/eval/pretrained-figures.ts, SVG
 * and PNG) and report.md (the section with the verdicts, then the figures) into --out. A
 * separate command from `eval`, whose flags (--graph, --structure, --prior, several
 * checkpoints) describe the per-structure protocol; this one has fixed targets and also
 * takes a run's training checkpoint, to measure a run before it finishes.
 */
import { basename, join } from "node:path";
import type { Command } from "../command.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import { checkedOutputFolder, seedOption } from "../shared.ts";
import { BnformerError } from "../../errors.ts";
import { writeFileAtomic } from "../../files.ts";
import type { Network, Structure } from "../../bn/network.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import { PAPER_GRAPH_NAMES, paperGraph } from "../../bn/families.ts";
import { loadNetwork } from "../../bn/network-file.ts";
import {
  DEFAULT_EVAL_SEED,
  defaultPretrainedOptions,
  evaluatePretrained,
  familyModelEngine,
  pretrainedChecksCsv,
  pretrainedPointsCsv,
  pretrainedResultJson,
  renderPretrainedSection,
} from "../../eval/pretrained.ts";
import { writePretrainedFigures } from "../../eval/pretrained-figures.ts";
import { figureSection } from "../../eval/report.ts";
import { loadFamilyModel } from "../../train/pretrained.ts";

const REAL_NETWORKS = ["asia", "cancer", "earthquake", "survey", "sachs"]
  .map((n) => `data/bif/${n}.bif`)
  .join(",");

export const evalPretrained: Command = {
  def: {
    name: "eval-pretrained",
    summary:
      "evaluate a family (network-agnostic) model against the pretrained targets (CSV, JSON, figures, report)",
    usage:
      "bnformer eval-pretrained --model DIR --out DIR [--episodes N] [--seeds N] [--targets 1,2,3,4]",
    options: {
      model: {
        kind: "string",
        required: true,
        placeholder: "DIR",
        help: "a family model: a run directory (its model/, or its checkpoint/ while training), model/ or checkpoint/",
      },
      out: { kind: "string", required: true, placeholder: "DIR", help: "output directory" },
      episodes: { kind: "int", min: 1, default: 2000, help: "episodes per point" },
      seeds: { kind: "int", min: 1, default: 3, help: "evaluation seeds" },
      "eval-seed": seedOption("seed of every evaluation draw", DEFAULT_EVAL_SEED),
      targets: {
        kind: "string",
        default: "1,2,3,4",
        placeholder: "1,2,3,4",
        help: "which targets to run",
      },
      lengths: {
        kind: "string",
        default: "1,10,50,100,200,500",
        placeholder: "N,N",
        help: "target 1's context lengths",
      },
      "long-lengths": {
        kind: "string",
        default: "1000,2000",
        placeholder: "N,N",
        help: "target 2's context lengths",
      },
      networks: {
        kind: "string",
        default: REAL_NETWORKS,
        placeholder: "NET[,NET]",
        help: "target 3's networks (.bif/.json; their CPTs are the truth)",
      },
      "real-lengths": {
        kind: "string",
        default: "50,500",
        placeholder: "SMALL,LARGE",
        help: "target 3's lengths: at most the MLE's TV at SMALL, 1.15x at LARGE",
      },
      "paper-graphs": {
        kind: "string",
        default: "chain7,tree7,general5",
        placeholder: "G[,G]",
        help: "target 3's paper graphs (CPTs from U(0.1, 0.9), against the exact posterior mean)",
      },
      "paper-lengths": {
        kind: "string",
        default: "1,10,50,100,200",
        placeholder: "N,N",
        help: "target 3's lengths on the paper graphs",
      },
      "generation-network": {
        kind: "string",
        default: "data/bif/asia.bif",
        placeholder: "NET",
        help: "target 4's network (exact joint)",
      },
      "generation-context": { kind: "int", min: 1, default: 500, help: "target 4's context rows" },
      "generation-rows": { kind: "int", min: 1, default: 10000, help: "target 4's generated rows" },
      "no-figures": { kind: "boolean", help: "skip the SVG/PNG figures" },
    },
    examples: [
      "bnformer eval-pretrained --model runs/family --out runs/family/eval",
      "bnformer eval-pretrained --model runs/family/checkpoint --out /tmp/progress --episodes 200 --seeds 1 --targets 1",
    ],
  },
  async run(args, io) {
    const out = checkedOutputFolder(str(args, "out")!);
    const targets = parseTargets(str(args, "targets")!);
    const loaded = loadFamilyModel(str(args, "model")!);
    const has = (t: number) => targets.includes(t);
    const base = defaultPretrainedOptions(
      has(3) ? splitList(str(args, "networks")!).map(namedNetwork) : [],
      has(4) ? namedNetwork(str(args, "generation-network")!) : null,
      has(3) ? splitList(str(args, "paper-graphs")!).map(paperGraphArg) : [],
    );
    const options = {
      ...base,
      episodes: num(args, "episodes")!,
      seeds: num(args, "seeds")!,
      evalSeed: num(args, "eval-seed")!,
      heldOutLengths: has(1) ? parseLengths(str(args, "lengths")!) : [],
      longLengths: has(2) ? parseLengths(str(args, "long-lengths")!) : [],
      realLengths: parseLengths(str(args, "real-lengths")!),
      paperLengths: parseLengths(str(args, "paper-lengths")!),
      generationContext: num(args, "generation-context")!,
      generationRows: num(args, "generation-rows")!,
    };
    const started = Date.now();
    const result = evaluatePretrained(familyModelEngine(loaded), options, loaded.description);
    const seconds = (Date.now() - started) / 1000;
    writeFileAtomic(join(out, "points.csv"), pretrainedPointsCsv(result));
    writeFileAtomic(join(out, "checks.csv"), pretrainedChecksCsv(result));
    writeFileAtomic(join(out, "results.json"), pretrainedResultJson(result));
    const figures = flag(args, "no-figures") ? [] : await writePretrainedFigures(result, out);
    const command = ["bnformer", "eval-pretrained", ...process.argv.slice(3)].join(" ");
    writeFileAtomic(
      join(out, "report.md"),
      [
        renderPretrainedSection(result),
        ...figureSection(figures),
        `Run: ${seconds.toFixed(1)} s; files points.csv, checks.csv, results.json; command \`${command}\`.\n`,
      ].join("\n"),
    );
    const met = result.checks.filter((c) => c.met).length;
    io.out(
      `evaluated ${loaded.description}: ${met} of ${result.checks.length} checks met in ${seconds.toFixed(1)} s; wrote ${out}/report.md\n`,
    );
    return 0;
  },
};

/** The network in `path`, named by its file (BIF files often say "network unknown"). */
function namedNetwork(path: string): Network {
  return { ...loadNetwork(path), name: basename(path).replace(/\.[^.]*$/, "") };
}

/** A paper graph by name (chain7, tree7, general5, ...), or a usage error listing them. */
function paperGraphArg(name: string): Structure {
  if (!(PAPER_GRAPH_NAMES as readonly string[]).includes(name))
    throw new BnformerError(
      "config",
      `--paper-graphs: unknown graph "${name}"; one of ${PAPER_GRAPH_NAMES.join(", ")}`,
    );
  return paperGraph(name as PaperGraphName);
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** "1,3" as target numbers in 1..4. */
function parseTargets(text: string): number[] {
  const ts = splitList(text).map(Number);
  const bad = ts.find((t) => ![1, 2, 3, 4].includes(t));
  if (ts.length === 0 || bad !== undefined)
    throw new BnformerError(
      "config",
      `--targets must list some of 1, 2, 3, 4 (comma-separated), got "${text}"`,
    );
  return ts;
}
