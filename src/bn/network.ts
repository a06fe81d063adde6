/**
 * Discrete Bayesian networks: variables with named states, ordered parent lists, CPTs.
 *
 * Layout (the one used everywhere in bnformer):
 * - `variables` keep the order of the source (file order); `parents[v]` lists parent
 *   indices in their declared order.
 * - `cpts[v]` is a Float64Array of shape [parentConfig, childState], row-major, so each
 *   row sums to 1. The parent configuration index is mixed-radix over `parents[v]` with
 *   the LAST parent varying fastest (pgmpy's order); see `cpt.ts`.
 *
 * A `Structure` is a network without CPTs (what estimators and the construction need).
 * `validateStructure` / `validateNetwork` hold every invariant, in one place.
 */
import { BnformerError } from "../errors.ts";

export interface Variable {
  readonly name: string;
  readonly states: readonly string[];
}

export interface Structure {
  readonly name: string;
  readonly variables: readonly Variable[];
  /** parents[v]: indices into `variables`, in declared order. */
  readonly parents: readonly (readonly number[])[];
}

export interface Network extends Structure {
  /** cpts[v]: [parentConfig, childState], last parent fastest; rows sum to 1. */
  readonly cpts: readonly Float64Array[];
}

/**
 * Largest CPT (parent configurations x states) a network may have: 2^24 entries, 128 MiB
 * as float64. The largest shipped network's largest CPT (water) has 3072. Checked on the
 * structure, so no reader allocates a table before the limit is known to hold.
 */
export const MAX_CPT_ENTRIES = 2 ** 24;

/** Tolerance for a CPT row sum: a row is a distribution when |sum - 1| <= this. */
export const ROW_SUM_TOLERANCE = 1e-6;
/** Largest row-sum error `renormalize` accepts (BIF files round to ~4 digits). */
export const RENORMALIZE_TOLERANCE = 1e-4;

export interface ValidateOptions {
  /** Rescale rows whose sum is off by at most RENORMALIZE_TOLERANCE instead of rejecting them. */
  renormalize?: boolean;
}

/** Cardinality of every variable. */
export function cardinalities(s: Structure): number[] {
  return s.variables.map((v) => v.states.length);
}

/** Index of the variable called `name`, or a clear error. */
export function variableIndex(s: Structure, name: string): number {
  const i = s.variables.findIndex((v) => v.name === name);
  if (i < 0) {
    throw new BnformerError(
      "network",
      `no variable named "${name}" (variables: ${s.variables.map((v) => v.name).join(", ")})`,
    );
  }
  return i;
}

/** Number of edges. */
export function edgeCount(s: Structure): number {
  return s.parents.reduce((n, p) => n + p.length, 0);
}

/**
 * A topological order (parents before children), stable: among the variables ready at
 * each step the one earliest in file order comes first, so a file already in
 * topological order keeps its order. Throws, naming the cycle, when there is one.
 */
export function topologicalOrder(s: Structure): number[] {
  const n = s.variables.length;
  const indegree = new Int32Array(n);
  const children: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) {
    for (const p of s.parents[v]!) {
      indegree[v]!++;
      children[p]!.push(v);
    }
  }
  const order: number[] = [];
  const ready: number[] = [];
  for (let v = 0; v < n; v++) if (indegree[v] === 0) ready.push(v);
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const v = ready.shift()!;
    order.push(v);
    for (const c of children[v]!) if (--indegree[c]! === 0) ready.push(c);
  }
  if (order.length < n) {
    const cycle = findCycle(s);
    throw new BnformerError(
      "network",
      `the graph has a cycle: ${cycle.map((v) => s.variables[v]!.name).join(" -> ")}`,
      { path: ["structure"] },
    );
  }
  return order;
}

/** One directed cycle as a closed walk [a, b, ..., a]; empty if the graph is acyclic. */
export function findCycle(s: Structure): number[] {
  const n = s.variables.length;
  const color = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const stack: number[] = [];
  // Walk parent edges; reverse at the end so the cycle reads parent -> child.
  const visit = (v: number): number[] | null => {
    color[v] = 1;
    stack.push(v);
    for (const p of s.parents[v]!) {
      if (color[p] === 1) {
        const cyc = stack.slice(stack.indexOf(p));
        cyc.push(p);
        return cyc.reverse();
      }
      if (color[p] === 0) {
        const r = visit(p);
        if (r) return r;
      }
    }
    stack.pop();
    color[v] = 2;
    return null;
  };
  for (let v = 0; v < n; v++) {
    if (color[v] === 0) {
      const r = visit(v);
      if (r) return r;
    }
  }
  return [];
}

/**
 * Throws on no variables, duplicate names, fewer than 2 states, bad parent indices, repeated
 * parents, a CPT over MAX_CPT_ENTRIES, cycles.
 */
export function validateStructure(s: Structure): void {
  if (s.variables.length === 0) {
    throw new BnformerError("network", "the network has no variables; it needs at least one", {
      path: ["variables"],
    });
  }
  const seen = new Map<string, number>();
  s.variables.forEach((v, i) => {
    if (v.name.length === 0) throw new BnformerError("network", `variable ${i} has an empty name`);
    if (seen.has(v.name))
      throw new BnformerError("network", `variable "${v.name}" is declared twice`);
    seen.set(v.name, i);
    if (v.states.length < 2) {
      throw new BnformerError(
        "network",
        `variable "${v.name}" has ${v.states.length} state(s); at least 2 are needed`,
        {
          path: [v.name],
        },
      );
    }
    if (v.states.length > 254) {
      throw new BnformerError(
        "network",
        `variable "${v.name}" has ${v.states.length} states; at most 254 are supported`,
        {
          path: [v.name],
        },
      );
    }
    const st = new Set<string>();
    for (const x of v.states) {
      if (st.has(x))
        throw new BnformerError("network", `variable "${v.name}" lists state "${x}" twice`, {
          path: [v.name],
        });
      st.add(x);
    }
  });
  if (s.parents.length !== s.variables.length) {
    throw new BnformerError(
      "network",
      `parents has ${s.parents.length} entries for ${s.variables.length} variables`,
    );
  }
  s.parents.forEach((ps, v) => {
    const name = s.variables[v]!.name;
    const used = new Set<number>();
    for (const p of ps) {
      if (!Number.isInteger(p) || p < 0 || p >= s.variables.length) {
        throw new BnformerError("network", `parent index ${p} of "${name}" is out of range`, {
          path: [name],
        });
      }
      if (p === v)
        throw new BnformerError("network", `"${name}" is its own parent`, { path: [name] });
      if (used.has(p)) {
        throw new BnformerError(
          "network",
          `"${name}" lists parent "${s.variables[p]!.name}" twice`,
          { path: [name] },
        );
      }
      used.add(p);
    }
    const configs = ps.reduce((n, p) => n * s.variables[p]!.states.length, 1);
    const size = configs * s.variables[v]!.states.length;
    if (size > MAX_CPT_ENTRIES) {
      throw new BnformerError(
        "network",
        `the CPT of "${name}" would have ${size} entries (${ps.length} parents); at most ${MAX_CPT_ENTRIES} (2^24) are supported`,
        { path: [name] },
      );
    }
  });
  topologicalOrder(s);
}

/**
 * Throws unless every CPT has the right size, finite non-negative entries and rows that
 * sum to 1 within ROW_SUM_TOLERANCE. With `renormalize`, rows off by at most
 * RENORMALIZE_TOLERANCE are rescaled in a returned copy (the input is never changed).
 */
export function validateNetwork(net: Network, opts: ValidateOptions = {}): Network {
  validateStructure(net);
  const cards = cardinalities(net);
  if (net.cpts.length !== net.variables.length) {
    throw new BnformerError(
      "network",
      `${net.cpts.length} CPTs for ${net.variables.length} variables`,
    );
  }
  const cpts = net.cpts.map((cpt, v) => {
    const name = net.variables[v]!.name;
    const k = cards[v]!;
    const configs = net.parents[v]!.reduce((n, p) => n * cards[p]!, 1);
    if (cpt.length !== configs * k) {
      throw new BnformerError(
        "network",
        `CPT has ${cpt.length} entries; expected ${configs} parent configurations x ${k} states = ${configs * k}`,
        { path: ["cpt", name] },
      );
    }
    let out = cpt;
    for (let r = 0; r < configs; r++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const x = cpt[r * k + j]!;
        if (!Number.isFinite(x) || x < 0) {
          throw new BnformerError(
            "network",
            `entry ${j} ("${net.variables[v]!.states[j]}") is ${x}; probabilities must be finite and >= 0`,
            {
              path: ["cpt", name, `row ${r}`],
            },
          );
        }
        sum += x;
      }
      const off = Math.abs(sum - 1);
      if (off <= ROW_SUM_TOLERANCE) continue;
      if (opts.renormalize && off <= RENORMALIZE_TOLERANCE && sum > 0) {
        if (out === cpt) out = Float64Array.from(cpt);
        for (let j = 0; j < k; j++) out[r * k + j]! /= sum;
        continue;
      }
      const beyond = opts.renormalize
        ? `more than the ${RENORMALIZE_TOLERANCE} that renormalize accepts`
        : "";
      const fixable = !opts.renormalize && off <= RENORMALIZE_TOLERANCE;
      throw new BnformerError(
        "network",
        `row sums to ${+sum.toPrecision(10)}, not 1 (tolerance ${ROW_SUM_TOLERANCE})${beyond}`,
        {
          path: ["cpt", name, `row ${r}`],
        },
        fixable
          ? {
              hint: {
                fixes: [{ option: "renormalize", value: true }],
                effect: "to rescale rounded rows",
              },
            }
          : {},
      );
    }
    return out;
  });
  return cpts.every((c, i) => c === net.cpts[i]) ? net : { ...net, cpts };
}

/** The structure of a network (drops CPTs). */
export function structureOf(s: Structure): Structure {
  return { name: s.name, variables: s.variables, parents: s.parents };
}

/** Free parameters: sum over variables of (states - 1) x parent configurations. */
export function freeParameterCount(s: Structure): number {
  const cards = cardinalities(s);
  return s.parents.reduce(
    (n, ps, v) => n + (cards[v]! - 1) * ps.reduce((m, p) => m * cards[p]!, 1),
    0,
  );
}
