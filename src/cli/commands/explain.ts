/**
 * `bnformer explain`: one query's attention over the context rows, for every layer and head
 * of the constructed transformer or of a saved model, as text and SVG.
 */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import type { Parsed } from "../args.ts";
import {
  contextInputOptions,
  queryOptions,
  dataOptions,
  loadDataArg,
  loadStructureArg,
  checkedOutput,
} from "../shared.ts";
import type { AttentionModel } from "../engine-args.ts";
import { DEFAULT_EPS, attentionModel, parseGiven } from "../engine-args.ts";
import { BnformerError } from "../../errors.ts";
import type { Structure } from "../../bn/network.ts";
import { variableIndex } from "../../bn/network.ts";
import { MISSING } from "../../bn/dataset.ts";
import { explainFamilyModel, explainModel } from "../../model/engine.ts";
import {
  agreementSummaries,
  attentionSvg,
  attentionTable,
  defaultShownHead,
} from "../../eval/attention-svg.ts";
import { writeFileAtomic } from "../../files.ts";

export const explain: Command = {
  def: {
    name: "explain",
    summary:
      "show a transformer's attention for one query, every layer and head (text, and an SVG heatmap)",
    usage:
      'bnformer explain --structure NET --context rows.csv --target VAR --given "A=a,B=b" ' +
      "[--engine construction|pretrained|pretrained-free|model:DIR] [--checkpoint DIR | --eps E --max-context N] " +
      "[--layer L --head H] [--rows K] [--svg out.svg] [--format text|json]",
    options: {
      ...contextInputOptions,
      ...queryOptions,
      engine: {
        kind: "string",
        default: "construction",
        placeholder: "construction|model:DIR",
        help: "the transformer: the construction, or a saved model (bnformer train or construct)",
      },
      checkpoint: {
        kind: "string",
        placeholder: "DIR",
        help: "a saved construction (bnformer construct); built on the fly if omitted",
      },
      eps: {
        kind: "number",
        min: 0,
        exclusiveMin: true,
        default: DEFAULT_EPS,
        help: "construction's total-variation bound",
      },
      "max-context": {
        kind: "int",
        min: 1,
        help: "construction's largest context (default: the context's row count)",
      },
      layer: {
        kind: "int",
        min: 1,
        help: "list the rows of this layer's head (default: the last layer)",
      },
      head: {
        kind: "int",
        min: 1,
        help: "list the rows of this head (default: the one with the most weight on rows agreeing on every parent)",
      },
      rows: { kind: "int", min: 1, default: 20, help: "heaviest context rows to list" },
      format: {
        kind: "choice",
        choices: ["text", "json"],
        default: "text",
        help: "text tables, or JSON (distribution and every head's summary)",
      },
      svg: { kind: "string", placeholder: "FILE", help: "also write the heatmap as SVG" },
      ...dataOptions,
    },
    examples: [
      'bnformer explain --structure data/bif/asia.bif --context asia-500.csv --target dysp --given "bronc=yes,either=no" --svg dysp.svg',
      'bnformer explain --structure data/bif/asia.bif --context asia-500.csv --target dysp --given "bronc=yes,either=no" --engine model:runs/asia --layer 1 --head 2',
    ],
  },
  run(args, io) {
    const structurePath = str(args, "structure")!;
    const contextPath = str(args, "context")!;
    const svgPath = str(args, "svg");
    if (svgPath !== undefined) checkedOutput(svgPath, [structurePath, contextPath]);
    const structure = loadStructureArg(structurePath);
    const target = variableIndex(structure, str(args, "target")!);
    const query = parseGiven(structure, str(args, "given"));
    const missing = structure.parents[target]!.filter((p) => query[p] === MISSING);
    if (missing.length > 0) {
      const names = missing.map((p) => structure.variables[p]!.name).join(", ");
      throw new BnformerError(
        "config",
        `--given must set the parents of "${structure.variables[target]!.name}": ${names}`,
      );
    }
    const context = loadDataArg(contextPath, structure, args);
    const model = modelFromArgs(args, structure, context.rows);
    const e =
      model.kind === "family"
        ? explainFamilyModel(model.model, structure, context, query, target)
        : explainModel(model.model, structure, context, query, target);
    const base = { structure, context, target, query, heads: e.heads };
    const view = { ...base, shown: shownHead(args, base), distribution: e.distribution };
    if (str(args, "format") === "json") {
      const v = structure.variables[target]!;
      const json = {
        target: v.name,
        distribution: Object.fromEntries(v.states.map((s, i) => [s, e.distribution[i]!])),
        parents: structure.parents[target]!.map((p) => structure.variables[p]!.name),
        shown: { layer: e.heads[view.shown]!.layer, head: e.heads[view.shown]!.head },
        heads: agreementSummaries(view).map((x) => ({
          layer: x.layer,
          head: x.head,
          rowsByAgreement: x.rows,
          massByAgreement: x.mass,
          self: x.self,
          fullMatchTv: Number.isNaN(x.fullMatchTv) ? null : x.fullMatchTv,
        })),
      };
      io.out(JSON.stringify(json) + "\n");
    } else io.out(attentionTable(view, { maxRows: num(args, "rows")! }) + "\n");
    if (svgPath !== undefined) {
      writeFileAtomic(svgPath, attentionSvg(view, { maxRows: num(args, "rows")! }));
      io.err(`wrote ${svgPath}\n`);
    }
    return 0;
  },
};

/** The transformer named by --engine (and --checkpoint, --eps, --max-context for the construction). */
function modelFromArgs(args: Parsed, structure: Structure, contextRows: number): AttentionModel {
  const checkpoint = str(args, "checkpoint");
  return attentionModel(str(args, "engine")!, structure, {
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    eps: num(args, "eps")!,
    maxContext: num(args, "max-context") ?? Math.max(1, contextRows),
  });
}

/** The head whose rows are listed: --layer / --head, defaulting as `defaultShownHead`. */
function shownHead(args: Parsed, view: Parameters<typeof defaultShownHead>[0]): number {
  const layer = num(args, "layer");
  const head = num(args, "head");
  if (layer === undefined && head === undefined) return defaultShownHead(view);
  const layers = Math.max(...view.heads.map((h) => h.layer));
  const l = layer ?? layers;
  if (l > layers)
    throw new BnformerError(
      "config",
      `--layer ${l}: the model has ${layers} layers (1..${layers})`,
    );
  const inLayer = view.heads.filter((h) => h.layer === l);
  if (head === undefined)
    return defaultShownHead({ ...view, heads: inLayer }) + view.heads.indexOf(inLayer[0]!);
  if (head > inLayer.length)
    throw new BnformerError(
      "config",
      `--head ${head}: layer ${l} has ${inLayer.length} heads (1..${inLayer.length})`,
    );
  return view.heads.indexOf(inLayer[head - 1]!);
}
