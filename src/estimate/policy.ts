/**
 * What an in-context estimate is when the query's parent configuration never occurs in
 * the context (the MLE's 0/0): the single home of that decision, used by every estimator
 * and by evaluation.
 *
 * Policies:
 * - "marginal" (default): the context marginal of the target, i.e. its counts over every
 *   context row where it is observed, normalised. It is the best guess that uses no
 *   structure; it is what the authors' regression target falls back to; and it is what
 *   the transformer construction's softmax counter does when no row matches any parent
 *   (all scores equal, so attention is uniform over the context). When the target is
 *   never observed either, it is uniform.
 * - "uniform": 1/k for each of the target's k states.
 * - "error": throw BnformerError("estimate") naming the variable and the configuration.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";

/** What to return for a parent configuration that the context never shows. */
export type UnseenPolicy = "uniform" | "marginal" | "error";

/** Every policy, for option parsing and parametrised tests. */
export const UNSEEN_POLICIES: readonly UnseenPolicy[] = ["marginal", "uniform", "error"];

/** The project's default: the context marginal of the target (see the module header). */
export const DEFAULT_UNSEEN_POLICY: UnseenPolicy = "marginal";

/** True when `s` names a policy. */
export function isUnseenPolicy(s: unknown): s is UnseenPolicy {
  return typeof s === "string" && (UNSEEN_POLICIES as readonly string[]).includes(s);
}

/** Where an unseen configuration occurred: enough to name it in an error. */
export interface UnseenSite {
  readonly structure: Structure;
  readonly target: number;
  /** The conditioning variables (the target's parents, or the naive prefix). */
  readonly conditioning: readonly number[];
  /** State indices of `conditioning` at the query, aligned with it. */
  readonly states: ArrayLike<number>;
  /** Context rows that were searched (for the message). */
  readonly contextRows: number;
}

/**
 * The fallback distribution for an unseen parent configuration, written into
 * `out[offset .. offset + k)` (a new array of length k when `out` is omitted) and returned. `marginalCounts[countsOffset + j]` counts the
 * context rows whose target is observed in state j (k defaults to the rest of the array).
 * `site` may be a function so that hot loops build it only when "error" throws.
 */
export function applyUnseenPolicy(
  policy: UnseenPolicy,
  marginalCounts: ArrayLike<number>,
  site: UnseenSite | (() => UnseenSite),
  out?: Float64Array,
  offset = 0,
  countsOffset = 0,
  k = marginalCounts.length - countsOffset,
): Float64Array {
  if (policy === "error") throw unseenError(typeof site === "function" ? site() : site);
  const dst = out ?? new Float64Array(k);
  let total = 0;
  if (policy === "marginal") for (let j = 0; j < k; j++) total += marginalCounts[countsOffset + j]!;
  if (total > 0) {
    for (let j = 0; j < k; j++) dst[offset + j] = marginalCounts[countsOffset + j]! / total;
  } else {
    for (let j = 0; j < k; j++) dst[offset + j] = 1 / k;
  }
  return dst;
}

/** The error of policy "error": names the variable and the configuration with state names. */
function unseenError(site: UnseenSite): BnformerError {
  const vars = site.structure.variables;
  const name = vars[site.target]!.name;
  const cfg = site.conditioning
    .map((p, i) => `${vars[p]!.name}=${vars[p]!.states[site.states[i]!] ?? "?"}`)
    .join(", ");
  const what =
    site.conditioning.length === 0
      ? `"${name}" is observed in none of the ${site.contextRows} context rows`
      : `parent configuration (${cfg}) of "${name}" occurs in none of the ${site.contextRows} context rows`;
  return new BnformerError(
    "estimate",
    `${what}, so its MLE is undefined (unseen policy "error")`,
    { path: ["estimate", name] },
    {
      hint: {
        fixes: [
          { option: "unseen", value: "marginal" },
          { option: "unseen", value: "uniform" },
          { option: "estimator", value: "bdeu" },
        ],
        effect: "to get an estimate",
      },
    },
  );
}
