/** `bnformer generate`: new rows by Algorithm 1 from conditionals computed on a context. */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import {
  contextInputOptions,
  dataOptions,
  loadDataArg,
  loadStructureArg,
  checkedOutput,
  csvChunks,
  writeRows,
  seedOption,
} from "../shared.ts";
import { engineOptions, engineFromArgs } from "../engine-args.ts";
import { createRng } from "../../bn/rng.ts";
import { generateRows } from "../../estimate/index.ts";

export const generate: Command = {
  def: {
    name: "generate",
    summary: "generate new rows from conditionals estimated in context (the paper's Algorithm 1)",
    usage:
      "bnformer generate --structure NET --context rows.csv --n N --seed S " +
      "[--engine mle|construction|model:DIR|...] [--out new.csv]",
    options: {
      ...contextInputOptions,
      n: { kind: "int", required: true, min: 1, help: "number of rows to generate" },
      seed: seedOption("random seed", 0),
      out: { kind: "string", placeholder: "FILE", help: "output file; stdout if omitted" },
      ...engineOptions,
      ...dataOptions,
    },
    examples: [
      "bnformer generate --structure data/bif/asia.bif --context asia-500.csv --n 10 --seed 3 --engine construction",
    ],
  },
  async run(args, io) {
    const structurePath = str(args, "structure")!;
    const contextPath = str(args, "context")!;
    const out = str(args, "out");
    if (out !== undefined) checkedOutput(out, [structurePath, contextPath]);
    const structure = loadStructureArg(structurePath);
    const context = loadDataArg(contextPath, structure, args);
    const engine = engineFromArgs(args, context.rows);
    const rng = createRng(num(args, "seed")!);
    const conditional = engine.bind(structure, context);
    const n = num(args, "n")!;
    const draw = (rows: number) => generateRows(rng, structure, rows, conditional);
    await writeRows(io, out, csvChunks(structure, n, draw, out));
    if (out !== undefined)
      io.err(
        `generated ${n} rows with ${engine.name} from a ${context.rows}-row context; wrote ${out}\n`,
      );
    return 0;
  },
};
