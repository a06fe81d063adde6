/**
 * Ancestral (forward) sampling of complete rows from a network, one network or a batch of
 * CPT sets over one structure.
 *
 * Contract:
 * - Draws: row by row; within a row, variables in `topologicalOrder(structure)`; exactly one
 *   uniform u = rng.nextUint32() / 2^32 (= `rng.next()`) per cell. State x is chosen when
 *   u < P(0) + ... + P(x), scanning x upwards; a state with probability 0 is never chosen (the
 *   last state with P > 0 absorbs rounding). For binary variables this is exactly
 *   `sampleCategorical` of rng.ts; for more states the running sums are the same sums, so the
 *   two agree unless u falls within a few ulps of a boundary.
 * - `sampleBatch` draws set s's rows with `rng.fork(s)`, so set s's rows are the same
 *   whatever the number of sets, and equal `sampleRows(rng.fork(s), networkFromBatch(s), N)`.
 * - Speed: large calls run a row loop compiled to WebAssembly for the structure
 *   (sample-kernel.ts), small ones `interpret` the plan; both give the same rows.
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "./network.ts";
import type { Dataset } from "./dataset.ts";
import type { Rng } from "./rng.ts";
import type { CptBatch } from "./priors.ts";
import type { Kernel, Plan } from "./sample-kernel.ts";
import { TWO_POW_32, compileKernel, fillThresholds, makePlan } from "./sample-kernel.ts";

/** Rows sampled for every CPT set: data is [S sets, N rows, M variables] row-major. */
export interface SampleBatch {
  readonly shape: readonly [number, number, number];
  readonly data: Uint8Array;
}

function checkCptSizes(structure: Structure, plan: Plan, cpts: readonly Float64Array[], sets = 1) {
  if (cpts.length !== plan.vars) {
    throw new BnformerError("network", `${cpts.length} CPTs for ${plan.vars} variables`);
  }
  cpts.forEach((cpt, v) => {
    const want = sets * plan.cptSize[v]!;
    if (cpt.length !== want) {
      throw new BnformerError(
        "network",
        `CPT has ${cpt.length} entries; expected ${want} (${sets} set(s) x ${plan.cptSize[v]})`,
        { path: ["cpt", structure.variables[v]!.name] },
      );
    }
  });
}

/** The compiled kernel writes at most this many rows per run (its output buffer). */
const CHUNK_ROWS = 4096;
/**
 * Compiling a kernel costs ~0.1-0.5 ms; below this many cells per call the plain loop
 * (`interpret`, same results) is cheaper overall, e.g. for one-row queries.
 */
const KERNEL_MIN_CELLS = 20_000;

/**
 * The kernel's row loop interpreted from the plan, drawing with `rng.nextUint32()` (for small
 * calls): thresholds are read as uint64 word pairs, parents' states back from `out`.
 */
function interpret(
  rng: Rng,
  plan: Plan,
  thresholds: Uint32Array,
  out: Uint8Array,
  base: number,
  rows: number,
): void {
  const { vars, variable, states, parentStart, parentVar, parentStep, tableOffset } = plan;
  for (let b = base, end = base + rows * vars; b < end; b += vars) {
    for (let i = 0; i < vars; i++) {
      let t = tableOffset[i]!;
      for (let e = parentStart[i]!; e < parentStart[i + 1]!; e++) {
        t += out[b + parentVar[e]!]! * parentStep[e]!;
      }
      const x = rng.nextUint32();
      let n = 0;
      for (let w = 2 * t, last = w + 2 * (states[i]! - 1); w < last; w += 2) {
        n += +(x >= thresholds[w]! + thresholds[w + 1]! * TWO_POW_32);
      }
      out[b + variable[i]!] = n;
    }
  }
}

/**
 * Draws `rows` rows into out[offset ..] from thresholds already filled: with the compiled
 * kernel (on a copy of `rng`'s state words, written back after) or with `interpret`.
 */
function fillRows(
  rng: Rng,
  plan: Plan,
  kernel: Kernel | null,
  thresholds: Uint32Array,
  out: Uint8Array,
  offset: number,
  rows: number,
): void {
  if (kernel === null) return interpret(rng, plan, thresholds, out, offset, rows);
  rng.saveState(kernel.state);
  for (let r0 = 0; r0 < rows; r0 += kernel.maxRows) {
    const n = Math.min(kernel.maxRows, rows - r0);
    kernel.run(n);
    out.set(kernel.out.subarray(0, n * plan.vars), offset + r0 * plan.vars);
  }
  rng.loadState(kernel.state);
}

/** A compiled kernel when `cells` is large enough to repay compiling it. */
function kernelFor(plan: Plan, cells: number, rows: number): Kernel | null {
  return cells >= KERNEL_MIN_CELLS ? compileKernel(plan, Math.min(rows, CHUNK_ROWS)) : null;
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new BnformerError("config", `${what} must be an integer >= 0, got ${n}`);
  }
}

/** `n` complete rows drawn from `net` by ancestral sampling (columns = variables). */
export function sampleRows(rng: Rng, net: Network, n: number): Dataset {
  checkCount("number of rows", n);
  const plan = makePlan(net);
  checkCptSizes(net, plan, net.cpts);
  const data = new Uint8Array(n * plan.vars);
  const kernel = kernelFor(plan, data.length, n);
  const thresholds = kernel?.thresholds ?? new Uint32Array(2 * plan.tableSize);
  fillThresholds(plan, net.cpts, 0, thresholds);
  fillRows(rng, plan, kernel, thresholds, data, 0, n);
  return { vars: plan.vars, rows: n, data };
}

/** `rowsPerSet` rows from each CPT set of `batch`: shape [S, N, M]; set s uses rng.fork(s). */
export function sampleBatch(
  rng: Rng,
  structure: Structure,
  batch: CptBatch,
  rowsPerSet: number,
): SampleBatch {
  checkCount("rows per set", rowsPerSet);
  const plan = makePlan(structure);
  checkCptSizes(structure, plan, batch.cpts, batch.sets);
  const { sets } = batch;
  const setSize = rowsPerSet * plan.vars;
  const data = new Uint8Array(sets * setSize);
  const kernel = kernelFor(plan, data.length, rowsPerSet);
  const thresholds = kernel?.thresholds ?? new Uint32Array(2 * plan.tableSize);
  for (let s = 0; s < sets; s++) {
    fillThresholds(plan, batch.cpts, s, thresholds);
    fillRows(rng.fork(s), plan, kernel, thresholds, data, s * setSize, rowsPerSet);
  }
  return { shape: [sets, rowsPerSet, plan.vars], data };
}

/** The rows of set `s` of a batch as a Dataset view (no copy). */
export function batchRows(batch: SampleBatch, s: number): Dataset {
  const [sets, rows, vars] = batch.shape;
  if (!Number.isInteger(s) || s < 0 || s >= sets) {
    throw new BnformerError("config", `set ${s} is out of range; the batch has ${sets}`);
  }
  return { vars, rows, data: batch.data.subarray(s * rows * vars, (s + 1) * rows * vars) };
}
