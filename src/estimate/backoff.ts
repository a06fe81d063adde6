/**
 * The "backoff" in-context estimator: exactly what the constructed transformer's softmax
 * counter computes in the limit of a sharp softmax (docs/construction.md, section "Back-off").
 *
 * For target v with parents P and a query q:
 * - a context row is *usable* when its value of v is observed;
 * - its *match count* is the number of parents p in P with the row's value equal to q_p,
 *   both observed (a MISSING cell, in the row or in the query, matches nothing; so a parent
 *   missing from the query is in effect dropped from the conditioning set);
 * - the estimate is the empirical distribution of v over the usable rows with the LARGEST
 *   match count. When some usable row matches on all of P (with P fully observed in the
 *   query) this is exactly the in-context MLE; otherwise it backs off to the rows that agree
 *   on the most parents;
 * - with no usable row at all it is uniform over v's states.
 */
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import { BnformerError } from "../errors.ts";
import { badCellError, checkDatasetShape } from "./counts.ts";
import { checkTarget } from "./options.ts";

/** The back-off estimate with the rows that support it. */
export interface BackoffSupport {
  /** Distribution over the target's states. */
  distribution: Float64Array;
  /** Parents of the target observed in the query (|P| minus the MISSING ones). */
  observedParents: number;
  /** Largest match count over usable rows; -1 when no row is usable. */
  bestMatch: number;
  /** Indices of the usable context rows with match count `bestMatch`, ascending. */
  rows: Int32Array;
  /** Context rows whose target is observed. */
  usableRows: number;
}

/** Parent values of the query, validated (a value out of range is an error; MISSING is allowed). */
function queryParents(structure: Structure, target: number, query: ArrayLike<number>): number[] {
  return structure.parents[target]!.map((p) => {
    const x = query[p];
    const k = structure.variables[p]!.states.length;
    if (x === undefined || (x !== MISSING && !(Number.isInteger(x) && x >= 0 && x < k))) {
      throw new BnformerError(
        "data",
        `query value ${String(x)} of parent "${structure.variables[p]!.name}" is not a state index (0..${k - 1}) or MISSING`,
        { path: ["query", structure.variables[p]!.name] },
      );
    }
    return x;
  });
}

/** The back-off estimate of `target` at `query`, with the supporting rows (see the module header). */
export function backoffSupport(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
): BackoffSupport {
  checkTarget(structure, target);
  checkDatasetShape(structure, context);
  const parents = structure.parents[target]!;
  const qv = queryParents(structure, target, query);
  const k = structure.variables[target]!.states.length;
  const cards = parents.map((p) => structure.variables[p]!.states.length);
  const M = context.vars;
  const cells = context.data;
  const matches = new Int32Array(context.rows).fill(-1); // -1: not usable
  let best = -1;
  let usable = 0;
  for (let r = 0; r < context.rows; r++) {
    const x = cells[r * M + target]!;
    if (x === MISSING) continue;
    if (x >= k) throw badCellError(structure, r, target, x);
    let c = 0;
    for (let i = 0; i < parents.length; i++) {
      const p = parents[i]!;
      const y = cells[r * M + p]!;
      if (y === MISSING) continue;
      if (y >= cards[i]!) throw badCellError(structure, r, p, y);
      if (y === qv[i]) c++;
    }
    matches[r] = c;
    usable++;
    if (c > best) best = c;
  }
  const distribution = new Float64Array(k);
  const rows: number[] = [];
  for (let r = 0; r < context.rows; r++) {
    if (matches[r] !== best || best < 0) continue;
    rows.push(r);
    distribution[cells[r * M + target]!]!++;
  }
  if (rows.length === 0) distribution.fill(1 / k);
  else for (let j = 0; j < k; j++) distribution[j]! /= rows.length;
  return {
    distribution,
    observedParents: qv.filter((x) => x !== MISSING).length,
    bestMatch: best,
    rows: Int32Array.from(rows),
    usableRows: usable,
  };
}

/** Back-off estimate of P(target | query's parents): the MLE over the best-matching usable rows. */
export function estimateBackoff(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
): Float64Array {
  return backoffSupport(structure, context, target, query).distribution;
}

/** True when the back-off estimate is the plain in-context MLE (some usable row matches every parent). */
export function backoffIsMle(s: BackoffSupport, parentCount: number): boolean {
  return s.bestMatch === parentCount && s.observedParents === parentCount;
}
