/**
 * Priors over CPTs (PAPER.md §3) and random networks drawn from them.
 *
 * - uniform {low, high}: binary variables only; P(X = state 1 | cfg) ~ U(low, high).
 * - beta {alpha}: binary variables only; P(X = state 1 | cfg) ~ Beta(alpha, alpha).
 * - dirichlet {alpha}: any cardinality k; each row ~ Dirichlet(alpha, ..., alpha).
 * - dirichlet-mixture {alphas, weights}: any cardinality; each row first draws its own
 *   concentration alpha_l with probability weights[l], then ~ Dirichlet(alpha_l, ..., alpha_l).
 *   Small alphas give near-deterministic rows (asia's `either`), large ones flat rows, the
 *   middle skewed rows; the posterior mean stays exact (a finite mixture, posterior.ts).
 * Every CPT row is drawn independently, variables in index order, rows in configuration
 * order. `sampleCptBatch` draws S CPT sets into per-variable typed arrays [S, configs,
 * states]; set s comes from `rng.fork(s)`, so it is the same whatever S is, and equals
 * `sampleNetwork(rng.fork(s), ...)`.
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "./network.ts";
import { cardinalities } from "./network.ts";
import { parentConfigCount } from "./cpt.ts";
import type { Rng } from "./rng.ts";
import { sampleBeta, sampleCategorical, sampleDirichletInto } from "./rng.ts";

/** A prior over CPT rows. */
export type CptPrior =
  | { kind: "uniform"; low: number; high: number }
  | { kind: "beta"; alpha: number }
  | { kind: "dirichlet"; alpha: number }
  | { kind: "dirichlet-mixture"; alphas: readonly number[]; weights: readonly number[] };

/** The later authors' code default for binary networks: P(X=1|cfg) ~ U(0.1, 0.9). */
export const DEFAULT_BINARY_PRIOR: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };

/**
 * A prior broad enough for real networks: per row a concentration from 0.1 (near-deterministic)
 * to 10 (nearly flat), equally likely. The training prior of the network-agnostic models.
 */
export const BROAD_PRIOR: CptPrior = {
  kind: "dirichlet-mixture",
  alphas: [0.1, 0.3, 1, 3, 10],
  weights: [0.2, 0.2, 0.2, 0.2, 0.2],
};

/** The prior in one line: "uniform(0.1, 0.9)", "dirichlet(1)", "dirichlet-mixture(0.1: 0.2, 10: 0.8)". */
export function priorLabel(prior: CptPrior): string {
  switch (prior.kind) {
    case "uniform":
      return `uniform(${prior.low}, ${prior.high})`;
    case "dirichlet-mixture":
      return `dirichlet-mixture(${prior.alphas.map((a, l) => `${a}: ${prior.weights[l]}`).join(", ")})`;
    default:
      return `${prior.kind}(${prior.alpha})`;
  }
}

/** The priors that one alpha, or low and high, describe (the CLI's --prior choices). */
export type SimplePriorKind = Exclude<CptPrior["kind"], "dirichlet-mixture">;

/** Throws a "config" error unless `prior` has valid parameters and fits every variable. */
export function validatePrior(structure: Structure, prior: CptPrior): void {
  const bad = (msg: string): never => {
    throw new BnformerError("config", msg, { path: ["prior", prior.kind] });
  };
  switch (prior.kind) {
    case "uniform":
      if (!(prior.low >= 0 && prior.low <= prior.high && prior.high <= 1)) {
        bad(`uniform prior needs 0 <= low <= high <= 1, got low ${prior.low}, high ${prior.high}`);
      }
      break;
    case "beta":
    case "dirichlet":
      if (!(prior.alpha > 0 && Number.isFinite(prior.alpha))) {
        bad(`${prior.kind} prior needs a finite alpha > 0, got ${prior.alpha}`);
      }
      break;
    case "dirichlet-mixture": {
      const { alphas, weights } = prior;
      if (!Array.isArray(alphas) || alphas.length === 0 || alphas.length !== weights?.length) {
        bad(`dirichlet-mixture needs as many weights as alphas (at least one each)`);
      }
      if (!alphas.every((a) => a > 0 && Number.isFinite(a))) {
        bad(`dirichlet-mixture alphas must be finite and > 0, got ${alphas.join(", ")}`);
      }
      const total = weights.reduce((a, w) => a + w, 0);
      if (!weights.every((w) => w >= 0 && Number.isFinite(w)) || !(Math.abs(total - 1) < 1e-9)) {
        bad(`dirichlet-mixture weights must be >= 0 and sum to 1, got ${weights.join(", ")}`);
      }
      break;
    }
    default:
      bad(
        `unknown prior kind "${(prior as { kind: string }).kind}"; expected uniform, beta, dirichlet or dirichlet-mixture`,
      );
  }
  if (prior.kind === "dirichlet" || prior.kind === "dirichlet-mixture") return;
  for (const v of structure.variables) {
    if (v.states.length === 2) continue;
    throw new BnformerError(
      "config",
      `a ${prior.kind} prior needs binary variables; "${v.name}" has ${v.states.length} states ` +
        `(${v.states.join(", ")})`,
      { path: ["prior", prior.kind, v.name] },
      {
        hint: {
          fixes: [{ option: "prior.kind", value: "dirichlet" }],
          effect: "for categorical variables",
        },
      },
    );
  }
}

/** Draws every CPT row of set `s` into `out[v]` at offset s * configs * states. */
function fillSet(
  rng: Rng,
  structure: Structure,
  prior: CptPrior,
  out: readonly Float64Array[],
  s: number,
): void {
  const cards = cardinalities(structure);
  for (let v = 0; v < cards.length; v++) {
    const k = cards[v]!;
    const rows = parentConfigCount(structure, v);
    const cpt = out[v]!;
    const alpha = prior.kind === "dirichlet" ? new Float64Array(k).fill(prior.alpha) : null;
    const mixture =
      prior.kind === "dirichlet-mixture"
        ? prior.alphas.map((a) => new Float64Array(k).fill(a))
        : null;
    for (let r = 0, o = s * rows * k; r < rows; r++, o += k) {
      if (alpha !== null) {
        sampleDirichletInto(rng, alpha, cpt, o);
        continue;
      }
      if (mixture !== null && prior.kind === "dirichlet-mixture") {
        sampleDirichletInto(rng, mixture[sampleCategorical(rng, prior.weights)]!, cpt, o);
        continue;
      }
      let p1: number;
      if (prior.kind === "uniform") p1 = prior.low + (prior.high - prior.low) * rng.next();
      else if (prior.kind === "beta") p1 = sampleBeta(rng, prior.alpha, prior.alpha);
      else throw new Error(`unreachable: ${prior.kind} rows are drawn above`);
      cpt[o] = 1 - p1;
      cpt[o + 1] = p1;
    }
  }
}

/** A network over `structure` with every CPT row drawn from `prior`. */
export function sampleNetwork(rng: Rng, structure: Structure, prior: CptPrior): Network {
  validatePrior(structure, prior);
  const cards = cardinalities(structure);
  const cpts = cards.map((k, v) => new Float64Array(parentConfigCount(structure, v) * k));
  fillSet(rng, structure, prior, cpts, 0);
  return { name: structure.name, variables: structure.variables, parents: structure.parents, cpts };
}

/** S CPT sets for one structure: cpts[v] is [S, configs(v), states(v)] row-major. */
export interface CptBatch {
  readonly sets: number;
  readonly cpts: readonly Float64Array[];
}

/** S CPT sets drawn from `prior`; set s uses `rng.fork(s)` (independent of S). */
export function sampleCptBatch(
  rng: Rng,
  structure: Structure,
  prior: CptPrior,
  sets: number,
): CptBatch {
  validatePrior(structure, prior);
  if (!Number.isInteger(sets) || sets < 0) {
    throw new BnformerError("config", `number of CPT sets must be an integer >= 0, got ${sets}`);
  }
  const cards = cardinalities(structure);
  const cpts = cards.map((k, v) => new Float64Array(sets * parentConfigCount(structure, v) * k));
  for (let s = 0; s < sets; s++) fillSet(rng.fork(s), structure, prior, cpts, s);
  return { sets, cpts };
}

/** Set `s` of a batch as a Network whose CPTs are views into the batch (no copy). */
export function networkFromBatch(structure: Structure, batch: CptBatch, s: number): Network {
  if (!Number.isInteger(s) || s < 0 || s >= batch.sets) {
    throw new BnformerError("config", `CPT set ${s} is out of range; the batch has ${batch.sets}`);
  }
  const cpts = batch.cpts.map((all) => {
    const size = all.length / batch.sets;
    return all.subarray(s * size, (s + 1) * size);
  });
  return { name: structure.name, variables: structure.variables, parents: structure.parents, cpts };
}
