/**
 * The graph families of the paper (PAPER.md §3) as Structures.
 *
 * - `paperGraph(name)`: chain/tree/general with 5, 7 or 10 binary nodes named A, B, C, ...
 *   (states "0", "1"), variables in alphabetical (= topological) order, each parent list in
 *   alphabetical order.
 * - `randomDag(rng, n, { pMin, pMax })`: nodes X0..X(n-1) in that (topological) order;
 *   p ~ U(pMin, pMax) once per call, then each pair i < j gets the edge i -> j with
 *   probability p; afterwards every node with no parent and no child gets one edge to or
 *   from a uniformly chosen other node, directed from the lower to the higher index.
 * - `modularRandomDag(rng, opts)`: the modular structure prior of docs/estimators.md (BMA):
 *   a size and per-node cardinalities drawn from ranges, then each node's parent set among
 *   the earlier nodes drawn exactly from P(S) ∝ p^|S| (1-p)^(j-|S|) restricted to |S| <= K.
 * - `sachsGraph(edgeCsvText)`: the 11 Sachs proteins (states LOW/AVG/HIGH) with the edges
 *   of a `"from","to"` edge list. The listed protein order (SACHS_PROTEINS) is not
 *   topological (PKC -> Raf), so variables are re-ordered by the stable topological sort of
 *   network.ts; parents are listed in ASCII order of their names, as bnlearn writes them.
 */
import { BnformerError } from "../errors.ts";
import type { Structure, Variable } from "./network.ts";
import { topologicalOrder, validateStructure } from "./network.ts";
import type { Rng } from "./rng.ts";
import { parseCsv } from "./csv.ts";
import { MISSING } from "./dataset.ts";

/** Names accepted by `paperGraph`. */
export const PAPER_GRAPH_NAMES = [
  "chain5",
  "chain7",
  "chain10",
  "tree5",
  "tree7",
  "tree10",
  "general5",
  "general7",
  "general10",
] as const;

/** One of the paper's fixed graphs. */
export type PaperGraphName = (typeof PAPER_GRAPH_NAMES)[number];

const BINARY_STATES: readonly string[] = ["0", "1"];

// Parent lists by child name, per family, as PAPER.md §3 lists them. The 7- and 10-node
// versions extend the smaller ones, so each table is cumulative.
const TREE_PARENTS: Record<string, string[]> = {
  B: ["A"],
  C: ["A"],
  D: ["B"],
  E: ["B"],
  F: ["C"],
  G: ["C"],
  H: ["D"],
  I: ["D"],
  J: ["I"],
};
const GENERAL_PARENTS: Record<string, string[]> = {
  C: ["A", "B"],
  D: ["A", "C"],
  E: ["D"],
  F: ["D", "E"],
  G: ["C", "E"],
  H: ["F", "G"],
  I: ["E", "H"],
  J: ["G", "I"],
};

/** The paper's graph `name` (binary, nodes A, B, ...). */
export function paperGraph(name: PaperGraphName): Structure {
  const m = /^(chain|tree|general)(5|7|10)$/.exec(name);
  if (m === null) {
    throw new BnformerError(
      "config",
      `unknown paper graph "${name}"; expected one of ${PAPER_GRAPH_NAMES.join(", ")}`,
    );
  }
  const family = m[1]!;
  const n = Number(m[2]);
  const names = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const parentNames = (child: string, i: number): string[] => {
    if (family === "chain") return i === 0 ? [] : [names[i - 1]!];
    return (family === "tree" ? TREE_PARENTS : GENERAL_PARENTS)[child] ?? [];
  };
  const parents = names.map((child, i) => parentNames(child, i).map((p) => names.indexOf(p)));
  return {
    name,
    variables: names.map((nm) => ({ name: nm, states: BINARY_STATES })),
    parents,
  };
}

/** Options of `randomDag`: the range of the edge probability, and the states per node. */
export interface RandomDagOptions {
  pMin: number;
  pMax: number;
  /** Number of states of every node (default 2); states are named "0", "1", ... */
  states?: number;
}

/**
 * A random DAG over X0..X(n-1): edge i -> j (i < j) with probability p ~ U(pMin, pMax),
 * then one random edge for each isolated node. Draws: p, then pairs (i, j) for j = 1..n-1,
 * i = 0..j-1, then one draw per isolated node (in index order).
 */
export function randomDag(rng: Rng, n: number, opts: RandomDagOptions): Structure {
  const { pMin, pMax, states = 2 } = opts;
  if (!Number.isInteger(n) || n < 2) {
    throw new BnformerError("config", `randomDag: n must be an integer >= 2, got ${n}`);
  }
  if (!(pMin >= 0 && pMin <= pMax && pMax <= 1)) {
    throw new BnformerError(
      "config",
      `randomDag: need 0 <= pMin <= pMax <= 1, got pMin ${pMin}, pMax ${pMax}`,
    );
  }
  if (!Number.isInteger(states) || states < 2 || states > 254) {
    throw new BnformerError(
      "config",
      `randomDag: states must be an integer in 2..254, got ${states}`,
    );
  }
  const p = pMin + (pMax - pMin) * rng.next();
  const parents: number[][] = Array.from({ length: n }, () => []);
  const hasChild = new Uint8Array(n);
  for (let j = 1; j < n; j++) {
    for (let i = 0; i < j; i++) {
      if (rng.next() < p) {
        parents[j]!.push(i);
        hasChild[i] = 1;
      }
    }
  }
  for (let v = 0; v < n; v++) {
    if (parents[v]!.length > 0 || hasChild[v]) continue;
    let u = rng.nextInt(n - 1);
    if (u >= v) u++;
    const [from, to] = u < v ? [u, v] : [v, u];
    parents[to]!.push(from);
    parents[to]!.sort((a, b) => a - b);
    hasChild[from] = 1;
  }
  const stateNames = Array.from({ length: states }, (_, i) => String(i));
  return {
    name: `random${n}`,
    variables: Array.from({ length: n }, (_, i) => ({ name: `X${i}`, states: stateNames })),
    parents,
  };
}

/** An inclusive integer range. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** Options of `modularRandomDag`. */
export interface ModularDagOptions {
  /** Number of nodes, drawn uniformly from the range (at least 1). */
  readonly nodes: IntRange;
  /** States of each node, drawn uniformly per node from the range (2..254). */
  readonly states: IntRange;
  /** Probability that an earlier node is a parent, before the in-degree limit. */
  readonly edgeProb: number;
  /** In-degree limit K: parent sets larger than K have prior probability 0. */
  readonly maxParents: number;
}

function checkRange(name: string, r: IntRange, lo: number, hi: number): void {
  if (!(
    Number.isInteger(r.min) &&
    Number.isInteger(r.max) &&
    lo <= r.min &&
    r.min <= r.max &&
    r.max <= hi
  )) {
    throw new BnformerError(
      "config",
      `modularRandomDag: ${name} must be integers with ${lo} <= min <= max <= ${hi}, got ${r.min}..${r.max}`,
    );
  }
}

/**
 * Parent set of a node with `earlier` candidate parents under the modular prior conditioned
 * on |S| <= K: the size s is drawn with weight C(j, s) p^s (1-p)^(j-s), s <= K, then a
 * uniform s-subset (partial Fisher-Yates), returned sorted. This is exactly the prior that
 * the BMA estimator averages over, so the two agree on what "unknown structure" means.
 */
export function sampleModularParentSet(
  rng: Rng,
  earlier: number,
  edgeProb: number,
  maxParents: number,
): number[] {
  const top = Math.min(earlier, maxParents);
  const logw: number[] = [];
  for (let s = 0; s <= top; s++) {
    logw.push(
      logChoose(earlier, s) +
        (s > 0 ? s * Math.log(edgeProb) : 0) +
        (earlier - s > 0 ? (earlier - s) * Math.log1p(-edgeProb) : 0),
    );
  }
  const peak = Math.max(...logw);
  const w = logw.map((x) => (Number.isFinite(x) ? Math.exp(x - peak) : 0));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  let size = 0;
  for (; size < top; size++) {
    u -= w[size]!;
    if (u < 0) break;
  }
  const pool = Array.from({ length: earlier }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const k = i + rng.nextInt(earlier - i);
    [pool[i], pool[k]] = [pool[k]!, pool[i]!];
  }
  return pool.slice(0, size).sort((a, b) => a - b);
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.log(n - i) - Math.log(i + 1);
  return s;
}

/**
 * A random structure from the modular prior: nodes X0..X(M-1) in topological order, M drawn
 * from `nodes`, then per node its cardinality from `states`, then per node j its parent set
 * (`sampleModularParentSet`). Draws happen in that order, so a seed fixes the structure.
 */
export function modularRandomDag(rng: Rng, opts: ModularDagOptions): Structure {
  checkRange("nodes", opts.nodes, 1, 10_000);
  checkRange("states", opts.states, 2, 254);
  if (!(opts.edgeProb >= 0 && opts.edgeProb <= 1)) {
    throw new BnformerError(
      "config",
      `modularRandomDag: edgeProb must be in [0, 1], got ${opts.edgeProb}`,
    );
  }
  if (!(Number.isInteger(opts.maxParents) && opts.maxParents >= 0)) {
    throw new BnformerError(
      "config",
      `modularRandomDag: maxParents must be an integer >= 0, got ${opts.maxParents}`,
    );
  }
  const m = opts.nodes.min + rng.nextInt(opts.nodes.max - opts.nodes.min + 1);
  const cards = Array.from(
    { length: m },
    () => opts.states.min + rng.nextInt(opts.states.max - opts.states.min + 1),
  );
  const parents = cards.map((_, j) =>
    sampleModularParentSet(rng, j, opts.edgeProb, opts.maxParents),
  );
  return {
    name: `modular${m}`,
    variables: cards.map((k, i) => ({
      name: `X${i}`,
      states: Array.from({ length: k }, (_, s) => String(s)),
    })),
    parents,
  };
}

/** The 11 Sachs proteins in the order of the data files. */
export const SACHS_PROTEINS: readonly string[] = [
  "Raf",
  "Mek",
  "Plcg",
  "PIP2",
  "PIP3",
  "Erk",
  "Akt",
  "PKA",
  "PKC",
  "P38",
  "Jnk",
];

/** The three levels of every Sachs protein (data files code them 1/2/3). */
export const SACHS_STATES: readonly string[] = ["LOW", "AVG", "HIGH"];

/**
 * The Sachs graph from a `"from","to"` edge list (e.g. GroundTruth.csv), variables in a
 * topological order (stable from SACHS_PROTEINS), parents in ASCII order of their names.
 */
export function sachsGraph(edgeCsvText: string, opts: { file?: string } = {}): Structure {
  // The edge list read as data: two columns whose "states" are the protein names, so an
  // unknown name is reported at its file:line:column like any undeclared state.
  const edgeColumns: Structure = {
    name: "edge list",
    variables: ["from", "to"].map((name) => ({ name, states: SACHS_PROTEINS })),
    parents: [[], []],
  };
  const edges = parseCsv(edgeCsvText, edgeColumns, opts);
  const parentNames: string[][] = SACHS_PROTEINS.map(() => []);
  for (let r = 0; r < edges.rows; r++) {
    const [from, to] = [edges.data[2 * r]!, edges.data[2 * r + 1]!];
    if (from === MISSING || to === MISSING) {
      throw new BnformerError("data", `edge ${r + 1} has an empty end`, {
        ...opts,
        path: ["edges"],
      });
    }
    const [a, b] = [SACHS_PROTEINS[from]!, SACHS_PROTEINS[to]!];
    if (parentNames[to]!.includes(a)) {
      throw new BnformerError("data", `edge ${a} -> ${b} is listed twice`, {
        ...opts,
        path: ["edges"],
      });
    }
    parentNames[to]!.push(a);
  }
  const listed: Structure = {
    name: "sachs",
    variables: SACHS_PROTEINS.map((name) => ({ name, states: SACHS_STATES })),
    parents: parentNames.map((ps) => ps.map((p) => SACHS_PROTEINS.indexOf(p))),
  };
  validateStructure(listed); // names a cycle if the edge list has one
  const order = topologicalOrder(listed);
  const variables: Variable[] = order.map((v) => listed.variables[v]!);
  const names = variables.map((v) => v.name);
  const parents = order.map((v) => [...parentNames[v]!].sort().map((p) => names.indexOf(p)));
  return { name: "sachs", variables, parents };
}
