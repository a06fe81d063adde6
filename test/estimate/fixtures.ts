// Small seeded fixtures for the estimator tests: random structures with 2-4 states per
// variable (optionally in a file order that is not topological), Dirichlet CPTs, and
// datasets sampled from them through Algorithm 1 with the network's own CPTs.
import type { Network, Structure } from "../../src/bn/network.ts";
import type { Rng } from "../../src/bn/rng.ts";
import { sampleDirichletInto } from "../../src/bn/rng.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { parentConfigCount } from "../../src/bn/cpt.ts";
import { generateRows, networkConditional } from "../../src/estimate/generate.ts";

/** Variables X0..X(m-1) with 2..maxStates states; parents drawn among earlier variables of a
 * random order, so with `shuffle` the file order is not topological. */
export function randomStructure(
  rng: Rng,
  m: number,
  opts: { maxParents?: number; maxStates?: number; shuffle?: boolean } = {},
): Structure {
  const { maxParents = 2, maxStates = 3, shuffle = false } = opts;
  const order = Array.from({ length: m }, (_, i) => i);
  if (shuffle) {
    for (let i = m - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const parents: number[][] = Array.from({ length: m }, () => []);
  for (let pos = 1; pos < m; pos++) {
    const count = rng.nextInt(Math.min(maxParents, pos) + 1);
    const pool = order.slice(0, pos);
    for (let c = 0; c < count; c++) {
      const pick = pool.splice(rng.nextInt(pool.length), 1)[0]!;
      parents[order[pos]!]!.push(pick);
    }
  }
  const variables = Array.from({ length: m }, (_, i) => ({
    name: `X${i}`,
    states: Array.from({ length: 2 + rng.nextInt(maxStates - 1) }, (_, j) => `s${j}`),
  }));
  return { name: "random", variables, parents };
}

/** A network on `s` with every CPT row drawn from Dirichlet(alpha). */
export function randomNetwork(rng: Rng, s: Structure, alpha = 1): Network {
  const cpts = s.variables.map((variable, v) => {
    const k = variable.states.length;
    const rows = parentConfigCount(s, v);
    const cpt = new Float64Array(rows * k);
    const a = new Float64Array(k).fill(alpha);
    for (let r = 0; r < rows; r++) sampleDirichletInto(rng, a, cpt, r * k);
    return cpt;
  });
  return { ...s, cpts };
}

/** n rows sampled from `net` (Algorithm 1 on the network's CPTs). */
export function sampleData(rng: Rng, net: Network, n: number): Dataset {
  return generateRows(rng, net, n, networkConditional(net));
}

/** A copy of `d` with each cell replaced by MISSING with probability `rate`. */
export function withMissing(rng: Rng, d: Dataset, rate: number): Dataset {
  const data = Uint8Array.from(d.data, (x) => (rng.next() < rate ? MISSING : x));
  return { vars: d.vars, rows: d.rows, data };
}

/** A dataset from rows of state indices (null = missing). */
export function rowsOf(rows: (number | null)[][]): Dataset {
  const vars = rows[0]!.length;
  const data = new Uint8Array(rows.length * vars);
  rows.forEach((r, i) => r.forEach((x, v) => (data[i * vars + v] = x === null ? MISSING : x)));
  return { vars, rows: rows.length, data };
}

/** The largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
