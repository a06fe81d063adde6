/**
 * Training targets: what each query token of a training batch is trained towards.
 *
 * For one context (N rows over a structure) and R query rows, every (query row r, target
 * variable m) pair gets a distribution over m's states (rows r outer, targets inner, the
 * order of `queriesForTargets`):
 * - "prediction": one-hot of the query row's observed value of m (the paper's task; trained
 *   with cross-entropy, its optimum is the posterior predictive under the training prior);
 * - "mle": the in-context MLE of m with the TRUE parents at the query's parent
 *   configuration, the context marginal when that configuration is unseen (unseen policy
 *   "marginal", as the authors' regression target); trained with L1 as the authors did;
 * - "posterior-mean": the posterior mean of m's CPT row at the query's parent configuration
 *   under the training prior, from the in-context counts at the true parents (closed form
 *   for Beta and Dirichlet, quadrature for U(a, b); src/estimate/posterior.ts). Trained with
 *   soft-label cross-entropy (= KL up to a constant): its minimiser is the target itself,
 *   as for L1, but its gradient is smooth; and it is the prediction loss with the observed
 *   one-hot replaced by its conditional expectation given the context (the same optimum,
 *   without the label noise). docs/training.md gives the measured comparison.
 * Counting goes through src/estimate/batch.ts (one counting pass per context for every
 * query row and every node).
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { cardinalities } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import type { CptPrior } from "../bn/priors.ts";
import type { BatchEstimate } from "../estimate/batch.ts";
import { batchCounts, batchEstimate, batchPosteriorMean } from "../estimate/batch.ts";
import type { LossKind } from "./loss.ts";

/** What a query token is trained towards; see the module header. */
export type TargetKind = "prediction" | "mle" | "posterior-mean";

/** Every target kind, for option parsing. */
export const TARGET_KINDS: readonly TargetKind[] = ["prediction", "mle", "posterior-mean"];

/** The loss each target is trained with by default (see the module header for why). */
export function defaultLossFor(target: TargetKind): LossKind {
  return target === "mle" ? "l1" : "cross-entropy";
}

/** Throws a "config" error unless `t` names a target kind. */
export function checkTargetKind(t: unknown): asserts t is TargetKind {
  if (!(TARGET_KINDS as readonly unknown[]).includes(t)) {
    throw new BnformerError(
      "config",
      `unknown training target ${JSON.stringify(t)}; expected one of ${TARGET_KINDS.join(", ")}`,
      { path: ["task", "target"] },
    );
  }
}

/** One context and its query rows, over `structure`. */
export interface TargetInput {
  readonly structure: Structure;
  readonly context: Dataset;
  /** R complete query rows (no MISSING). */
  readonly queryRows: Dataset;
  /** The target variables of every query row, in query order. */
  readonly targets: readonly number[];
}

/**
 * Writes the (R x targets.length) target rows of width O into `out` starting at row `row`
 * (entries beyond a target's cardinality are 0). `prior` is needed by "posterior-mean".
 */
export function writeTargets(
  kind: TargetKind,
  input: TargetInput,
  prior: CptPrior,
  O: number,
  out: Float32Array,
  row: number,
): void {
  const { structure, queryRows, targets } = input;
  const M = structure.variables.length;
  const cards = cardinalities(structure);
  if (kind === "prediction") {
    for (let r = 0; r < queryRows.rows; r++) {
      for (let i = 0; i < targets.length; i++) {
        const m = targets[i]!;
        const x = queryRows.data[r * M + m]!;
        if (!(x < cards[m]!)) throw badQuery(structure, r, m, x);
        const at = (row + r * targets.length + i) * O;
        out.fill(0, at, at + O);
        out[at + x] = 1;
      }
    }
    return;
  }
  const est = estimateAtQueries(kind, input, prior);
  const offs = est.stateOffsets;
  const K = offs[M]!;
  for (let r = 0; r < queryRows.rows; r++) {
    for (let i = 0; i < targets.length; i++) {
      const m = targets[i]!;
      const at = (row + r * targets.length + i) * O;
      out.fill(0, at, at + O);
      for (let s = 0; s < cards[m]!; s++) out[at + s] = est.probs[r * K + offs[m]! + s]!;
    }
  }
}

/** The context repeated once per query row, counted once at length N: [R, 1, K] estimates. */
function estimateAtQueries(
  kind: "mle" | "posterior-mean",
  input: TargetInput,
  prior: CptPrior,
): BatchEstimate {
  const { structure, context, queryRows } = input;
  const R = queryRows.rows;
  const size = context.rows * context.vars;
  const contexts = new Uint8Array(R * size); // [R, N, M]
  for (let r = 0; r < R; r++) contexts.set(context.data.subarray(0, size), r * size);
  const counts = batchCounts({
    structure,
    contexts,
    queries: queryRows.data.subarray(0, R * context.vars),
    episodes: R,
    rows: context.rows,
    lengths: [context.rows],
  });
  return kind === "mle"
    ? batchEstimate(counts, { estimator: "mle", unseen: "marginal" })
    : batchPosteriorMean(counts, prior);
}

function badQuery(s: Structure, r: number, m: number, x: number): BnformerError {
  return new BnformerError(
    "data",
    `query row ${r}: state ${x} of "${s.variables[m]!.name}" is not one of its ${s.variables[m]!.states.length} states`,
    { path: ["task", "queries", `row ${r}`] },
  );
}

/**
 * (Q, O) validity mask: 1 on the states the query's target really has. Null when every
 * target has O states (then every entry is valid).
 */
export function validMask(
  cards: readonly number[],
  targets: readonly number[],
  queriesPerTarget: number,
  O: number,
): Uint8Array | null {
  if (targets.every((m) => cards[m] === O)) return null;
  const out = new Uint8Array(queriesPerTarget * targets.length * O);
  for (let q = 0; q < queriesPerTarget * targets.length; q++) {
    const k = cards[targets[q % targets.length]!]!;
    out.fill(1, q * O, q * O + k);
  }
  return out;
}
