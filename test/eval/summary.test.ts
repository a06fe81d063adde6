// Hand-computed checks of the numbers every table, figure and verdict is built from: the
// sample (n - 1) sd over seeds, the per-seed ratio, and the band. Each input is chosen so
// that the usual slips (population sd, ratio of means, no clamp) give another answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TvCell } from "../../src/eval/scoring.ts";
import { band, meanSd, summarizeRatios, summarizeSeeds } from "../../src/eval/summary.ts";

const close = (a: number | null, b: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: ${a} != ${b}`);

function cell(method: string, seed: number, tvMean: number, tvSe = 0.01): TvCell {
  return {
    method,
    seed,
    length: 10,
    node: "A",
    tvMean,
    tvSe,
    unseenFraction: 0.25 * seed,
    fallbackFraction: null,
    episodes: 100,
  };
}

test("meanSd is the sample sd (divides by n - 1), null below two values", () => {
  // 1, 2, 3, 4: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5;
  // sample sd sqrt(5 / 3) = 1.2910, population sd sqrt(5 / 4) = 1.1180
  const { mean, sd } = meanSd([1, 2, 3, 4]);
  close(mean, 2.5, "mean");
  close(sd, Math.sqrt(5 / 3), "sd");
  assert.deepEqual(meanSd([0.7]), { mean: 0.7, sd: null });
});

test("summarizeSeeds: mean and sample sd over seeds, SE from the episodes", () => {
  // TV 0.1, 0.2, 0.6: mean 0.3, squared deviations 0.04 + 0.01 + 0.09 = 0.14, sd sqrt(0.07);
  // SE 0.03, 0.04, 0.12: sqrt(0.0009 + 0.0016 + 0.0144) / 3 = 0.13 / 3
  const [s, ...rest] = summarizeSeeds([
    cell("m", 0, 0.1, 0.03),
    cell("m", 1, 0.2, 0.04),
    cell("m", 2, 0.6, 0.12),
  ]);
  assert.equal(rest.length, 0);
  close(s!.mean, 0.3, "mean");
  close(s!.sd, Math.sqrt(0.07), "sd");
  close(s!.se, 0.13 / 3, "se");
  close(s!.unseenFraction, 0.25, "unseen fraction");
  assert.equal(s!.seeds, 3);
});

test("summarizeRatios averages the per-seed ratios, not the ratio of the means", () => {
  // seed 0: 0.2 / 0.1 = 2; seed 1: 0.3 / 0.2 = 1.5; mean 1.75, sd sqrt(2 * 0.25^2 / 1);
  // the ratio of the means would be 0.25 / 0.15 = 1.667
  const cells = [cell("ref", 0, 0.1), cell("ref", 1, 0.2), cell("m", 0, 0.2), cell("m", 1, 0.3)];
  const [r, ...rest] = summarizeRatios(cells, "ref");
  assert.equal(rest.length, 0);
  assert.equal(r!.method, "m");
  close(r!.mean, 1.75, "mean");
  close(r!.sd, Math.sqrt(0.125), "sd");
  // a zero reference TV makes the ratio undefined, not infinite
  const zero = summarizeRatios([cell("ref", 0, 0), cell("m", 0, 0.2)], "ref");
  assert.equal(zero[0]!.mean, null);
});

test("band: ± sample sd with two or more seeds, ± 2 SE with one, clamped at 0", () => {
  const three = summarizeSeeds([cell("m", 0, 0.1), cell("m", 1, 0.2), cell("m", 2, 0.6)])[0]!;
  const b = band(three);
  assert.equal(b.kind, "sd");
  close(b.high, 0.3 + Math.sqrt(0.07), "high");
  close(b.low, 0.3 - Math.sqrt(0.07), "low");
  const one = summarizeSeeds([cell("m", 0, 0.1, 0.02)])[0]!;
  assert.equal(one.sd, null);
  assert.deepEqual(band(one), { low: 0.1 - 0.04, high: 0.1 + 0.04, kind: "2se" });
  const wide = summarizeSeeds([cell("m", 0, 0.01), cell("m", 1, 0.29)])[0]!;
  // mean 0.15, sd sqrt(2 * 0.14^2) = 0.19799: the low end 0.15 - 0.198 < 0 is clamped to 0
  close(wide.sd, Math.sqrt(2 * 0.14 * 0.14), "sd");
  assert.equal(band(wide).low, 0);
  close(band(wide).high, 0.15 + Math.sqrt(2 * 0.14 * 0.14), "high");
});
