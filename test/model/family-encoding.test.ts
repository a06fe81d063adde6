import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { BnformerError } from "../../src/errors.ts";
import {
  checkFamilyFits,
  distinctFamilyRows,
  encodeFamilyContext,
  encodeFamilyQueries,
  familyChannelNames,
  familyLayout,
} from "../../src/model/family-encoding.ts";

const v = (name: string, states: string[]) => ({ name, states });

/** Weather -> Sprinkler; (Sprinkler, Weather) -> Grass: Grass's parent list is [1, 0]. */
const garden: Structure = {
  name: "garden",
  variables: [
    v("Weather", ["sun", "rain", "snow"]),
    v("Sprinkler", ["off", "on"]),
    v("Grass", ["dry", "wet", "muddy"]),
  ],
  parents: [[], [0], [1, 0]],
};

const layout = familyLayout(2, 3);

/** The channels that are 1 in token t, by name. */
function hot(tokens: Float64Array, t: number): string[] {
  const names = familyChannelNames(layout);
  const I = layout.width;
  const out: string[] = [];
  for (let c = 0; c < I; c++) {
    const x = tokens[t * I + c]!;
    assert.ok(x === 0 || x === 1, `channel ${names[c]} is ${x}`);
    if (x === 1) out.push(names[c]!);
  }
  return out;
}

test("the family layout has (1 + kMax)(dMax + 1) + dMax + 1 channels, every one named", () => {
  assert.equal(layout.width, 3 * 4 + 3 + 1);
  assert.equal(familyChannelNames(layout).length, layout.width);
  const big = familyLayout(4, 6);
  assert.equal(big.width, 5 * 7 + 7);
  assert.equal(big.maxCard, 6);
});

test("a context token holds the target's and its parents' values in parent-list order", () => {
  // Rows: Weather, Sprinkler, Grass.
  const context = { vars: 3, rows: 2, data: Uint8Array.from([2, 1, 0, 0, 0, 2]) };
  const tokens = encodeFamilyContext(layout, garden, 2, context);
  // Slot 1 = Sprinkler (Grass's first parent), slot 2 = Weather; the target has K = 3.
  assert.deepEqual(hot(tokens, 0), ["target=0", "parent 1=1", "parent 2=2", "K=3"]);
  assert.deepEqual(hot(tokens, 1), ["target=2", "parent 1=0", "parent 2=0", "K=3"]);
});

test("absent slots, MISSING cells and the query's target are hidden; the query flag is set", () => {
  // Sprinkler has one parent (Weather): slot 2 is absent; K = 2.
  const context = { vars: 3, rows: 1, data: Uint8Array.from([1, MISSING, 0]) };
  const ctx = encodeFamilyContext(layout, garden, 1, context);
  assert.deepEqual(hot(ctx, 0), ["parent 1=1", "hidden target", "hidden parent 2", "K=2"]);
  const q = encodeFamilyQueries(layout, garden, 1, [Uint8Array.from([2, 1, 1])]);
  assert.deepEqual(hot(q, 0), ["parent 1=2", "hidden target", "hidden parent 2", "K=2", "query"]);
  // A root: every parent slot absent.
  const root = encodeFamilyQueries(layout, garden, 0, [Uint8Array.from([0, 0, 0])]);
  assert.deepEqual(hot(root, 0), [
    "hidden target",
    "hidden parent 1",
    "hidden parent 2",
    "K=3",
    "query",
  ]);
});

test("the tokens do not depend on which variable or network the family comes from", () => {
  // The same family (a 3-state target with a 2-state and a 3-state parent) embedded in a
  // larger network at other indices encodes to the same tokens.
  const other: Structure = {
    name: "other",
    variables: [
      v("A", ["a", "b"]),
      v("X", ["x", "y", "z"]),
      v("Y", ["1", "2", "3"]),
      v("Z", ["0"]),
    ],
    parents: [[], [], [0, 1], [2]],
  };
  const gardenRows = { vars: 3, rows: 2, data: Uint8Array.from([2, 1, 0, 0, 0, 2]) };
  const otherRows = { vars: 4, rows: 2, data: Uint8Array.from([1, 2, 0, 0, 0, 0, 2, 0]) };
  assert.deepEqual(
    encodeFamilyContext(layout, other, 2, otherRows),
    encodeFamilyContext(layout, garden, 2, gardenRows),
  );
});

test("families past kMax parents or dMax states are refused, naming the variable and the limit", () => {
  const small = familyLayout(1, 2);
  const err = (f: () => unknown, re: RegExp) =>
    assert.throws(
      f,
      (e: unknown) => e instanceof BnformerError && e.code === "config" && re.test(e.message),
    );
  err(() => checkFamilyFits(small, garden, 2), /"Grass" has 2 parents; .* kMax = 1/);
  err(() => checkFamilyFits(small, garden, 0), /"Weather" has 3 states; .* dMax = 2/);
  err(
    () => checkFamilyFits(small, garden, 1),
    /"Weather" \(a parent of "Sprinkler"\) has 3 states/,
  );
  assert.deepEqual(checkFamilyFits(layout, garden, 2), { targetCard: 3, parentCards: [2, 3] });
});

test("out-of-range states are data errors naming the row", () => {
  const context = { vars: 3, rows: 1, data: Uint8Array.from([3, 0, 0]) };
  assert.throws(
    () => encodeFamilyContext(layout, garden, 1, context),
    (e: unknown) => e instanceof BnformerError && e.code === "data" && /row 0/.test(e.message),
  );
});

test("distinct family rows: first appearances in order, their counts, other columns MISSING", () => {
  // Grass's family is (Grass, Sprinkler, Weather); Weather differs between rows 0 and 3.
  const rows = [
    [0, 1, 2],
    [0, 1, 2],
    [1, 0, 1],
    [2, 1, 2],
    [0, 1, 2],
  ];
  const context = { vars: 3, rows: rows.length, data: Uint8Array.from(rows.flat()) };
  const { rows: d, counts } = distinctFamilyRows(garden, 2, context);
  assert.deepEqual([...d.data], [0, 1, 2, 1, 0, 1, 2, 1, 2]);
  assert.deepEqual(counts, [3, 1, 1]);
  // Sprinkler's family leaves Grass MISSING.
  const s = distinctFamilyRows(garden, 1, context);
  assert.deepEqual([...s.rows.data], [0, 1, MISSING, 1, 0, MISSING, 2, 1, MISSING]);
  assert.deepEqual(s.counts, [3, 1, 1]);
  const bad = { vars: 3, rows: 2, data: Uint8Array.from([0, 1, 2, 0, 5, 2]) };
  assert.throws(
    () => distinctFamilyRows(garden, 2, bad),
    (e: unknown) => e instanceof BnformerError && e.code === "data" && /row 1/.test(e.message),
  );
});
