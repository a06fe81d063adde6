/**
 * Family encoding: the token layout of the network-agnostic ("pretrained") models.
 *
 * To estimate target v of any network the model sees only v's family: one token per
 * context row holding v's value and its parents' values, and one query token per parent
 * configuration asked about. Nothing says which network, which variable or how many
 * variables there are, so one model serves every network within its limits: in-degree
 * <= kMax and every family member's cardinality <= dMax (`checkFamilyFits`).
 *
 * Slots: slot 0 is the target, slots 1..kMax the parents in the structure's parent-list
 * order (slot 1 + j is parent j; slots past the in-degree are absent). Token layout,
 * blocks in this order (S = 1 + kMax slots):
 *   [s dMax, (s + 1) dMax)   one-hot value of slot s (all zero when hidden or absent;
 *                            states past the variable's cardinality never set)
 *   hiddenOffset + s         1 when slot s is hidden: absent parent, MISSING cell, or the
 *                            target of a query token
 *   cardOffset + K - 1       one-hot of the target's cardinality K (1..dMax), so the model
 *                            knows how many states to spread its estimate over
 *   queryFlag                1 on a query token
 * A query token shows the parents and hides the target. See docs/encoding.md.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";

/** Offsets of every block of a family token; see the module header. */
export interface FamilyLayout {
  readonly kind: "family";
  /** Most parents a family may have. */
  readonly kMax: number;
  /** Most states any family member may have (also the model's output width). */
  readonly dMax: number;
  /** Same as dMax: the output width, named as in TokenLayout. */
  readonly maxCard: number;
  /** Hidden flag of slot s: hiddenOffset + s. */
  readonly hiddenOffset: number;
  /** Target cardinality K: cardOffset + K - 1. */
  readonly cardOffset: number;
  readonly queryFlag: number;
  /** I: token width, (1 + kMax)(dMax + 1) + dMax + 1. */
  readonly width: number;
}

/** Cardinalities of one family: the target's, then its parents' in slot order. */
export interface FamilyShape {
  readonly targetCard: number;
  readonly parentCards: readonly number[];
}

/** The family token layout for families of up to kMax parents and dMax states. */
export function familyLayout(kMax: number, dMax: number): FamilyLayout {
  if (!Number.isInteger(kMax) || kMax < 0)
    throw new BnformerError("config", `kMax must be an integer >= 0, got ${kMax}`, {
      path: ["kMax"],
    });
  if (!Number.isInteger(dMax) || dMax < 2 || dMax > 255)
    throw new BnformerError("config", `dMax must be an integer in 2..255, got ${dMax}`, {
      path: ["dMax"],
    });
  const slots = 1 + kMax;
  const hiddenOffset = slots * dMax;
  const cardOffset = hiddenOffset + slots;
  const queryFlag = cardOffset + dMax;
  return {
    kind: "family",
    kMax,
    dMax,
    maxCard: dMax,
    hiddenOffset,
    cardOffset,
    queryFlag,
    width: queryFlag + 1,
  };
}

/** The family of `target` in `structure`, checked against the layout's limits. */
export function checkFamilyFits(
  layout: FamilyLayout,
  structure: Structure,
  target: number,
): FamilyShape {
  const v = structure.variables[target]!;
  const parents = structure.parents[target]!;
  if (parents.length > layout.kMax)
    throw new BnformerError(
      "config",
      `variable "${v.name}" has ${parents.length} parents; this model takes at most kMax = ${layout.kMax}`,
      { path: ["structure", v.name] },
    );
  for (const m of [target, ...parents]) {
    const w = structure.variables[m]!;
    if (w.states.length > layout.dMax)
      throw new BnformerError(
        "config",
        `variable "${w.name}"${m === target ? "" : ` (a parent of "${v.name}")`} has ${w.states.length} states; ` +
          `this model takes at most dMax = ${layout.dMax}`,
        { path: ["structure", w.name] },
      );
  }
  return {
    targetCard: v.states.length,
    parentCards: parents.map((p) => structure.variables[p]!.states.length),
  };
}

/**
 * Writes one family token at out[offset .. offset + I) (the range must be zero). `target`:
 * the target's state, or MISSING (always hidden on a query token); `parents[j]`: parent j's
 * state or MISSING. States are assumed in range (`checkFamilyValue`).
 */
export function writeFamilyToken(
  layout: FamilyLayout,
  shape: FamilyShape,
  out: Float64Array | Float32Array,
  offset: number,
  target: number,
  parents: ArrayLike<number>,
  isQuery: boolean,
): void {
  const { dMax, hiddenOffset: h } = layout;
  if (isQuery || target === MISSING) out[offset + h] = 1;
  else out[offset + target] = 1;
  const k = shape.parentCards.length;
  for (let j = 0; j < layout.kMax; j++) {
    const x = j < k ? parents[j]! : MISSING;
    if (x === MISSING) out[offset + h + 1 + j] = 1;
    else out[offset + (1 + j) * dMax + x] = 1;
  }
  out[offset + layout.cardOffset + shape.targetCard - 1] = 1;
  if (isQuery) out[offset + layout.queryFlag] = 1;
}

/** Throws unless x is a state of variable m or MISSING; `path` locates the cell. */
export function checkFamilyValue(structure: Structure, m: number, x: number, path: string[]): void {
  const d = structure.variables[m]!.states.length;
  if (x !== MISSING && !(Number.isInteger(x) && x >= 0 && x < d))
    throw new BnformerError(
      "data",
      `state ${x} of "${structure.variables[m]!.name}" is out of range (expected 0..${d - 1} or MISSING)`,
      { path },
    );
}

function checkContextColumns(structure: Structure, context: Dataset): void {
  if (context.vars !== structure.variables.length)
    throw new BnformerError(
      "data",
      `context has ${context.vars} columns; the structure has ${structure.variables.length} variables`,
      { path: ["context"] },
    );
}

/** Context rows as family tokens of `target` (N, I). */
export function encodeFamilyContext(
  layout: FamilyLayout,
  structure: Structure,
  target: number,
  context: Dataset,
): Float64Array {
  const shape = checkFamilyFits(layout, structure, target);
  const parents = structure.parents[target]!;
  const M = context.vars;
  checkContextColumns(structure, context);
  const I = layout.width;
  const out = new Float64Array(context.rows * I);
  const pv = new Array<number>(parents.length);
  for (let r = 0; r < context.rows; r++) {
    const row = context.data.subarray(r * M, (r + 1) * M);
    for (const m of [target, ...parents])
      checkFamilyValue(structure, m, row[m]!, ["context", `row ${r}`]);
    parents.forEach((p, j) => (pv[j] = row[p]!));
    writeFamilyToken(layout, shape, out, r * I, row[target]!, pv, false);
  }
  return out;
}

/**
 * The distinct (target, parents) value combinations of `context`'s rows, in order of first
 * appearance, as rows of a dataset (other columns MISSING), with how many rows show each:
 * what a model whose context tokens see only themselves needs (countedContextCache).
 * Values are checked here, so an error names the row of the whole context.
 */
export function distinctFamilyRows(
  structure: Structure,
  target: number,
  context: Dataset,
): { rows: Dataset; counts: number[] } {
  const members = [target, ...structure.parents[target]!];
  const M = context.vars;
  checkContextColumns(structure, context);
  const index = new Map<number, number>();
  const counts: number[] = [];
  const firstRow: number[] = [];
  for (let r = 0; r < context.rows; r++) {
    let key = 0;
    for (const m of members) {
      const x = context.data[r * M + m]!;
      checkFamilyValue(structure, m, x, ["context", `row ${r}`]);
      key = key * 256 + x; // a state or MISSING is a byte; 1 + kMax bytes stay below 2^53
    }
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, counts.length);
      counts.push(1);
      firstRow.push(r);
    } else counts[at]!++;
  }
  const data = new Uint8Array(firstRow.length * M).fill(MISSING);
  firstRow.forEach((r, i) => {
    for (const m of members) data[i * M + m] = context.data[r * M + m]!;
  });
  return { rows: { vars: M, rows: firstRow.length, data }, counts };
}

/** Query tokens of `target` (Q, I): each row's parent values shown, the target hidden. */
export function encodeFamilyQueries(
  layout: FamilyLayout,
  structure: Structure,
  target: number,
  rows: readonly ArrayLike<number>[],
): Float64Array {
  const shape = checkFamilyFits(layout, structure, target);
  const parents = structure.parents[target]!;
  const I = layout.width;
  const out = new Float64Array(rows.length * I);
  rows.forEach((row, q) => {
    for (const p of parents) checkFamilyValue(structure, p, row[p]!, ["queries", `query ${q}`]);
    const pv = parents.map((p) => row[p]!);
    writeFamilyToken(layout, shape, out, q * I, MISSING, pv, true);
  });
  return out;
}

/** Channel names, e.g. "target=0", "parent 2=5", "hidden target", "K=3", "query". */
export function familyChannelNames(layout: FamilyLayout): string[] {
  const slot = (s: number) => (s === 0 ? "target" : `parent ${s}`);
  const names: string[] = [];
  for (let s = 0; s <= layout.kMax; s++)
    for (let x = 0; x < layout.dMax; x++) names.push(`${slot(s)}=${x}`);
  for (let s = 0; s <= layout.kMax; s++) names.push(`hidden ${slot(s)}`);
  for (let k = 1; k <= layout.dMax; k++) names.push(`K=${k}`);
  names.push("query");
  return names;
}
