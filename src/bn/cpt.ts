/**
 * Parent-configuration indexing: the one home of the CPT layout.
 * A CPT is [parentConfig, childState] row-major; the configuration index is mixed-radix
 * over the parent list with the LAST parent varying fastest:
 *   config = sum_i value(parent_i) * stride_i,  stride_last = 1,  stride_i = stride_{i+1} * card(parent_{i+1}).
 */
import type { Structure } from "./network.ts";
import { cardinalities } from "./network.ts";

/** Number of parent configurations of variable v (1 for a root). */
export function parentConfigCount(s: Structure, v: number): number {
  const cards = cardinalities(s);
  return s.parents[v]!.reduce((n, p) => n * cards[p]!, 1);
}

/** Mixed-radix strides of v's parents, aligned with `s.parents[v]` (last parent stride 1). */
export function parentStrides(s: Structure, v: number): Int32Array {
  const ps = s.parents[v]!;
  const strides = new Int32Array(ps.length);
  let stride = 1;
  for (let i = ps.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= s.variables[ps[i]!]!.states.length;
  }
  return strides;
}

/** Configuration index of v's parents in a full assignment `values` (state index per variable). */
export function parentConfigIndex(s: Structure, v: number, values: ArrayLike<number>): number {
  const ps = s.parents[v]!;
  let idx = 0;
  for (let i = 0; i < ps.length; i++)
    idx = idx * s.variables[ps[i]!]!.states.length + values[ps[i]!]!;
  return idx;
}

/** Parent state indices of configuration `config` of v, aligned with `s.parents[v]`. */
export function decodeParentConfig(s: Structure, v: number, config: number): number[] {
  const ps = s.parents[v]!;
  const out = new Array<number>(ps.length);
  let c = config;
  for (let i = ps.length - 1; i >= 0; i--) {
    const k = s.variables[ps[i]!]!.states.length;
    out[i] = c % k;
    c = Math.floor(c / k);
  }
  return out;
}

/** Row `config` of v's CPT (a view, not a copy). */
export function cptRow(cpt: Float64Array, states: number, config: number): Float64Array {
  return cpt.subarray(config * states, (config + 1) * states);
}
