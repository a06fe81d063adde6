/**
 * Posterior mean of a CPT row under the prior its CPTs were drawn from: the Bayes-optimal
 * estimate (under squared error, and the predictive distribution) that evaluation uses as
 * a baseline. Given the counts c_j of the row's states among n matching context rows:
 *   beta(a) (binary):   P(X=1) = (c_1 + a) / (n + 2a)
 *   dirichlet(a):       P(X=j) = (c_j + a) / (n + K a)
 *   uniform(lo, hi) on P(X=1) (binary):
 *     P(X=1) = int_lo^hi p^(c1+1) (1-p)^(c0) dp / int_lo^hi p^(c1) (1-p)^(c0) dp,
 *   computed in log space (see uniformPosteriorMean); n = 0 gives (lo + hi) / 2.
 *   dirichlet-mixture(alphas, weights): the components' means (c_j + a_l) / (n + K a_l),
 *     averaged with the posterior component weights w_l ML_l(c) / sum_m w_m ML_m(c), where
 *     ML_l is the Dirichlet(a_l) marginal likelihood of the row's counts: exact.
 * logMarginalLikelihood gives the matching evidence of a row (BMA weighs parent sets by it).
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
  const n = checkCounts(prior, counts);
  if (prior.kind === "uniform") {
    const p1 = uniformPosteriorMean(counts[1]!, n, prior.low, prior.high);
    out[offset] = 1 - p1;
    out[offset + 1] = p1;
    return out;
  }
  if (prior.kind === "dirichlet-mixture") {
    const post = mixturePosteriorWeights(prior, counts, n);
    for (let j = 0; j < k; j++) {
      let pj = 0;
      for (let l = 0; l < post.length; l++) {
        const a = prior.alphas[l]!;
        pj += (post[l]! * (counts[j]! + a)) / (n + k * a);
      }
      out[offset + j] = pj;
    }
    return out;
  }
  const a = checkAlpha(prior);
  for (let j = 0; j < k; j++) out[offset + j] = (counts[j]! + a) / (n + k * a);
  return out;
}

/** P(component l | counts) of a dirichlet-mixture prior, from log weights + log evidence. */
export function mixturePosteriorWeights(
  prior: CptPrior & { kind: "dirichlet-mixture" },
  counts: ArrayLike<number>,
  n: number,
): Float64Array {
  const logw = prior.alphas.map(
    (a, l) => Math.log(prior.weights[l]!) + dirichletLogEvidence(a, counts, n),
  );
  const peak = Math.max(...logw);
  const post = Float64Array.from(logw, (x) => Math.exp(x - peak));
  let z = 0;
  for (const x of post) z += x;
  for (let l = 0; l < post.length; l++) post[l]! /= z;
  return post;
}

/** n = the sum of `counts`; throws unless they are finite, >= 0 and fit the prior's kind. */
function checkCounts(prior: CptPrior, counts: ArrayLike<number>): number {
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
  if (prior.kind !== "dirichlet" && prior.kind !== "dirichlet-mixture" && k !== 2) {
    throw new BnformerError(
      "config",
      `the ${prior.kind} prior is for binary variables; got ${k} states (use a dirichlet prior)`,
      { path: ["prior"] },
    );
  }
  return n;
}

/** The alpha of a beta or dirichlet prior; throws unless finite and > 0. */
function checkAlpha(prior: CptPrior & { alpha: number }): number {
  const a = prior.alpha;
  if (!(a > 0) || !Number.isFinite(a)) {
    throw new BnformerError("config", `${prior.kind} alpha must be finite and > 0, got ${a}`, {
      path: ["prior", "alpha"],
    });
  }
  return a;
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
 * E[p | k successes in n, p ~ U(low, high)], stable for large n (see uniformIntegral).
 */
export function uniformPosteriorMean(k: number, n: number, low: number, high: number): number {
  checkUniformArgs(k, n, low, high);
  if (n === 0 || low === high) return (low + high) / 2; // no data, or a point mass: the prior mean
  return Math.min(high, Math.max(low, memoUniformIntegral(k, n, low, high).mean));
}

/**
 * log of int_low^high p^k (1-p)^(n-k) dp and the posterior mean under U(low, high), for
 * 0 < n and low < high. The log integrand k log p + (n-k) log(1-p) is concave, so the mass
 * lies in one interval around the clamped mode where it exceeds its peak minus LOG_CUT;
 * that interval is found by bisection and integrated with GL_PANELS panels of
 * GL_ORDER-point Gauss-Legendre, in log space relative to the peak (no underflow).
 */
function uniformIntegral(
  k: number,
  n: number,
  low: number,
  high: number,
): { logIntegral: number; mean: number } {
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
  return { logIntegral: peak + Math.log(0.5 * h * z), mean: m1 / z };
}

// BMA scores every parent set at every configuration, so the same integer (k, n) pairs come
// back millions of times in an evaluation: remember them (bounded, per prior interval).
const UNIFORM_MEMO = new Map<string, Map<number, { logIntegral: number; mean: number }>>();
const UNIFORM_MEMO_MAX = 1 << 16;
const MEMO_N_LIMIT = 2 ** 20;

/** `uniformIntegral`, remembered for integer counts. */
function memoUniformIntegral(
  k: number,
  n: number,
  low: number,
  high: number,
): { logIntegral: number; mean: number } {
  if (!(Number.isInteger(k) && Number.isInteger(n) && n < MEMO_N_LIMIT))
    return uniformIntegral(k, n, low, high);
  const interval = `${low},${high}`;
  let memo = UNIFORM_MEMO.get(interval);
  if (memo === undefined) {
    if (UNIFORM_MEMO.size >= 16) UNIFORM_MEMO.clear();
    UNIFORM_MEMO.set(interval, (memo = new Map()));
  }
  const key = n * MEMO_N_LIMIT + k;
  let r = memo.get(key);
  if (r === undefined) {
    if (memo.size >= UNIFORM_MEMO_MAX) memo.clear();
    memo.set(key, (r = uniformIntegral(k, n, low, high)));
  }
  return r;
}

function checkUniformArgs(k: number, n: number, low: number, high: number): void {
  if (!(low >= 0 && high <= 1 && low <= high)) {
    throw new BnformerError(
      "config",
      `uniform prior needs 0 <= low <= high <= 1, got [${low}, ${high}]`,
      { path: ["prior"] },
    );
  }
  if (!(k >= 0 && k <= n && Number.isFinite(n))) {
    throw new BnformerError("config", `need 0 <= k <= n (finite), got k=${k}, n=${n}`, {
      path: ["counts"],
    });
  }
}

/**
 * log P(the row's observations | prior): the probability of the observed sequence (no
 * multinomial coefficient) of one CPT row's counts, its parameters integrated out:
 *   beta(a) / dirichlet(a):  lgamma(K a) - lgamma(n + K a) + sum_j [lgamma(c_j + a) - lgamma(a)]
 *   dirichlet-mixture:       log sum_l w_l exp(the dirichlet(a_l) term above)
 *   uniform(lo, hi):         log( int_lo^hi p^c1 (1-p)^c0 dp / (hi - lo) ); for lo = hi,
 *                            the point mass: c1 log lo + c0 log(1 - lo).
 */
export function logMarginalLikelihood(prior: CptPrior, counts: ArrayLike<number>): number {
  const n = checkCounts(prior, counts);
  if (n === 0) return 0;
  if (prior.kind === "uniform") {
    const c1 = counts[1]!;
    checkUniformArgs(c1, n, prior.low, prior.high);
    const { low, high } = prior;
    if (low === high) {
      return (c1 > 0 ? c1 * Math.log(low) : 0) + (n - c1 > 0 ? (n - c1) * Math.log1p(-low) : 0);
    }
    return memoUniformIntegral(c1, n, low, high).logIntegral - Math.log(high - low);
  }
  if (prior.kind === "dirichlet-mixture") {
    const terms = prior.alphas.map(
      (a, l) => Math.log(prior.weights[l]!) + dirichletLogEvidence(a, counts, n),
    );
    const peak = Math.max(...terms);
    return peak + Math.log(terms.reduce((z, t) => z + Math.exp(t - peak), 0));
  }
  return dirichletLogEvidence(checkAlpha(prior), counts, n);
}

/** lgamma(K a) - lgamma(n + K a) + sum_j [lgamma(c_j + a) - lgamma(a)]. */
function dirichletLogEvidence(a: number, counts: ArrayLike<number>, n: number): number {
  const k = counts.length;
  let sum = logGamma(k * a) - logGamma(n + k * a);
  for (let j = 0; j < k; j++) if (counts[j]! > 0) sum += logGamma(counts[j]! + a) - logGamma(a);
  return sum;
}

/** Lanczos coefficients (g = 7, 9 terms): about 15 significant digits for x > 0. */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos; x < 0.5 through Gamma(x) = Gamma(x + 1) / x). */
export function logGamma(x: number): number {
  if (x < 0.5) return logGamma(x + 1) - Math.log(x);
  const z = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
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
