import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyUnseenPolicy,
  DEFAULT_UNSEEN_POLICY,
  isUnseenPolicy,
  UNSEEN_POLICIES,
} from "../../src/estimate/policy.ts";
import type { UnseenSite } from "../../src/estimate/policy.ts";
import { BnformerError } from "../../src/errors.ts";

const structure = {
  name: "s",
  variables: [
    { name: "A", states: ["lo", "hi"] },
    { name: "B", states: ["no", "yes", "maybe"] },
    { name: "C", states: ["x", "y", "z"] },
  ],
  parents: [[], [], [0, 1]],
};
const site: UnseenSite = {
  structure,
  target: 2,
  conditioning: [0, 1],
  states: [1, 2],
  contextRows: 7,
};

test("the default policy is the context marginal", () => {
  assert.equal(DEFAULT_UNSEEN_POLICY, "marginal");
  assert.deepEqual([...UNSEEN_POLICIES].sort(), ["error", "marginal", "uniform"]);
  assert.ok(isUnseenPolicy("uniform"));
  assert.ok(!isUnseenPolicy("mle"));
});

test("marginal normalises the target's context counts", () => {
  assert.deepEqual(Array.from(applyUnseenPolicy("marginal", [1, 3, 0], site)), [0.25, 0.75, 0]);
});

test("marginal with no observed target falls back to uniform", () => {
  assert.deepEqual(Array.from(applyUnseenPolicy("marginal", [0, 0, 0], site)), [
    1 / 3,
    1 / 3,
    1 / 3,
  ]);
});

test("uniform ignores the counts", () => {
  assert.deepEqual(Array.from(applyUnseenPolicy("uniform", [1, 3, 0], site)), [
    1 / 3,
    1 / 3,
    1 / 3,
  ]);
});

test("the policy writes into a given array at an offset", () => {
  const out = new Float64Array(5).fill(-1);
  applyUnseenPolicy("marginal", [2, 2, 0], site, out, 1);
  assert.deepEqual(Array.from(out), [-1, 0.5, 0.5, 0, -1]);
});

test("the counts may be read from an offset of a larger array", () => {
  const out = applyUnseenPolicy("marginal", [9, 9, 1, 3, 0, 9], site, undefined, 0, 2, 3);
  assert.deepEqual(Array.from(out), [0.25, 0.75, 0]);
});

test("error names the variable and the configuration with state names", () => {
  assert.throws(
    () => applyUnseenPolicy("error", [1, 1, 1], () => site),
    (e: unknown) =>
      e instanceof BnformerError &&
      e.code === "estimate" &&
      e.message ===
        'estimate > C: parent configuration (A=hi, B=maybe) of "C" occurs in none of the 7 context rows, so its MLE is undefined (unseen policy "error"); set unseen: "marginal" or unseen: "uniform" or estimator: "bdeu" to get an estimate',
  );
});

test("error for a variable without conditioning says it is never observed", () => {
  assert.throws(
    () => applyUnseenPolicy("error", [0, 0], { ...site, target: 0, conditioning: [], states: [] }),
    /"A" is observed in none of the 7 context rows/,
  );
});
