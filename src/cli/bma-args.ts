/**
 * The flags of the BMA engine (predict/generate --engine bma, and `bnformer structure`):
 * the structure prior (--edge-prob, --max-parents) and the CPT prior with train's flag names
 * (--prior, --low, --high, --alpha). They have no parser defaults, so a flag given to an
 * engine that does not use it can be refused (`rejectBmaFlags`).
 */
import type { OptionDef, Parsed } from "./args.ts";
import { num, str } from "./args.ts";
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import type { CptPrior, SimplePriorKind } from "../bn/priors.ts";
import { DEFAULT_BINARY_PRIOR } from "../bn/priors.ts";
import type { BmaOptions } from "../estimate/index.ts";
import { DEFAULT_ALPHA, DEFAULT_EDGE_PROB, defaultBmaPrior } from "../estimate/index.ts";

const { low: DEFAULT_LOW, high: DEFAULT_HIGH } = DEFAULT_BINARY_PRIOR as Extract<
  CptPrior,
  { kind: "uniform" }
>;

/** Every BMA flag but --alpha (which predict and generate share with the dirichlet estimator). */
export const bmaOptions: Record<string, OptionDef> = {
  "edge-prob": {
    kind: "number",
    min: 0,
    help: `bma: prior probability that an earlier variable is a parent, in [0, 1] (default ${DEFAULT_EDGE_PROB})`,
  },
  "max-parents": {
    kind: "int",
    min: 0,
    help: "bma: largest parent set (default: no limit)",
  },
  prior: {
    kind: "choice",
    choices: ["uniform", "beta", "dirichlet"],
    help: "bma: CPT prior (default uniform for binary networks, dirichlet otherwise)",
  },
  low: {
    kind: "number",
    min: 0,
    help: `bma uniform prior: lower end of P(X=1) (default ${DEFAULT_LOW})`,
  },
  high: {
    kind: "number",
    min: 0,
    help: `bma uniform prior: upper end of P(X=1) (default ${DEFAULT_HIGH})`,
  },
};

/** --alpha for commands without the estimator flags (`bnformer structure`). */
export const bmaAlphaOption: Record<string, OptionDef> = {
  alpha: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    help: `bma beta/dirichlet prior alpha (default ${DEFAULT_ALPHA})`,
  },
};

/** The BMA options the flags give for `structure`; a prior flag its prior lacks is refused. */
export function bmaFromArgs(args: Parsed, structure: Structure): BmaOptions {
  if (args.values.ess !== undefined) {
    throw new BnformerError("config", "--ess applies only to the bdeu estimator, not bma");
  }
  const maxParents = num(args, "max-parents");
  return {
    edgeProb: num(args, "edge-prob") ?? DEFAULT_EDGE_PROB,
    ...(maxParents !== undefined ? { maxParents } : {}),
    prior: priorFromArgs(args, structure),
  };
}

function priorFromArgs(args: Parsed, structure: Structure): CptPrior {
  const kind = (str(args, "prior") ?? defaultBmaPrior(structure).kind) as SimplePriorKind;
  const given = (flag: string) => num(args, flag) !== undefined;
  const stray = kind === "uniform" ? ["alpha"] : ["low", "high"];
  for (const flag of stray) {
    if (given(flag)) {
      throw new BnformerError("config", `--${flag} does not apply to the ${kind} CPT prior`);
    }
  }
  if (kind === "uniform") {
    return { kind, low: num(args, "low") ?? DEFAULT_LOW, high: num(args, "high") ?? DEFAULT_HIGH };
  }
  return { kind, alpha: num(args, "alpha") ?? DEFAULT_ALPHA };
}

/** Throws unless every BMA-only flag is absent (for engines other than bma). */
export function rejectBmaFlags(args: Parsed, engine: string): void {
  for (const flag of Object.keys(bmaOptions)) {
    if (args.values[flag] !== undefined) {
      throw new BnformerError("config", `--${flag} applies only to --engine bma, not ${engine}`);
    }
  }
}
