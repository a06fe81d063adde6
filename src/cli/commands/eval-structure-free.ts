/**
 * `bnformer eval-structure-free --model DIR --out DIR`: a structure-free model (trained with
 * --task random-dag) against exact BMA, the known-structure posterior mean and MLE, and naive,
 * on held-out random DAGs of its training prior and on chain7, tree7, general5, with edge
 * recovery (src/eval/structure-free.ts). Writes points.csv, edges.csv, results.json,
 * report.md and the TV-against-length figure (tv.svg, tv.png) into --out.
 */
import { join } from "node:path";
import type { Command } from "../command.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import { checkedOutputFolder, seedOption } from "../shared.ts";
import { writeFileAtomic } from "../../files.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import { paperGraph } from "../../bn/families.ts";
import {
  BMA_FACTOR,
  defaultStructureFreeOptions,
  evaluateStructureFree,
  renderStructureFreeReport,
  structureFreeEdgesCsv,
  structureFreePointsCsv,
  structureFreeResultJson,
} from "../../eval/structure-free.ts";
import { structureFreeFigure } from "../../eval/structure-free-figure.ts";
import { DEFAULT_EVAL_SEED } from "../../eval/pretrained.ts";
import { loadStructureFreeModel } from "../../train/pretrained-free.ts";
import { BnformerError } from "../../errors.ts";

export const evalStructureFree: Command = {
  def: {
    name: "eval-structure-free",
    summary:
      "evaluate a structure-free model against exact BMA and the baselines, with edge recovery (CSV, JSON, report, figure)",
    usage:
      "bnformer eval-structure-free --model DIR --out DIR [--episodes N] [--seeds N] [--lengths 1,2,5,10,20,50,100,200]",
    options: {
      model: {
        kind: "string",
        required: true,
        placeholder: "DIR",
        help: "a structure-free model (bnformer train --task random-dag): a run directory (its model/, or its checkpoint/ while training), model/ or checkpoint/",
      },
      out: { kind: "string", required: true, placeholder: "DIR", help: "output directory" },
      episodes: { kind: "int", min: 1, default: 2000, help: "episodes per point" },
      seeds: { kind: "int", min: 1, default: 3, help: "evaluation seeds" },
      "eval-seed": seedOption("seed of every evaluation draw", DEFAULT_EVAL_SEED),
      lengths: {
        kind: "string",
        default: "1,2,5,10,20,50,100,200",
        placeholder: "N,N",
        help: "context lengths",
      },
      graphs: {
        kind: "string",
        default: "chain7,tree7,general5",
        placeholder: "NAME[,NAME]",
        help: "fixed paper graphs besides the held-out random DAGs ('' for none)",
      },
      "edge-queries": {
        kind: "int",
        min: 1,
        default: 1,
        help: "query rows per episode the edge sensitivity score averages over",
      },
      "edge-prob": {
        kind: "number",
        min: 0,
        help: "held-out DAGs' and BMA's edge probability (default: the model's training prior)",
      },
      "max-parents": {
        kind: "int",
        min: 0,
        help: "held-out DAGs' and BMA's most parents (default: the model's training prior)",
      },
      "no-figures": { kind: "boolean", help: "skip tv.svg and tv.png" },
    },
    examples: [
      "bnformer eval-structure-free --model runs/free --out runs/free/eval",
      "bnformer eval-structure-free --model runs/free --out /tmp/quick --episodes 200 --seeds 1 --graphs ''",
    ],
  },
  async run(args, io) {
    const out = checkedOutputFolder(str(args, "out")!);
    const dir = str(args, "model")!;
    const model = loadStructureFreeModel(dir);
    const graphs = str(args, "graphs")!
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map((g) => paperGraph(g as PaperGraphName));
    const base = defaultStructureFreeOptions(model, graphs);
    const edgeProb = num(args, "edge-prob");
    if (edgeProb !== undefined && edgeProb > 1)
      throw new BnformerError("config", `--edge-prob must be in [0, 1], got ${edgeProb}`);
    const options = {
      ...base,
      episodes: num(args, "episodes")!,
      seeds: num(args, "seeds")!,
      evalSeed: num(args, "eval-seed")!,
      lengths: parseLengths(str(args, "lengths")!),
      edgeQueries: num(args, "edge-queries")!,
      heldOut: {
        ...base.heldOut,
        edgeProb: edgeProb ?? base.heldOut.edgeProb,
        maxParents: num(args, "max-parents") ?? base.heldOut.maxParents,
      },
    };
    const result = await evaluateStructureFree(model, options, model.description, (l) =>
      io.err(`${l}\n`),
    );
    writeFileAtomic(join(out, "points.csv"), structureFreePointsCsv(result));
    writeFileAtomic(join(out, "edges.csv"), structureFreeEdgesCsv(result));
    writeFileAtomic(join(out, "results.json"), structureFreeResultJson(result));
    let figure: string | undefined;
    if (!flag(args, "no-figures")) {
      const { svg, png } = await structureFreeFigure(result);
      writeFileAtomic(join(out, "tv.svg"), svg);
      writeFileAtomic(join(out, "tv.png"), png);
      figure = "tv.png";
    }
    const command = ["bnformer", "eval-structure-free", ...process.argv.slice(3)].join(" ");
    writeFileAtomic(
      join(out, "report.md"),
      renderStructureFreeReport(result, figure) +
        `\nFiles: points.csv, edges.csv, results.json; command \`${command}\`.\n`,
    );
    const checks = result.ratios.filter((r) => r.met !== null);
    io.out(
      `evaluated ${model.description}: model TV ≤ ${BMA_FACTOR.toFixed(2)} × BMA's at ${checks.filter((c) => c.met).length} of ${checks.length} held-out lengths, ` +
        `${result.seconds.toFixed(1)} s; wrote ${out}/report.md\n`,
    );
    return 0;
  },
};
