/**
 * The parent sets BMA averages over (bma.ts): every subset of a target's earlier variables
 * with at most K elements, and their modular prior p^|S| (1-p)^(j-|S|), renormalised over
 * the allowed sets by the caller. Enumeration is bounded so that a wide network fails with
 * a clear message instead of running out of memory.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { configCount } from "./counts.ts";

/** Most parent sets enumerated per target (2^12: 12 earlier variables with no in-degree limit). */
export const MAX_PARENT_SETS = 1 << 12;
/** Most count-table entries kept per target, over all its parent sets. */
export const MAX_BMA_COUNT_ENTRIES = 1 << 24;

/**
 * log of the unnormalised structure prior of a set of `size` out of j candidates;
 * p = 1 with K < j is the limit p -> 1 (all mass on the sets of size K).
 */
export function logStructurePrior(size: number, j: number, p: number, maxParents: number): number {
  if (p === 0) return size === 0 ? 0 : -Infinity;
  if (p === 1) return size === Math.min(j, maxParents) ? 0 : -Infinity;
  return size * Math.log(p) + (j - size) * Math.log1p(-p);
}

/** Every subset of `candidates` of at most maxParents elements, by size then candidate order. */
export function enumerateParentSets(
  structure: Structure,
  target: number,
  candidates: readonly number[],
  maxParents: number,
): number[][] {
  const j = candidates.length;
  const top = Math.min(j, maxParents);
  const name = structure.variables[target]!.name;
  let count = 0;
  for (let s = 0, binom = 1; s <= top; s++, binom = (binom * (j - s + 1)) / s) {
    count += binom;
    if (count > MAX_PARENT_SETS) {
      throw new BnformerError(
        "estimate",
        `BMA over the parent sets of "${name}" (${j} earlier variables, at most ${maxParents === Infinity ? j : maxParents} parents) enumerates more than ${MAX_PARENT_SETS} sets (sum over s <= K of C(${j}, s)); lower the maximum number of parents`,
        { path: ["estimate", name] },
      );
    }
  }
  const k = structure.variables[target]!.states.length;
  const sets: number[][] = [];
  let entries = 0;
  const extend = (set: number[], from: number, size: number): void => {
    if (set.length === size) {
      entries += configCount(structure, set) * k;
      sets.push([...set]);
      return;
    }
    for (let i = from; i <= j - (size - set.length); i++) {
      set.push(candidates[i]!);
      extend(set, i + 1, size);
      set.pop();
    }
  };
  for (let size = 0; size <= top; size++) extend([], 0, size);
  if (entries > MAX_BMA_COUNT_ENTRIES) {
    throw new BnformerError(
      "estimate",
      `BMA over the parent sets of "${name}" needs ${entries} count-table entries, more than ${MAX_BMA_COUNT_ENTRIES}; lower the maximum number of parents`,
      { path: ["estimate", name] },
    );
  }
  return sets;
}
