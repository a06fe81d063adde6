/** `bnformer explain`: one query's layer-2 attention over the context rows, as text and SVG. */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import {
  contextInputOptions,
  queryOptions,
  dataOptions,
  loadDataArg,
  loadStructureArg,
  checkedOutput,
} from "../shared.ts";
import { DEFAULT_EPS, parseGiven } from "../engine-args.ts";
import { BnformerError } from "../../errors.ts";
import { variableIndex } from "../../bn/network.ts";
import { MISSING } from "../../bn/dataset.ts";
import { construct } from "../../model/construction.ts";
import { loadConstruction } from "../../model/checkpoint.ts";
import { explainQuery } from "../../model/engine.ts";
import { attentionSvg, attentionTable } from "../../eval/attention-svg.ts";
import { writeFileAtomic } from "../../files.ts";

export const explain: Command = {
  def: {
    name: "explain",
    summary:
      "show the constructed transformer's layer-2 attention for one query (text, and an SVG heatmap)",
    usage:
      'bnformer explain --structure NET --context rows.csv --target VAR --given "A=a,B=b" ' +
      "[--checkpoint DIR | --eps E --max-context N] [--rows K] [--svg out.svg]",
    options: {
      ...contextInputOptions,
      ...queryOptions,
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
      rows: { kind: "int", min: 1, default: 20, help: "heaviest context rows to list" },
      svg: { kind: "string", placeholder: "FILE", help: "also write the heatmap as SVG" },
      ...dataOptions,
    },
    examples: [
      'bnformer explain --structure data/bif/asia.bif --context asia-500.csv --target dysp --given "bronc=yes,either=no" --svg dysp.svg',
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
    const checkpoint = str(args, "checkpoint");
    const c = checkpoint
      ? loadConstruction(checkpoint)
      : construct(structure, {
          eps: num(args, "eps")!,
          maxContext: num(args, "max-context") ?? Math.max(1, context.rows),
        });
    const e = explainQuery(c, context, query, target);
    const view = {
      structure,
      context,
      target,
      query,
      weights: e.weights,
      selfWeight: e.selfWeight,
      distribution: e.distribution,
    };
    const render = { maxRows: num(args, "rows")! };
    io.out(attentionTable(view, render) + "\n");
    if (svgPath !== undefined) {
      writeFileAtomic(svgPath, attentionSvg(view, render));
      io.err(`wrote ${svgPath}\n`);
    }
    return 0;
  },
};
