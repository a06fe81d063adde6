/** `bnformer predict`: one conditional distribution at a query, from a context. */
import type { Command } from "../command.ts";
import { str } from "../args.ts";
import {
  contextInputOptions,
  queryOptions,
  dataOptions,
  loadDataArg,
  loadStructureArg,
  formatTable,
} from "../shared.ts";
import { engineOptions, engineFromArgs, parseGiven, requireConditioning } from "../engine-args.ts";
import { variableIndex } from "../../bn/network.ts";

export const predict: Command = {
  def: {
    name: "predict",
    summary: "print the in-context conditional distribution of one variable at a query",
    usage:
      'bnformer predict --structure NET --context rows.csv --target VAR --given "A=a,B=b" ' +
      "[--engine mle|construction|model:DIR|...] [--format text|json]",
    options: {
      ...contextInputOptions,
      ...queryOptions,
      format: { kind: "choice", choices: ["text", "json"], default: "text", help: "output format" },
      ...engineOptions,
      ...dataOptions,
    },
    examples: [
      'bnformer predict --structure data/bif/asia.bif --context asia-500.csv --target either --given "lung=yes,tub=no" --engine construction --format json',
    ],
  },
  run(args, io) {
    const structure = loadStructureArg(str(args, "structure")!);
    const target = variableIndex(structure, str(args, "target")!);
    const row = parseGiven(structure, str(args, "given"));
    requireConditioning(args, structure, target, row);
    const context = loadDataArg(str(args, "context")!, structure, args);
    const engine = engineFromArgs(args, context.rows);
    const p = engine.bind(structure, context)(target, row);
    const v = structure.variables[target]!;
    if (str(args, "format") === "json") {
      const distribution = Object.fromEntries(v.states.map((s, i) => [s, p[i]!]));
      io.out(JSON.stringify({ target: v.name, distribution }) + "\n");
    } else {
      io.out(
        `P(${v.name} | ${str(args, "given") ?? ""}) by ${engine.name} on ${context.rows} rows\n`,
      );
      io.out(
        formatTable(
          ["state", "probability"],
          v.states.map((s, i) => [s, p[i]!.toFixed(6)]),
        ),
      );
    }
    return 0;
  },
};
