/**
 * Distances between distributions and networks, and the likelihood of data.
 *
 * - tvDistance(p, q) = 1/2 sum |p_i - q_i|  (binary: |p_1 - q_1|).
 * - klDivergence(p, q) = sum_{p_i > 0} p_i ln(p_i / q_i), in nats; terms with p_i = 0 are 0;
 *   it is +Infinity when some q_i = 0 < p_i.
 * - Exact joint distributions enumerate every assignment (index mixed-radix over the
 *   variables in file order, last variable fastest) and refuse more than
 *   MAX_EXACT_JOINT_STATES; beyond that use the Monte-Carlo joint TV.
 * - Monte-Carlo joint TV: TV(p, q) = sum_x p(x) max(0, 1 - q(x)/p(x)) = E_p[max(0, 1 - q/p)],
 *   averaged over n rows drawn from p, with its standard error sd / sqrt(n).
 * - logLikelihood sums ln P(x_v | x_parents) over rows and variables, skipping the factor of
 *   a variable that is missing or has a missing parent in that row (the available-case
 *   log-likelihood, not the marginal likelihood of the observed cells).
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "../bn/network.ts";
import type { Rng } from "../bn/rng.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import { checkDatasetShape, badCellError } from "../estimate/counts.ts";
import { generateRows, networkConditional } from "../estimate/generate.ts";

/** Largest number of joint states the exact joint functions enumerate. */
export const MAX_EXACT_JOINT_STATES = 1 << 20;

/** Total variation distance 1/2 sum |p_i - q_i| of two distributions of the same length. */
export function tvDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkSameLength(p, q, "tvDistance");
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i]! - q[i]!);
  return 0.5 * s;
}

/** KL(p || q) = sum_{p_i > 0} p_i ln(p_i / q_i) in nats; +Infinity when q_i = 0 < p_i. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkSameLength(p, q, "klDivergence");
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi === 0) continue;
    const qi = q[i]!;
    if (qi === 0) return Infinity;
    s += pi * Math.log(pi / qi);
  }
  return s;
}

function checkSameLength(p: ArrayLike<number>, q: ArrayLike<number>, what: string): void {
  if (p.length !== q.length) {
    throw new BnformerError(
      "config",
      `${what}: the distributions have ${p.length} and ${q.length} entries; they must match`,
    );
  }
}

/** Number of joint assignments of `s` (product of cardinalities). */
export function jointStateCount(s: Structure): number {
  return s.variables.reduce((n, v) => n * v.states.length, 1);
}

function checkExactSize(s: Structure): number {
  const size = jointStateCount(s);
  if (size > MAX_EXACT_JOINT_STATES) {
    throw new BnformerError(
      "config",
      `"${s.name}" has ${size} joint states, more than the ${MAX_EXACT_JOINT_STATES} an exact joint enumerates; use the Monte-Carlo joint TV (jointTvMonteCarlo)`,
      { path: [s.name] },
    );
  }
  return size;
}

/** P(row) = prod_v P(x_v | x_parents(v)) read from the CPTs; `row` must be complete. */
export function jointProbability(net: Network, row: ArrayLike<number>): number {
  let p = 1;
  for (let v = 0; v < net.variables.length; v++) p *= cptEntry(net, v, row);
  return p;
}

function cptEntry(net: Network, v: number, row: ArrayLike<number>): number {
  const ps = net.parents[v]!;
  let cfg = 0;
  for (let i = 0; i < ps.length; i++)
    cfg = cfg * net.variables[ps[i]!]!.states.length + row[ps[i]!]!;
  return net.cpts[v]![cfg * net.variables[v]!.states.length + row[v]!]!;
}

/** The full joint of `net` over every assignment (file order, last variable fastest). */
export function exactJoint(net: Network): Float64Array {
  const size = checkExactSize(net);
  const m = net.variables.length;
  const cards = net.variables.map((v) => v.states.length);
  const out = new Float64Array(size);
  const row = new Uint8Array(m);
  for (let i = 0; i < size; i++) {
    out[i] = jointProbability(net, row);
    for (let v = m - 1; v >= 0; v--) {
      if (++row[v]! < cards[v]!) break; // odometer: last variable fastest
      row[v] = 0;
    }
  }
  return out;
}

/** The empirical joint of the complete rows of `data` (rows with a missing cell are skipped). */
export function empiricalJoint(structure: Structure, data: Dataset): Float64Array {
  const size = checkExactSize(structure);
  checkDatasetShape(structure, data);
  const m = structure.variables.length;
  const out = new Float64Array(size);
  let complete = 0;
  rows: for (let r = 0; r < data.rows; r++) {
    let idx = 0;
    for (let v = 0; v < m; v++) {
      const x = data.data[r * m + v]!;
      if (x === MISSING) continue rows;
      const k = structure.variables[v]!.states.length;
      if (x >= k) throw badCellError(structure, r, v, x);
      idx = idx * k + x;
    }
    out[idx]!++;
    complete++;
  }
  if (complete > 0) for (let i = 0; i < size; i++) out[i]! /= complete;
  return out;
}

/** Exact TV between the joints of two networks over the same variables and states. */
export function jointTvExact(p: Network, q: Network): number {
  checkSameVariables(p, q);
  return tvDistance(exactJoint(p), exactJoint(q));
}

/** Monte-Carlo estimate of the joint TV and its standard error. */
export interface MonteCarloTv {
  readonly estimate: number;
  readonly standardError: number;
  readonly samples: number;
}

/** Joint TV(p, q) as the mean of max(0, 1 - q(x)/p(x)) over `samples` rows drawn from p. */
export function jointTvMonteCarlo(rng: Rng, p: Network, q: Network, samples: number): MonteCarloTv {
  checkSameVariables(p, q);
  if (!Number.isInteger(samples) || samples < 2) {
    throw new BnformerError("config", `samples must be an integer >= 2, got ${samples}`, {
      path: ["samples"],
    });
  }
  const rows = generateRows(rng, p, samples, networkConditional(p));
  const m = p.variables.length;
  let sum = 0;
  let sumSq = 0;
  for (let r = 0; r < samples; r++) {
    const row = rows.data.subarray(r * m, (r + 1) * m);
    const ratio = jointProbability(q, row) / jointProbability(p, row); // p(row) > 0: drawn from p
    const y = Math.max(0, 1 - ratio);
    sum += y;
    sumSq += y * y;
  }
  const mean = sum / samples;
  const variance = Math.max(0, (sumSq - samples * mean * mean) / (samples - 1));
  return { estimate: mean, standardError: Math.sqrt(variance / samples), samples };
}

function checkSameVariables(p: Structure, q: Structure): void {
  const same =
    p.variables.length === q.variables.length &&
    p.variables.every(
      (v, i) =>
        v.name === q.variables[i]!.name &&
        v.states.length === q.variables[i]!.states.length &&
        v.states.every((s, j) => s === q.variables[i]!.states[j]),
    );
  if (!same) {
    throw new BnformerError(
      "config",
      `networks "${p.name}" and "${q.name}" differ in their variables or states; a joint distance needs the same variables in the same order`,
    );
  }
}

/**
 * Natural-log likelihood of `data` under `net`: sum over rows and variables of
 * ln P(x_v | x_parents), skipping the factor of a variable missing or with a missing
 * parent in that row. -Infinity when an observed factor has probability 0.
 */
export function logLikelihood(net: Network, data: Dataset): number {
  checkDatasetShape(net, data);
  const m = net.variables.length;
  let ll = 0;
  for (let r = 0; r < data.rows; r++) {
    const row = data.data.subarray(r * m, (r + 1) * m);
    factors: for (let v = 0; v < m; v++) {
      const x = row[v]!;
      if (x === MISSING) continue;
      if (x >= net.variables[v]!.states.length) throw badCellError(net, r, v, x);
      for (const p of net.parents[v]!) {
        const y = row[p]!;
        if (y === MISSING) continue factors;
        if (y >= net.variables[p]!.states.length) throw badCellError(net, r, p, y);
      }
      ll += Math.log(cptEntry(net, v, row));
    }
  }
  return ll;
}
