/** The estimator flags (--estimator, --alpha, --ess, --unseen), defined once for fit, generate and predict. */
import type { OptionDef, Parsed } from "./args.ts";
import { num, str } from "./args.ts";
import type { EstimatorName, EstimatorOptions } from "../estimate/index.ts";
import {
  DEFAULT_ALPHA,
  DEFAULT_ESS,
  DEFAULT_UNSEEN_POLICY,
  ESTIMATOR_NAMES,
} from "../estimate/index.ts";
import type { UnseenPolicy } from "../estimate/index.ts";

export const ESTIMATORS: readonly EstimatorName[] = ESTIMATOR_NAMES;

export const estimatorOptions: Record<string, OptionDef> = {
  estimator: { kind: "choice", choices: ESTIMATORS, default: "mle", help: "estimator" },
  alpha: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    help: `Dirichlet pseudo-count per cell (dirichlet; bma's beta/dirichlet prior; default ${DEFAULT_ALPHA})`,
  },
  ess: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    help: `equivalent sample size (bdeu only; default ${DEFAULT_ESS})`,
  },
  unseen: {
    kind: "choice",
    choices: ["uniform", "marginal", "error"],
    default: DEFAULT_UNSEEN_POLICY,
    help: "policy for a parent configuration never seen in the data (mle, naive)",
  },
};

export function estimatorFromArgs(
  args: Parsed,
  name = str(args, "estimator") as EstimatorName,
): EstimatorOptions {
  // Only flags the user gave are passed on, so the estimator rejects one that does not apply.
  const alpha = num(args, "alpha");
  const ess = num(args, "ess");
  return {
    estimator: name,
    unseen: str(args, "unseen") as UnseenPolicy,
    ...(alpha !== undefined ? { alpha } : {}),
    ...(ess !== undefined ? { ess } : {}),
  };
}
