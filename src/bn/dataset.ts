/**
 * Datasets of discrete rows: `data` is row-major [rows, vars], each cell a state index
 * of the variable in that column, or MISSING. Column v is variable v of the structure the
 * data belongs to (readers map file columns onto a structure's variables).
 */
export const MISSING = 255;

export interface Dataset {
  readonly vars: number;
  readonly rows: number;
  /** [rows, vars] row-major state indices; MISSING marks an empty cell. */
  readonly data: Uint8Array;
}

/** A dataset over `vars` columns with `rows` rows, filled with MISSING. */
export function emptyDataset(vars: number, rows: number): Dataset {
  return { vars, rows, data: new Uint8Array(vars * rows).fill(MISSING) };
}

/** Rows [start, end) as a view. */
export function sliceRows(d: Dataset, start: number, end: number): Dataset {
  return { vars: d.vars, rows: end - start, data: d.data.subarray(start * d.vars, end * d.vars) };
}
