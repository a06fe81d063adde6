/** `bnformer sample`: seeded ancestral sampling of rows from a network into a CSV/TSV file. */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import {
  renormalizeOption,
  loadNetworkArg,
  checkedOutput,
  csvChunks,
  writeRows,
  seedOption,
} from "../shared.ts";
import { createRng } from "../../bn/rng.ts";
import { sampleRows } from "../../bn/sample.ts";

export const sample: Command = {
  def: {
    name: "sample",
    summary: "draw rows from a network (ancestral sampling) into a CSV or TSV file",
    usage: "bnformer sample --network NET --n N --seed S [--out rows.csv]",
    options: {
      network: {
        kind: "string",
        required: true,
        placeholder: "NET",
        help: "network file (.bif or .json)",
      },
      n: { kind: "int", required: true, min: 1, help: "number of rows" },
      seed: seedOption("random seed", 0),
      out: {
        kind: "string",
        placeholder: "FILE",
        help: "output file (.csv, or .tsv/.txt for tabs); stdout if omitted",
      },
      ...renormalizeOption,
    },
    examples: ["bnformer sample --network data/bif/asia.bif --n 500 --seed 1 --out asia-500.csv"],
  },
  async run(args, io) {
    const netPath = str(args, "network")!;
    const out = str(args, "out");
    if (out !== undefined) checkedOutput(out, [netPath]);
    const net = loadNetworkArg(netPath, args);
    const n = num(args, "n")!;
    const rng = createRng(num(args, "seed")!);
    await writeRows(
      io,
      out,
      csvChunks(net, n, (rows) => sampleRows(rng, net, rows), out),
    );
    if (out !== undefined) io.err(`wrote ${n} rows to ${out}\n`);
    return 0;
  },
};
