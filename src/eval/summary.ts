/**
 * Summaries of protocol cells across replicate seeds, shared by the outputs, the figures
 * and the report so that all three show the same numbers.
 *
 * - summarizeSeeds: per (method, length, node), the mean over seeds of the per-seed mean
 *   TV, its sample sd over seeds (null with one seed), and the standard error of that mean
 *   from the episodes alone, sqrt(sum_s se_s^2) / seeds.
 * - summarizeRatios: per seed, method TV / reference TV on the same episodes, then mean and
 *   sd over seeds; null where the reference TV is 0.
 * - band: the uncertainty band drawn and printed: ± sd over seeds when there are at least
 *   two seeds, otherwise ± 2 standard errors over episodes.
 */
import type { TvCell } from "./protocol.ts";

/** One (method, length, node) across seeds. */
export interface TvSummary {
  readonly method: string;
  readonly length: number;
  readonly node: string;
  readonly mean: number;
  /** Sample sd over seeds; null with one seed. */
  readonly sd: number | null;
  /** Standard error of `mean` from episode noise alone. */
  readonly se: number;
  readonly seeds: number;
  readonly unseenFraction: number;
  readonly fallbackFraction: number | null;
}

/** Method TV over reference TV, per seed, then across seeds. */
export interface RatioSummary {
  readonly method: string;
  readonly reference: string;
  readonly length: number;
  readonly node: string;
  /** Mean over seeds of the per-seed ratio; null when a reference TV is 0. */
  readonly mean: number | null;
  readonly sd: number | null;
  readonly seeds: number;
}

/** A band around a mean and what it is. */
export interface Band {
  readonly low: number;
  readonly high: number;
  readonly kind: "sd" | "2se";
}

/** Mean and sample sd (null for fewer than two values). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number | null } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: null };
  const ss = xs.reduce((a, x) => a + (x - mean) * (x - mean), 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)) };
}

/**
 * Whether `ratio` (a method's TV over a reference's) meets "at most `factor`x the reference".
 * A relative 1e-9 absorbs the rounding of the division, so a ratio of exactly 1.10 meets
 * 1.10 (1.1099 / 1.009 is 1.1000000000000003 in floating point).
 */
export function meetsTarget(ratio: number | null, factor: number): boolean {
  return ratio !== null && Number.isFinite(ratio) && ratio <= factor * (1 + 1e-9);
}

/** Cells grouped by (method, length, node), keeping first-seen order. */
function groupCells(cells: readonly TvCell[]): TvCell[][] {
  const groups = new Map<string, TvCell[]>();
  for (const c of cells) {
    const key = JSON.stringify([c.method, c.length, c.node]);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(c);
  }
  return [...groups.values()];
}

/** Per (method, length, node): mean ± sd over seeds (see the module header). */
export function summarizeSeeds(cells: readonly TvCell[]): TvSummary[] {
  return groupCells(cells).map((g) => {
    const first = g[0]!;
    const { mean, sd } = meanSd(g.map((c) => c.tvMean));
    const se = Math.sqrt(g.reduce((a, c) => a + c.tvSe * c.tvSe, 0)) / g.length;
    const fb = g.map((c) => c.fallbackFraction);
    return {
      method: first.method,
      length: first.length,
      node: first.node,
      mean,
      sd,
      se,
      seeds: g.length,
      unseenFraction: meanSd(g.map((c) => c.unseenFraction)).mean,
      fallbackFraction: fb.every((x) => x !== null) ? meanSd(fb as number[]).mean : null,
    };
  });
}

/** Ratios of every other method to `reference` (empty when the run lacks the reference). */
export function summarizeRatios(cells: readonly TvCell[], reference: string): RatioSummary[] {
  const ref = new Map<string, number>();
  for (const c of cells) {
    if (c.method === reference) ref.set(JSON.stringify([c.seed, c.length, c.node]), c.tvMean);
  }
  if (ref.size === 0) return [];
  return groupCells(cells.filter((c) => c.method !== reference)).map((g) => {
    const ratios = g.map((c) => c.tvMean / ref.get(JSON.stringify([c.seed, c.length, c.node]))!);
    const finite = ratios.every(Number.isFinite);
    const { mean, sd } = meanSd(ratios);
    return {
      method: g[0]!.method,
      reference,
      length: g[0]!.length,
      node: g[0]!.node,
      mean: finite ? mean : null,
      sd: finite ? sd : null,
      seeds: g.length,
    };
  });
}

/** ± sd over seeds, or ± 2 SE when there is one seed; the low end is clamped at 0. */
export function band(s: TvSummary): Band {
  const half = s.sd ?? 2 * s.se;
  return {
    low: Math.max(0, s.mean - half),
    high: s.mean + half,
    kind: s.sd === null ? "2se" : "sd",
  };
}
