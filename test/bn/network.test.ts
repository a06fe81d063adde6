import { test } from "node:test";
import assert from "node:assert/strict";
import type { Network } from "../../src/bn/network.ts";
import { topologicalOrder, validateNetwork, freeParameterCount } from "../../src/bn/network.ts";
import { parentConfigIndex, decodeParentConfig, parentStrides } from "../../src/bn/cpt.ts";

const v = (name: string, states = ["a", "b"]) => ({ name, states });

test("a cycle is named in the error", () => {
  const s = { name: "c", variables: [v("A"), v("B"), v("C")], parents: [[2], [0], [1]] };
  assert.throws(
    () => topologicalOrder(s),
    /cycle: (A -> B -> C -> A|B -> C -> A -> B|C -> A -> B -> C)/,
  );
});

test("topological order is stable: file order among ready variables", () => {
  const s = { name: "t", variables: [v("C"), v("A"), v("B")], parents: [[1, 2], [], []] };
  assert.deepEqual(topologicalOrder(s), [1, 2, 0]);
});

test("parent configurations are mixed-radix with the last parent fastest", () => {
  const s = {
    name: "t",
    variables: [v("A", ["0", "1", "2"]), v("B"), v("C")],
    parents: [[], [], [0, 1]],
  };
  assert.deepEqual(Array.from(parentStrides(s, 2)), [2, 1]);
  assert.equal(parentConfigIndex(s, 2, [2, 1, 0]), 5);
  assert.equal(parentConfigIndex(s, 2, [1, 0, 0]), 2);
  for (let c = 0; c < 6; c++) {
    const [a, b] = decodeParentConfig(s, 2, c);
    assert.equal(parentConfigIndex(s, 2, [a!, b!, 0]), c);
  }
  assert.equal(freeParameterCount(s), 2 + 1 + 6);
});

function net(cptC: number[]): Network {
  return {
    name: "n",
    variables: [v("A"), v("C")],
    parents: [[], [0]],
    cpts: [Float64Array.from([0.5, 0.5]), Float64Array.from(cptC)],
  };
}

test("CPT of the wrong size names the variable and both sizes", () => {
  assert.throws(
    () => validateNetwork(net([0.5, 0.5])),
    /cpt > C: CPT has 2 entries; expected 2 parent configurations x 2 states = 4/,
  );
});

test("negative entries and bad row sums are rejected with their row", () => {
  assert.throws(
    () => validateNetwork(net([0.5, 0.5, 1.5, -0.5])),
    /cpt > C > row 1: entry 1 \("b"\) is -0.5/,
  );
  assert.throws(
    () => validateNetwork(net([0.5, 0.5, 0.3, 0.6])),
    /cpt > C > row 1: row sums to 0.9/,
  );
});

test("renormalize rescales rows off by at most 1e-4 and leaves the input unchanged", () => {
  const n = net([0.5, 0.5, 0.30004, 0.7]);
  assert.throws(() => validateNetwork(n), /set renormalize: true to rescale rounded rows/);
  const fixed = validateNetwork(n, { renormalize: true });
  assert.ok(Math.abs(fixed.cpts[1]![2]! + fixed.cpts[1]![3]! - 1) < 1e-15);
  assert.equal(n.cpts[1]![2], 0.30004);
  assert.throws(
    () => validateNetwork(net([0.5, 0.5, 0.31, 0.7]), { renormalize: true }),
    /more than the 0.0001/,
  );
});
