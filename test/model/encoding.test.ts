import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Structure } from "../../src/bn/network.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { TOKEN_CONTEXT, TOKEN_PAD, TOKEN_QUERY } from "../../src/model/spec.ts";
import {
  encodeBatch,
  encodeContext,
  encodeEpisode,
  encodeQueries,
  formatTokens,
  queriesForTargets,
  tokenLayout,
} from "../../src/model/encoding.ts";

const v = (name: string, states: string[]) => ({ name, states });

/** The worked example of docs/encoding.md: Weather -> Sprinkler, (Weather, Sprinkler) -> Grass. */
const garden: Structure = {
  name: "garden",
  variables: [
    v("Weather", ["sun", "rain", "snow"]),
    v("Sprinkler", ["off", "on"]),
    v("Grass", ["dry", "wet"]),
  ],
  parents: [[], [0], [0, 1]],
};

/** Same variables, listed so that index order is not topological: Grass first. */
const shuffled: Structure = {
  name: "shuffled",
  variables: [
    v("Grass", ["dry", "wet"]),
    v("Weather", ["sun", "rain", "snow"]),
    v("Sprinkler", ["off", "on"]),
  ],
  parents: [[1, 2], [], [1]],
};

const ds = (rows: number[][]) => ({
  vars: rows[0]!.length,
  rows: rows.length,
  data: Uint8Array.from(rows.flat()),
});

/** The channels set to 1 in token t, by index. */
function ones(tokens: ArrayLike<number>, I: number, t: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < I; c++) if (tokens[t * I + c] === 1) out.push(c);
  for (let c = 0; c < I; c++) assert.ok(tokens[t * I + c] === 0 || tokens[t * I + c] === 1);
  return out;
}

test("layout: value blocks in variable order, then hidden channels, target one-hot, query flag", () => {
  const L = tokenLayout(garden);
  assert.deepEqual(L.valueOffset, [0, 3, 5]);
  assert.equal(L.valueWidth, 7);
  assert.equal(L.hiddenOffset, 7);
  assert.equal(L.targetOffset, 10);
  assert.equal(L.queryFlag, 13);
  assert.equal(L.width, 14);
  assert.equal(L.maxCard, 3);
});

test("a context row sets one value channel per observed variable and the hidden channel for MISSING", () => {
  const L = tokenLayout(garden);
  const t = encodeContext(L, ds([[1, 0, MISSING]]));
  // Weather=rain (1), Sprinkler=off (3), Grass hidden (7 + 2 = 9); no target, no query flag.
  assert.deepEqual(ones(t, L.width, 0), [1, 3, 9]);
});

test("a query shows only the variables before its target in topological order", () => {
  const L = tokenLayout(garden);
  const t = encodeQueries(L, [
    { row: [0, 1, 1], target: 2 },
    { row: [2, 1, 0], target: 1 },
    { row: [2, 1, 0], target: 0 },
  ]);
  assert.deepEqual(ones(t, L.width, 0), [0, 4, 9, 12, 13]); // sun, on, Grass hidden, target Grass
  assert.deepEqual(ones(t, L.width, 1), [2, 8, 9, 11, 13]); // snow; Sprinkler, Grass hidden
  assert.deepEqual(ones(t, L.width, 2), [7, 8, 9, 10, 13]); // everything hidden
  // With Grass listed first (index 0) it is still last in topological order.
  const S = tokenLayout(shuffled);
  assert.deepEqual(S.order, [1, 2, 0]);
  const q = encodeQueries(S, [{ row: [MISSING, 0, 1], target: 0 }]);
  // Grass hidden (7), Weather=sun (2), Sprinkler=on (6), target Grass (10), query (13).
  assert.deepEqual(ones(q, S.width, 0), [2, 6, 7, 10, 13]);
});

test("context rows mark the target only when every query shares it", () => {
  const L = tokenLayout(garden);
  const context = ds([[0, 0, 0]]);
  const one = encodeEpisode(L, context, [
    { row: [0, 1, 0], target: 2 },
    { row: [1, 0, 0], target: 2 },
  ]);
  assert.deepEqual(ones(one.tokens, L.width, 0), [0, 3, 5, 12]);
  const two = encodeEpisode(L, context, [
    { row: [0, 1, 0], target: 2 },
    { row: [1, 0, 0], target: 1 },
  ]);
  assert.deepEqual(ones(two.tokens, L.width, 0), [0, 3, 5]);
  assert.deepEqual(Array.from(two.kinds), [TOKEN_CONTEXT, TOKEN_QUERY, TOKEN_QUERY]);
  assert.equal(two.contextTokens, 1);
  assert.equal(two.queryTokens, 2);
});

test('"throughTarget" hides context variables after the target and needs a single target', () => {
  const L = tokenLayout(garden);
  const context = ds([[2, 1, 1]]);
  const ep = encodeEpisode(L, context, [{ row: [0, 0, 0], target: 1 }], {
    contextVisible: "throughTarget",
  });
  assert.deepEqual(ones(ep.tokens, L.width, 0), [2, 4, 9, 11]); // snow, on, Grass hidden, target
  assert.throws(
    () =>
      encodeEpisode(L, context, queriesForTargets(context, [1, 2]), {
        contextVisible: "throughTarget",
      }),
    /contextVisible "throughTarget" needs one target shared by every query/,
  );
});

test("out-of-range states and targets are rejected with their location", () => {
  const L = tokenLayout(garden);
  assert.throws(
    () => encodeContext(L, ds([[0, 2, 0]])),
    /context > row 0: state 2 of variable 1 is out of range \(expected 0..1 or MISSING\)/,
  );
  assert.throws(
    () => encodeQueries(L, [{ row: [3, 0, 0], target: 2 }]),
    /queries > query 0: state 3 of variable 0/,
  );
  assert.throws(
    () => encodeQueries(L, [{ row: [0, 0, 0], target: 3 }]),
    /target 3 is not a variable index \(expected 0..2\)/,
  );
  // Entries at or after the target are not read, so anything may be there.
  assert.doesNotThrow(() => encodeQueries(L, [{ row: [0, 9, 9], target: 1 }]));
});

test("queriesForTargets lists rows outer, targets inner", () => {
  const q = queriesForTargets(
    ds([
      [0, 1, 0],
      [2, 0, 1],
    ]),
    [2, 0],
  );
  assert.deepEqual(
    q.map((x) => [Array.from(x.row), x.target]),
    [
      [[0, 1, 0], 2],
      [[0, 1, 0], 0],
      [[2, 0, 1], 2],
      [[2, 0, 1], 0],
    ],
  );
});

test("a batch is the episodes' float32 tokens padded with all-zero PAD tokens", () => {
  const L = tokenLayout(garden);
  const e1 = {
    context: ds([
      [0, 1, 1],
      [1, 0, 0],
    ]),
    queries: [{ row: [0, 1, 0], target: 2 }],
  };
  const e2 = { context: ds([[2, 0, 1]]), queries: [{ row: [1, 0, 0], target: 1 }] };
  const b = encodeBatch(L, [e1, e2], { tokens: 5 });
  assert.deepEqual(b.shape, [2, 5, L.width]);
  assert.deepEqual(Array.from(b.kinds), [
    0,
    0,
    1,
    TOKEN_PAD,
    TOKEN_PAD,
    0,
    1,
    TOKEN_PAD,
    TOKEN_PAD,
    TOKEN_PAD,
  ]);
  [e1, e2].forEach((e, i) => {
    const ep = encodeEpisode(L, e.context, e.queries);
    const row = b.tokens.subarray(i * 5 * L.width, (i + 1) * 5 * L.width);
    assert.deepEqual(Array.from(row.subarray(0, ep.tokens.length)), Array.from(ep.tokens));
    assert.ok(row.subarray(ep.tokens.length).every((x) => x === 0));
  });
  assert.throws(
    () => encodeBatch(L, [e1], { tokens: 2 }),
    /batch length 2 is shorter than the longest episode \(3 tokens\)/,
  );
});

test("the worked example in docs/encoding.md is what the encoder produces", () => {
  const L = tokenLayout(garden);
  const context = ds([
    [1, 0, 1],
    [0, 1, MISSING],
  ]);
  const queries = [
    { row: [0, 1, MISSING], target: 2 },
    { row: [2, MISSING, MISSING], target: 1 },
  ];
  const ep = encodeEpisode(L, context, queries);
  const table = formatTokens(garden, L, ep.tokens, ep.kinds);
  const doc = readFileSync(new URL("../../docs/encoding.md", import.meta.url), "utf8");
  const block = /```text encoding-example\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, "docs/encoding.md has a ```text encoding-example block");
  assert.equal(block[1]!.trimEnd(), table);
});
