/** Flags and loading steps that several commands share: one definition each. */
import type { OptionDef, Parsed } from "./args.ts";
import { flag, num, str } from "./args.ts";
import type { CptPrior, SimplePriorKind } from "../bn/priors.ts";
import type { Network, Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { loadNetwork, loadStructure } from "../bn/network-file.ts";
import { writeCsv } from "../bn/csv.ts";
import { loadCsv } from "../bn/csv-file.ts";
import { assertNotAFolder, assertNotAnInput, writeFileAtomicChunks } from "../files.ts";
import type { CliIo } from "./io.ts";
import { existsSync, statSync } from "node:fs";
import { BnformerError } from "../errors.ts";
import { MAX_SEED } from "../bn/rng.ts";

/** A seed flag: the RNG's whole range, 0..MAX_SEED, and nothing reduced into it. */
export function seedOption(help: string, fallback?: number): OptionDef {
  return {
    kind: "int",
    min: 0,
    max: MAX_SEED,
    ...(fallback !== undefined ? { default: fallback } : {}),
    placeholder: "SEED",
    help: `${help}, 0..${MAX_SEED}`,
  };
}

/** --structure and --context: the inputs of every in-context command (generate, predict, explain). */
export const contextInputOptions: Record<string, OptionDef> = {
  structure: {
    kind: "string",
    required: true,
    placeholder: "NET",
    help: "structure (.bif or .json); CPTs ignored",
  },
  context: { kind: "string", required: true, placeholder: "FILE", help: "context rows (CSV/TSV)" },
};

/** --target and --given: one query (predict, explain). */
export const queryOptions: Record<string, OptionDef> = {
  target: { kind: "string", required: true, placeholder: "VAR", help: "variable to predict" },
  given: {
    kind: "string",
    placeholder: '"A=a,B=b"',
    help: "the query's known values (at least the variables the engine conditions on)",
  },
};

/** The parameters of a CPT prior (--low, --high for uniform; --alpha for beta/dirichlet). */
export const priorParameterOptions: Record<string, OptionDef> = {
  low: { kind: "number", min: 0, default: 0.1, help: "uniform prior: lower end of P(X=1)" },
  high: { kind: "number", min: 0, default: 0.9, help: "uniform prior: upper end of P(X=1)" },
  alpha: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    default: 1,
    help: "beta/dirichlet prior alpha",
  },
};

/** The prior of `kind` with the parameters of `priorParameterOptions`. */
export function priorFromFlags(kind: SimplePriorKind, args: Parsed): CptPrior {
  if (kind === "uniform") return { kind, low: num(args, "low")!, high: num(args, "high")! };
  return { kind, alpha: num(args, "alpha")! };
}

export const renormalizeOption: Record<string, OptionDef> = {
  renormalize: {
    kind: "boolean",
    help: "rescale CPT rows whose sums are off by at most 1e-4 (BIF rounding)",
  },
};

/** Flags for reading a CSV/TSV data file against a structure. */
export const dataOptions: Record<string, OptionDef> = {
  separator: {
    kind: "choice",
    choices: ["auto", ",", "tab", ";", "space"],
    default: "auto",
    help: "cell separator",
  },
  "cell-coding": {
    kind: "choice",
    choices: ["names", "one-based", "zero-based"],
    default: "names",
    help: "cells are state names, or 1-based / 0-based indices into each variable's declared states",
  },
  "ignore-columns": {
    kind: "string",
    placeholder: "A,B",
    help: "comma-separated columns to skip (e.g. INT)",
  },
  "unknown-columns": {
    kind: "choice",
    choices: ["error", "ignore"],
    default: "error",
    help: "what to do with columns that are not variables of the network",
  },
  "undeclared-states": {
    kind: "choice",
    choices: ["error", "missing"],
    default: "error",
    help: "what to do with a cell whose state the network does not declare",
  },
  missing: {
    kind: "string",
    placeholder: "'?,NA'",
    help: "comma-separated cell values that mean missing (an empty cell always does)",
  },
};

const SEPARATORS: Record<string, "auto" | "," | "\t" | ";" | " "> = {
  auto: "auto",
  ",": ",",
  tab: "\t",
  ";": ";",
  space: " ",
};

/** Reads a data file with the flags of `dataOptions`. */
export function loadDataArg(path: string, structure: Structure, args: Parsed): Dataset {
  const ignore = str(args, "ignore-columns");
  const missing = str(args, "missing");
  return loadCsv(path, structure, {
    missing: missing ? commaList(missing) : [],
    separator: SEPARATORS[str(args, "separator") ?? "auto"]!,
    cellCoding: str(args, "cell-coding") as "names" | "one-based" | "zero-based",
    ignoreColumns: ignore ? commaList(ignore) : [],
    unknownColumns: str(args, "unknown-columns") as "error" | "ignore",
    undeclaredStates: str(args, "undeclared-states") as "error" | "missing",
  });
}

/** The non-empty, trimmed items of "a, b,c". */
function commaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Rows drawn and written at a time: memory stays bounded and Ctrl-C is handled in between. */
export const ROW_CHUNK = 1 << 16;

/**
 * The CSV text of `n` rows that `draw` makes, in pieces: the header, then ROW_CHUNK rows at
 * a time (separator by `out`'s extension). A `draw` that continues one random stream gives
 * the rows of a single call for all n.
 */
export function* csvChunks(
  structure: Structure,
  n: number,
  draw: (rows: number) => Dataset,
  out: string | undefined,
): Generator<string> {
  const opts = { separator: out ? separatorForOutput(out) : "," } as const;
  const none = { vars: structure.variables.length, rows: 0, data: new Uint8Array(0) };
  const header = writeCsv(structure, none, opts);
  yield header;
  for (let done = 0; done < n; done += ROW_CHUNK)
    yield writeCsv(structure, draw(Math.min(ROW_CHUNK, n - done)), opts).slice(header.length);
}

/** Writes `chunks` to `out` through a temporary file, or to stdout when `out` is undefined. */
export async function writeRows(
  io: CliIo,
  out: string | undefined,
  chunks: Iterable<string>,
): Promise<void> {
  if (out === undefined) {
    for (const text of chunks) {
      io.out(text);
      // Let a closed pipe (`bnformer sample ... | head`) end the process between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else await writeFileAtomicChunks(out, chunks);
}

/** The separator to write with: tab for .tsv/.txt outputs, comma otherwise. */
export function separatorForOutput(path: string): "," | "\t" {
  return /\.(tsv|txt)$/i.test(path) ? "\t" : ",";
}

export function loadNetworkArg(path: string, args: Parsed): Network {
  return loadNetwork(path, { renormalize: flag(args, "renormalize") });
}

export function loadStructureArg(path: string): Structure {
  return loadStructure(path);
}

/** Refuses an output path that is one of the inputs or a folder; returns the output path. */
export function checkedOutput(out: string, inputs: readonly string[]): string {
  assertNotAnInput(out, inputs);
  assertNotAFolder(out);
  return out;
}

/** Refuses an output folder that is an existing file (or an input); returns the path. */
export function checkedOutputFolder(out: string, inputs: readonly string[] = []): string {
  assertNotAnInput(out, inputs);
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new BnformerError("io", "is a file; --out needs a folder", { file: out });
  return out;
}

/** Left-aligned text table. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
