/**
 * CSV/TSV data files: the file edge of csv.ts, which parses text only (so it runs without
 * a file system, e.g. in a browser). Reads go through readText: a missing file is an "io"
 * error naming it.
 */
import { readText } from "../files.ts";
import type { Structure } from "./network.ts";
import type { Dataset } from "./dataset.ts";
import type { CsvOptions } from "./csv.ts";
import { parseCsv } from "./csv.ts";

/** `parseCsv` of the file at `path` (errors name the file). */
export function loadCsv(path: string, structure: Structure, opts: CsvOptions = {}): Dataset {
  return parseCsv(readText(path), structure, { ...opts, file: opts.file ?? path });
}
