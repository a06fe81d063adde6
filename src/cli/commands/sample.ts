/** `bnformer sample`: seeded ancestral sampling of rows from a network into a CSV/TSV file. */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import {
  renormalizeOption,
  loadNetworkArg,
  checkedOutput,
  separatorForOutput,
  seedOption,
} from "../shared.ts";
import type { Rng } from "../../bn/rng.ts";
import { createRng } from "../../bn/rng.ts";
import type { Network } from "../../bn/network.ts";
import { sampleRows } from "../../bn/sample.ts";
import type { WriteCsvOptions } from "../../bn/csv.ts";
import { writeCsv } from "../../bn/csv.ts";
import { writeFileAtomicChunks } from "../../files.ts";

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
    const rows = csvChunks(net, createRng(num(args, "seed")!), n, {
      separator: out ? separatorForOutput(out) : ",",
    });
    if (out === undefined) for (const text of rows) io.out(text);
    else {
      await writeFileAtomicChunks(out, rows);
      io.err(`wrote ${n} rows to ${out}\n`);
    }
    return 0;
  },
};

/** Rows drawn and written at a time: memory stays bounded and Ctrl-C is handled in between. */
export const SAMPLE_CHUNK_ROWS = 1 << 16;

/**
 * The CSV text of `n` rows drawn from `net`, in pieces: the header, then SAMPLE_CHUNK_ROWS
 * rows at a time. One generator drawing chunk after chunk gives the rows of one sampleRows call.
 */
function* csvChunks(net: Network, rng: Rng, n: number, opts: WriteCsvOptions): Generator<string> {
  const header = writeCsv(
    net,
    { vars: net.variables.length, rows: 0, data: new Uint8Array(0) },
    opts,
  );
  yield header;
  for (let done = 0; done < n; done += SAMPLE_CHUNK_ROWS) {
    const rows = sampleRows(rng, net, Math.min(SAMPLE_CHUNK_ROWS, n - done));
    yield writeCsv(net, rows, opts).slice(header.length);
  }
}
