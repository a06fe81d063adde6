/**
 * Counting for the estimators: family counts in the CPT layout of src/bn/cpt.ts
 * ([parentConfig, childState], last conditioning variable fastest), counts at one query
 * configuration, and marginal counts.
 *
 * Missing values (MISSING from src/bn/dataset.ts): a row is left out of a family's counts
 * only when the child or one of the conditioning variables is missing in it; the same row
 * still counts for every other family. A state index outside its variable's range, in a
 * cell that is counted, is a "data" error naming the row and the variable.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";

/** Largest count table (configurations x states) `familyCounts` will allocate. */
export const MAX_COUNT_TABLE_ENTRIES = 1 << 26;

/** Throws unless `data` has one column per variable of `structure` and a consistent size. */
export function checkDatasetShape(structure: Structure, data: Dataset): void {
  const m = structure.variables.length;
  if (data.vars !== m) {
    throw new BnformerError(
      "data",
      `the dataset has ${data.vars} columns; the network "${structure.name}" has ${m} variables`,
      { path: ["data"] },
    );
  }
  if (data.data.length !== data.rows * data.vars) {
    throw new BnformerError(
      "data",
      `the dataset holds ${data.data.length} cells; ${data.rows} rows x ${data.vars} columns need ${data.rows * data.vars}`,
      { path: ["data"] },
    );
  }
}

/** The "data" error for a cell holding a state index its variable does not have. */
export function badCellError(structure: Structure, row: number, v: number, x: number): Error {
  const variable = structure.variables[v]!;
  return new BnformerError(
    "data",
    `cell holds state index ${x}; "${variable.name}" has ${variable.states.length} states (0..${variable.states.length - 1}) or MISSING (${MISSING})`,
    { path: ["data", `row ${row}`, variable.name] },
  );
}

/** Number of configurations of `conditioning` (product of cardinalities; 1 when empty). */
export function configCount(structure: Structure, conditioning: readonly number[]): number {
  let n = 1;
  for (const p of conditioning) n *= structure.variables[p]!.states.length;
  return n;
}

/**
 * Counts [configs, k] of variable v against `conditioning` (default: v's parents), over the
 * rows where v and every conditioning variable are observed.
 */
export function familyCounts(
  structure: Structure,
  data: Dataset,
  v: number,
  conditioning: readonly number[] = structure.parents[v]!,
): Float64Array {
  checkDatasetShape(structure, data);
  const k = structure.variables[v]!.states.length;
  const configs = configCount(structure, conditioning);
  if (configs * k > MAX_COUNT_TABLE_ENTRIES) {
    throw new BnformerError(
      "estimate",
      `a count table for "${structure.variables[v]!.name}" over ${conditioning.length} conditioning variables needs ${configs} configurations x ${k} states, more than ${MAX_COUNT_TABLE_ENTRIES} entries`,
      { path: ["estimate", structure.variables[v]!.name] },
    );
  }
  const cards = conditioning.map((p) => structure.variables[p]!.states.length);
  const counts = new Float64Array(configs * k);
  const m = data.vars;
  const cells = data.data;
  rows: for (let r = 0; r < data.rows; r++) {
    const base = r * m;
    const x = cells[base + v]!;
    if (x === MISSING) continue;
    if (x >= k) throw badCellError(structure, r, v, x);
    let cfg = 0;
    for (let i = 0; i < conditioning.length; i++) {
      const p = conditioning[i]!;
      const y = cells[base + p]!;
      if (y === MISSING) continue rows;
      if (y >= cards[i]!) throw badCellError(structure, r, p, y);
      cfg = cfg * cards[i]! + y;
    }
    counts[cfg * k + x]!++;
  }
  return counts;
}

/**
 * Counts (length k) of v's states over the rows that agree with `query` on every
 * conditioning variable (and observe v). `query` holds state indices per variable.
 */
export function queryCounts(
  structure: Structure,
  data: Dataset,
  v: number,
  conditioning: readonly number[],
  query: ArrayLike<number>,
): Float64Array {
  checkDatasetShape(structure, data);
  const k = structure.variables[v]!.states.length;
  const counts = new Float64Array(k);
  const m = data.vars;
  const cells = data.data;
  const c = conditioning.length;
  rows: for (let r = 0; r < data.rows; r++) {
    const base = r * m;
    for (let i = 0; i < c; i++) {
      const p = conditioning[i]!;
      if (cells[base + p] !== query[p]) continue rows; // MISSING never equals a valid query value
    }
    const x = cells[base + v]!;
    if (x === MISSING) continue;
    if (x >= k) throw badCellError(structure, r, v, x);
    counts[x]!++;
  }
  return counts;
}

/** Counts (length k) of v's states over the rows where v is observed. */
export function marginalCounts(structure: Structure, data: Dataset, v: number): Float64Array {
  return queryCounts(structure, data, v, [], []);
}

/** Sum of a count vector. */
export function total(counts: ArrayLike<number>, offset = 0, k = counts.length - offset): number {
  let s = 0;
  for (let j = 0; j < k; j++) s += counts[offset + j]!;
  return s;
}
