// The verdicts of the pretrained evaluation on hand-made numbers: a ratio of exactly the
// factor is met, one just above it missed, a zero reference gives no ratio (missed), and
// each target is checked against its own reference and factor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { meetsTarget } from "../../src/eval/summary.ts";
import type { PretrainedPoint, PretrainedTarget } from "../../src/eval/pretrained.ts";
import { MODEL, checkOf, pretrainedChecks } from "../../src/eval/pretrained.ts";

function point(
  target: PretrainedTarget,
  length: number,
  method: string,
  seed: number,
  tv: number,
): PretrainedPoint {
  return { target, network: "net", length, method, seed, tv, episodes: 10, generatorTv: null };
}

test("meetsTarget: a ratio of exactly the factor is met, 1.11 against 1.10 is missed", () => {
  assert.ok(1.1099 / 1.009 > 1.1); // the rounding the tolerance absorbs
  assert.equal(meetsTarget(1.1099 / 1.009, 1.1), true);
  assert.equal(meetsTarget(1.1, 1.1), true);
  assert.equal(meetsTarget(1.11, 1.1), false);
  assert.equal(meetsTarget(1.1001, 1.1), false);
  assert.equal(meetsTarget(null, 1.1), false);
  assert.equal(meetsTarget(Infinity, 1.1), false);
});

test("checkOf: per-seed ratios, mean and sd over seeds, then the verdict", () => {
  const met = checkOf(
    [
      point("held-out", 10, MODEL, 0, 0.11),
      point("held-out", 10, "posterior-mean", 0, 0.1),
      point("held-out", 10, MODEL, 1, 0.33),
      point("held-out", 10, "posterior-mean", 1, 0.3),
    ],
    "held-out",
    "net",
    10,
    "posterior-mean",
    1.1,
  );
  assert.ok(Math.abs(met.ratio! - 1.1) < 1e-12);
  assert.ok(met.ratioSd! < 1e-12);
  assert.ok(Math.abs(met.modelTv.mean - 0.22) < 1e-12);
  assert.ok(Math.abs(met.referenceTv.mean - 0.2) < 1e-12);
  assert.equal(met.met, true);

  const missed = checkOf(
    [point("held-out", 10, MODEL, 0, 0.111), point("held-out", 10, "posterior-mean", 0, 0.1)],
    "held-out",
    "net",
    10,
    "posterior-mean",
    1.1,
  );
  assert.ok(Math.abs(missed.ratio! - 1.11) < 1e-12);
  assert.equal(missed.ratioSd, null);
  assert.equal(missed.met, false);

  const zero = checkOf(
    [point("real", 50, MODEL, 0, 0.1), point("real", 50, "mle", 0, 0)],
    "real",
    "net",
    50,
    "mle",
    1,
  );
  assert.equal(zero.ratio, null);
  assert.equal(zero.met, false);
});

test("pretrainedChecks: each target against its reference and factor", () => {
  const points: PretrainedPoint[] = [];
  const both = (target: PretrainedTarget, n: number, ref: string, model: number, r: number) =>
    points.push(point(target, n, MODEL, 0, model), point(target, n, ref, 0, r));
  both("held-out", 10, "posterior-mean", 0.2, 0.2);
  points.push(point("held-out", 10, "mle", 0, 0.1)); // not the reference of target 1
  both("length", 1000, "mle", 0.115, 0.1);
  both("real", 50, "mle", 0.101, 0.1); // 1.01 > 1.00 at the small length
  both("real", 500, "mle", 0.101, 0.1); // 1.01 <= 1.15 at the large length
  both("generation", 500, "mle", 0.12, 0.1);
  const checks = pretrainedChecks(
    { heldOutLengths: [10], longLengths: [1000], realLengths: [500, 50] },
    points,
  );
  const by = (t: PretrainedTarget, n: number) =>
    checks.find((c) => c.target === t && c.length === n)!;
  assert.equal(checks.length, 5);
  assert.deepEqual(
    [by("held-out", 10).reference, by("held-out", 10).factor, by("held-out", 10).met],
    ["posterior-mean", 1.1, true],
  );
  assert.deepEqual([by("length", 1000).factor, by("length", 1000).met], [1.15, true]);
  assert.deepEqual([by("real", 50).factor, by("real", 50).met], [1, false]);
  assert.deepEqual([by("real", 500).factor, by("real", 500).met], [1.15, true]);
  assert.deepEqual([by("generation", 500).factor, by("generation", 500).met], [1.1, false]);
});
