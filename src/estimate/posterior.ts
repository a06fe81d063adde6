/**
 * Posterior mean of a CPT row under the prior its CPTs were drawn from: the Bayes-optimal
 * estimate (under squared error, and the predictive distribution) that evaluation uses as
 * a baseline. Given the counts c_j of the row's states among n matching context rows:
 *   beta(a) (binary):   P(X=1) = (c_1 + a) / (n + 2a)
 *   dirichlet(a):       P(X=j) = (c_j + a) / (n + K a)
 *   uniform(lo, hi) on P(X=1) (binary):
 *     P(X=1) = int_lo^hi p^(c1+1) (1-p)^(c0) dp / int_lo^hi p^(c1) (1-p)^(c0) dp,
 *   computed in log space (see uniformPosteriorMean); n = 0 gives (lo + hi) / 2.
 */
import { BnformerError } from "../errors.ts";
import type { CptPrior } from "../bn/priors.ts";

/** Posterior-mean distribution over the K = counts.length states under `prior`. */
export function posteriorMean(
  prior: CptPrior,
  counts: ArrayLike<number>,
  out: Float64Array = new Float64Array(counts.length),
  offset = 0,
): Float64Array {
  const k = counts.length;
  let n = 0;
  for (let j = 0; j < k; j++) {
    const c = counts[j]!;
    if (!(c >= 0) || !Number.isFinite(c)) {
      throw new BnformerError("config", `count ${j} is ${c}; counts must be finite and >= 0`, {
        path: ["counts"],
      });
    }
    n += c;
  }
  if (prior.kind !== "dirichlet" && k !== 2) {
    throw new BnformerError(
      "config",
      `the ${prior.kind} prior is for binary variables; got ${k} states (use a dirichlet prior)`,
      { path: ["prior"] },
    );
  }
  if (prior.kind === "uniform") {
    const p1 = uniformPosteriorMean(counts[1]!, n, prior.low, prior.high);
    out[offset] = 1 - p1;
    out[offset + 1] = p1;
    return out;
  }
  const a = prior.alpha;
  if (!(a > 0) || !Number.isFinite(a)) {
    throw new BnformerError("config", `${prior.kind} alpha must be finite and > 0, got ${a}`, {
      path: ["prior", "alpha"],
    });
  }
  for (let j = 0; j < k; j++) out[offset + j] = (counts[j]! + a) / (n + k * a);
  return out;
}

/** Gauss-Legendre order per panel and panel count of the uniform-prior quadrature. */
const GL_ORDER = 20;
const GL_PANELS = 8;
/** The integrand is cut where it falls below e^-LOG_CUT of its peak (relative mass < 1e-20). */
const LOG_CUT = 46;
/** Bisection steps locating the cut points (interval shrinks by 2^-BISECT_STEPS). */
const BISECT_STEPS = 40;
/** Computed once at load: a constant table, not state. */
const GL = gaussLegendre(GL_ORDER);

/**
 * E[p | k successes in n, p ~ U(low, high)], stable for large n: the log integrand
 * k log p + (n-k) log(1-p) is concave, so the mass lies in one interval around the clamped
 * mode where it exceeds its peak minus LOG_CUT; that interval is found by bisection and
 * integrated with GL_PANELS panels of GL_ORDER-point Gauss-Legendre, in log space relative
 * to the peak (no underflow).
 */
export function uniformPosteriorMean(k: number, n: number, low: number, high: number): number {
  if (!(low >= 0 && high <= 1 && low <= high)) {
    throw new BnformerError(
      "config",
      `uniform prior needs 0 <= low <= high <= 1, got [${low}, ${high}]`,
      {
        path: ["prior"],
      },
    );
  }
  if (!(k >= 0 && k <= n && Number.isFinite(n))) {
    throw new BnformerError("config", `need 0 <= k <= n (finite), got k=${k}, n=${n}`, {
      path: ["counts"],
    });
  }
  if (n === 0 || low === high) return (low + high) / 2; // no data, or a point mass: the prior mean
  const logf = (p: number): number =>
    (k > 0 ? k * Math.log(p) : 0) + (n - k > 0 ? (n - k) * Math.log1p(-p) : 0);
  const mode = Math.min(high, Math.max(low, k / n));
  const cut = logf(mode) - LOG_CUT;
  const left = logf(low) >= cut ? low : bisect(logf, cut, low, mode);
  const right = logf(high) >= cut ? high : bisect(logf, cut, high, mode);
  const peak = logf(mode);
  const [nodes, weights] = GL;
  const h = (right - left) / GL_PANELS;
  let z = 0;
  let m1 = 0;
  for (let panel = 0; panel < GL_PANELS; panel++) {
    const mid = left + (panel + 0.5) * h;
    for (let i = 0; i < GL_ORDER; i++) {
      const p = mid + 0.5 * h * nodes[i]!;
      const w = weights[i]! * Math.exp(logf(p) - peak);
      z += w;
      m1 += w * p;
    }
  }
  return Math.min(high, Math.max(low, m1 / z));
}

/** The point between `outside` (below cut) and `inside` (above cut) where logf = cut. */
function bisect(logf: (p: number) => number, cut: number, outside: number, inside: number): number {
  let a = outside;
  let b = inside;
  for (let i = 0; i < BISECT_STEPS; i++) {
    const mid = 0.5 * (a + b);
    if (logf(mid) >= cut) b = mid;
    else a = mid;
  }
  return a; // the outer end, so the kept interval errs on the side of more mass
}

/** Nodes and weights of n-point Gauss-Legendre on [-1, 1] (Newton on P_n). */
function gaussLegendre(n: number): [Float64Array, Float64Array] {
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = t;
      for (let j = 2; j <= n; j++) {
        const p2 = ((2 * j - 1) * t * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (t * p1 - p0)) / (t * t - 1);
      const dt = p1 / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-16) break;
    }
    x[i] = t;
    w[i] = 2 / ((1 - t * t) * dp * dp);
  }
  return [x, w];
}
