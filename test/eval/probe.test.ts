import { test } from "node:test";
import assert from "node:assert/strict";
import { paperGraph } from "../../src/bn/families.ts";
import { construct } from "../../src/model/construction.ts";
import { constructionModel } from "../../src/model/engine.ts";
import type { ProbeResult } from "../../src/eval/probe.ts";
import { countingHead, distanceOf, rowSubject, runProbe } from "../../src/eval/probe.ts";

const CHAIN = paperGraph("chain5");
const PRIOR = { kind: "uniform", low: 0.1, high: 0.9 } as const;

function probeConstruction(): ProbeResult {
  const c = construct(CHAIN, { eps: 1e-6, maxContext: 100 });
  return runProbe(rowSubject(constructionModel(c), "construction"), {
    structure: CHAIN,
    prior: PRIOR,
    lengths: [20, 100],
    episodes: 12,
    seed: 3,
    interventionLengths: [100],
    mechanism: true,
  });
}

const result = probeConstruction();

test("probe: the construction's layer 2 counts the full parent matches, uniformly", () => {
  assert.deepEqual(countingHead(result), { layer: 2, head: 1 });
  for (const n of [20, 100]) {
    const l2 = result.attention.find((a) => a.n === n && a.layer === 2 && a.node === "all")!;
    assert.ok(l2.fullMass > 0.999, `n=${n}: full-match mass ${l2.fullMass}`);
    assert.ok(l2.withinTv !== null && l2.withinTv < 1e-3, `within TV ${l2.withinTv}`);
    assert.ok(l2.self < 1e-3);
    // Uniform attention would put only the share of fully matching rows there.
    assert.ok(l2.chance < 0.75 && l2.chance > 0.25, `chance ${l2.chance}`);
  }
});

test("probe: per-node masses by agreement and self add up to 1", () => {
  for (const a of result.attention.filter((p) => p.node !== "all")) {
    const total = a.massByAgree.reduce((x, y) => x + y, 0) + a.self;
    assert.ok(Math.abs(total - 1) < 1e-9, `${a.node} L${a.layer}H${a.head}: ${total}`);
  }
});

test("probe: the construction is the MLE; replacing its counter by itself changes nothing", () => {
  const toMle = distanceOf(result, 100, "model", "mle")!;
  assert.ok(toMle < 1e-4, `model-MLE TV ${toMle}`);
  const tv = distanceOf(result, 100, "model", "truth")!;
  const replaced = distanceOf(result, 100, "L2H1 := construction", "truth")!;
  assert.ok(Math.abs(replaced - tv) < 1e-4, `${tv} vs ${replaced}`);
  const mleTv = distanceOf(result, 100, "mle", "truth")!;
  assert.ok(Math.abs(mleTv - tv) < 1e-4, `MLE TV ${mleTv}, model ${tv}`);
  // Without layer 2's attention the counter is gone: the output is no longer the MLE.
  const ablated = distanceOf(result, 100, "no attention 2", "mle")!;
  assert.ok(ablated > 0.05, `ablated model-MLE TV ${ablated}`);
});

test("probe: layer 1's MLP selects exactly the parents (AUROC 1), a non-selective score does not", () => {
  const mlp = result.structure.find((s) => s.score === "MLP 1 sensitivity" && s.n === 100)!;
  assert.equal(mlp.auroc, 1);
  assert.equal(mlp.edges, 4 * 12);
  assert.equal(mlp.pairs, 10 * 12);
  // Layer 1's attention in the construction is a no-op with uniform weights: no lift.
  const lift = result.structure.find((s) => s.score === "attention lift L1H1" && s.n === 100)!;
  assert.ok(lift.auroc !== null && Math.abs(lift.auroc - 0.5) < 0.1, `lift AUROC ${lift.auroc}`);
});

test("probe: each estimator's own TV to the truth is reported", () => {
  for (const e of ["marginal", "naive", "mle", "posterior-mean"]) {
    const tv = distanceOf(result, 100, e, "truth");
    assert.ok(tv !== null && tv > 0 && tv < 0.5, `${e}: ${tv}`);
  }
});

test("probe: the construction's counting head is layer 2's, and rewriting it by itself changes nothing", () => {
  const tv = distanceOf(result, 100, "model", "truth")!;
  const replaced = distanceOf(result, 100, "counting head := construction", "truth")!;
  assert.ok(Math.abs(replaced - tv) < 1e-4, `${tv} vs ${replaced}`);
  const uniform = distanceOf(result, 100, "counting head uniform within matches", "truth")!;
  assert.ok(Math.abs(uniform - tv) < 1e-4, `${tv} vs ${uniform}`);
});
