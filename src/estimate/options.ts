/**
 * Estimator names and options, validated once at the entry of every estimator:
 * the conditioning set each estimator uses and the Dirichlet pseudo-count it adds.
 *
 * - mle, dirichlet, bdeu, k2 condition on the target's parents in the structure;
 * - naive conditions on every variable before the target in topological order (the
 *   structure-free estimator; for the paper's graphs this is file order);
 * - marginal conditions on nothing;
 * - backoff is implemented in backoff.ts.
 * Pseudo-count per cell: dirichlet alpha; bdeu ess / (configs x states); k2 1; else 0.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { topologicalOrder } from "../bn/network.ts";
import type { UnseenPolicy } from "./policy.ts";
import { DEFAULT_UNSEEN_POLICY, UNSEEN_POLICIES, isUnseenPolicy } from "./policy.ts";
import { configCount } from "./counts.ts";

/** The in-context estimators. */
export type EstimatorName = "mle" | "dirichlet" | "bdeu" | "k2" | "naive" | "marginal" | "backoff";

/** Every estimator name, for option parsing and parametrised tests. */
export const ESTIMATOR_NAMES: readonly EstimatorName[] = [
  "mle",
  "dirichlet",
  "bdeu",
  "k2",
  "naive",
  "marginal",
  "backoff",
];

/** Options of every estimator; `alpha` only for dirichlet, `ess` only for bdeu. */
export interface EstimatorOptions {
  estimator: EstimatorName;
  /** Dirichlet pseudo-count per cell (estimator "dirichlet"); > 0. */
  alpha?: number;
  /** BDeu equivalent sample size (estimator "bdeu"); > 0. */
  ess?: number;
  /** Policy for unseen parent configurations (mle, naive, marginal); default "marginal". */
  unseen?: UnseenPolicy;
}

/** Options with every default filled in. */
export interface ResolvedEstimatorOptions {
  readonly estimator: EstimatorName;
  readonly alpha: number;
  readonly ess: number;
  readonly unseen: UnseenPolicy;
}

/** Default Dirichlet pseudo-count (Laplace smoothing). */
export const DEFAULT_ALPHA = 1;
/** Default BDeu equivalent sample size. */
export const DEFAULT_ESS = 1;

/** True for the estimators that add a Dirichlet prior (their estimate is always defined). */
export function isBayesian(name: EstimatorName): boolean {
  return name === "dirichlet" || name === "bdeu" || name === "k2";
}

/** Checks `opts` and fills defaults; throws BnformerError("config") naming the bad option. */
export function resolveEstimatorOptions(opts: EstimatorOptions): ResolvedEstimatorOptions {
  const name = opts.estimator;
  if (!(ESTIMATOR_NAMES as readonly string[]).includes(name)) {
    throw new BnformerError(
      "config",
      `unknown estimator "${String(name)}"; expected one of ${ESTIMATOR_NAMES.join(", ")}`,
      { path: ["estimator"] },
    );
  }
  checkPositive("alpha", opts.alpha, name, "dirichlet");
  checkPositive("ess", opts.ess, name, "bdeu");
  if (opts.unseen !== undefined && !isUnseenPolicy(opts.unseen)) {
    throw new BnformerError(
      "config",
      `unknown unseen policy "${String(opts.unseen)}"; expected one of ${UNSEEN_POLICIES.join(", ")}`,
      { path: ["unseen"] },
    );
  }
  return {
    estimator: name,
    alpha: opts.alpha ?? DEFAULT_ALPHA,
    ess: opts.ess ?? DEFAULT_ESS,
    unseen: opts.unseen ?? DEFAULT_UNSEEN_POLICY,
  };
}

function checkPositive(
  key: "alpha" | "ess",
  value: number | undefined,
  name: EstimatorName,
  owner: EstimatorName,
): void {
  if (value === undefined) return;
  if (name !== owner) {
    throw new BnformerError(
      "config",
      `option ${key} applies only to estimator "${owner}", not "${name}"`,
      { path: [key] },
    );
  }
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new BnformerError("config", `${key} must be a finite number > 0, got ${String(value)}`, {
      path: [key],
    });
  }
}

/** Throws unless `target` indexes a variable of `structure`. */
export function checkTarget(structure: Structure, target: number): void {
  const m = structure.variables.length;
  if (!Number.isInteger(target) || target < 0 || target >= m) {
    throw new BnformerError(
      "config",
      `target ${target} is out of range; "${structure.name}" has variables 0..${m - 1}`,
      { path: ["target"] },
    );
  }
}

/** The variables before v in the structure's topological order, in that order (naive parents). */
export function naiveConditioning(structure: Structure, v: number): number[] {
  const order = topologicalOrder(structure);
  return order.slice(0, order.indexOf(v));
}

/** The conditioning set estimator `name` uses for target v. */
export function conditioningSet(structure: Structure, v: number, name: EstimatorName): number[] {
  if (name === "naive") return naiveConditioning(structure, v);
  if (name === "marginal") return [];
  return [...structure.parents[v]!];
}

/** Dirichlet pseudo-count added to every cell of v's counts (0 for non-Bayesian estimators). */
export function pseudoCount(
  structure: Structure,
  v: number,
  conditioning: readonly number[],
  opts: ResolvedEstimatorOptions,
): number {
  switch (opts.estimator) {
    case "dirichlet":
      return opts.alpha;
    case "k2":
      return 1;
    case "bdeu":
      return (
        opts.ess / (configCount(structure, conditioning) * structure.variables[v]!.states.length)
      );
    default:
      return 0;
  }
}
