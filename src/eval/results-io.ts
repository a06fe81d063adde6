/**
 * Evaluation outputs on disk, all written atomically (files.ts):
 * - `${prefix}tv.csv`: one row per (method, seed, length, node) in long format, columns
 *   TV_CSV_COLUMNS; node NODE_MEAN is the node average; fallback_fraction is empty for a
 *   method that does not report where it fell back. Numbers are written in full precision.
 * - `${prefix}tv-summary.csv`: one row per (method, length, node) across seeds, columns
 *   SUMMARY_CSV_COLUMNS (sd empty with one seed).
 * - `${prefix}results.json`: the whole EvalResult (config, policy, cells, summaries,
 *   ratios, run info); non-finite numbers become null. `parseEvalResult` reads it back.
 * Fields are quoted (RFC 4180) when they hold a comma, quote or line break.
 */
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import { writeFileAtomic } from "../files.ts";
import type { EvalResult } from "./protocol.ts";

/** Columns of the per-seed CSV, in order. */
export const TV_CSV_COLUMNS = [
  "method",
  "seed",
  "length",
  "node",
  "tv_mean",
  "tv_se",
  "unseen_fraction",
  "episodes",
  "fallback_fraction",
] as const;

/** Columns of the across-seeds CSV, in order. */
export const SUMMARY_CSV_COLUMNS = [
  "method",
  "length",
  "node",
  "tv_mean",
  "tv_sd",
  "tv_se",
  "seeds",
  "unseen_fraction",
  "fallback_fraction",
] as const;

/** A CSV field, quoted when needed; null and non-finite numbers are empty. */
function field(x: string | number | null): string {
  if (x === null || (typeof x === "number" && !Number.isFinite(x))) return "";
  const s = String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text: a header line and one line per row, fields quoted as needed. */
export function csv(header: readonly string[], rows: (string | number | null)[][]): string {
  return [header.join(","), ...rows.map((r) => r.map(field).join(","))].join("\n") + "\n";
}

/** The per-seed long-format CSV. */
export function cellsToCsv(result: EvalResult): string {
  return csv(
    TV_CSV_COLUMNS,
    result.cells.map((c) => [
      c.method,
      c.seed,
      c.length,
      c.node,
      c.tvMean,
      c.tvSe,
      c.unseenFraction,
      c.episodes,
      c.fallbackFraction,
    ]),
  );
}

/** The across-seeds CSV. */
export function summaryToCsv(result: EvalResult): string {
  return csv(
    SUMMARY_CSV_COLUMNS,
    result.summary.map((s) => [
      s.method,
      s.length,
      s.node,
      s.mean,
      s.sd,
      s.se,
      s.seeds,
      s.unseenFraction,
      s.fallbackFraction,
    ]),
  );
}

/** The JSON text of a result (2-space indent). */
export function resultToJson(result: EvalResult): string {
  return JSON.stringify(result, null, 2) + "\n";
}

/** Reads a result written by `resultToJson`; throws "parse" on anything else. */
export function parseEvalResult(text: string, file?: string): EvalResult {
  const where = file === undefined ? {} : { file };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BnformerError("parse", `not JSON: ${(e as Error).message}`, where, { cause: e });
  }
  const v = value as Partial<EvalResult> | null;
  if (v === null || typeof v !== "object" || v.format !== "bnformer-eval/1") {
    throw new BnformerError(
      "parse",
      `expected an evaluation result with format "bnformer-eval/1", found ${v === null || typeof v !== "object" ? typeof v : `format ${JSON.stringify(v.format)}`}`,
      where,
    );
  }
  for (const key of ["config", "nodes", "methods", "cells", "summary", "ratios", "run"] as const) {
    if (v[key] === undefined) {
      throw new BnformerError("parse", `evaluation result lacks "${key}"`, where);
    }
  }
  return v as EvalResult;
}

/** Names of the files `writeResults` wrote, relative to its folder. */
export interface ResultFiles {
  readonly csv: string;
  readonly summaryCsv: string;
  readonly json: string;
}

/** Writes the two CSVs and the JSON into `dir` (see the module header). */
export function writeResults(result: EvalResult, dir: string, prefix = ""): ResultFiles {
  const files = {
    csv: `${prefix}tv.csv`,
    summaryCsv: `${prefix}tv-summary.csv`,
    json: `${prefix}results.json`,
  };
  writeFileAtomic(join(dir, files.csv), cellsToCsv(result));
  writeFileAtomic(join(dir, files.summaryCsv), summaryToCsv(result));
  writeFileAtomic(join(dir, files.json), resultToJson(result));
  return files;
}
