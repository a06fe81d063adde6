import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { createRng } from "../../src/bn/rng.ts";
import type { AttentionView } from "../../src/eval/attention-svg.ts";
import { attentionSvg, attentionTable } from "../../src/eval/attention-svg.ts";
import { construct } from "../../src/model/construction.ts";
import { explainQuery } from "../../src/model/engine.ts";
import { ancestralRows, withRandomCpts } from "../model/construction-fixtures.ts";

const s: Structure = {
  name: "abc",
  variables: [
    { name: "A", states: ["lo", "hi"] },
    { name: "B<&>", states: ["0", "1"] },
    { name: "C", states: ["x", "y", "z"] },
  ],
  parents: [[], [], [0, 1]],
};

const view: AttentionView = {
  structure: s,
  context: {
    vars: 3,
    rows: 4,
    data: Uint8Array.from([0, 1, 2, 0, 0, 1, 1, 1, 0, 0, MISSING, 2]),
  },
  target: 2,
  query: [0, 1, MISSING],
  weights: [0.5, 0.25, 0.25, 0],
  selfWeight: 0,
  distribution: [0.25, 0.25, 0.5],
};

test("the text table lists weight, parent matches and the target value of each row", () => {
  assert.equal(
    attentionTable(view),
    [
      "attention of the query on the context, target C; query parents A=lo B<&>=1; output x: 0.250000, y: 0.250000, z: 0.500000",
      "(= agrees with the query, x differs, ? missing)",
      "row   weight    A  B<&>  C",
      "0     0.500000  =  =     z",
      "1     0.250000  =  x     y",
      "2     0.250000  x  =     x",
      "3     0         =  ?     z",
      "self  0",
      "rows by number of parents agreeing with the query:",
      "  2 of 2: 1 rows, total weight 0.500000",
      "  1 of 2: 3 rows, total weight 0.500000",
    ].join("\n"),
  );
});

test("long contexts show the heaviest rows in context order and summarise the rest", () => {
  const t = attentionTable(view, { maxRows: 2 });
  const rows = t.split("\n").slice(3, 7);
  assert.deepEqual(
    rows.map((l) => l.split(/\s+/)[0]),
    ["0", "1", "self", "..."],
  );
  assert.match(t, /\.\.\. 2 more rows, total weight 0.250000\n/);
});

test("the SVG is one self-contained document with escaped names and one heat cell per row", () => {
  const svg = attentionSvg(view);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.ok(svg.includes("B&lt;&amp;&gt;") && !svg.includes("B<&>"));
  // Rows 0..3 and self: 5 weight cells; 4 rows x 2 parents match cells.
  assert.equal((svg.match(/<rect /g) ?? []).length, 5 + 8);
  // The heaviest row is the darkest.
  assert.ok(svg.includes('fill="rgb(8,48,107)"'));
  const opened = (svg.match(/<text /g) ?? []).length;
  assert.equal(opened, (svg.match(/<\/text>/g) ?? []).length);
});

test("for the construction, the rows marked as agreeing on every parent carry the weight", () => {
  const rng = createRng(31);
  const binary: Structure = {
    name: "bin",
    variables: ["A", "B", "C"].map((name) => ({ name, states: ["0", "1"] })),
    parents: [[], [], [0, 1]],
  };
  const net = withRandomCpts(rng, binary, 1);
  const c = construct(net, { eps: 1e-6, maxContext: 40 });
  const context = ancestralRows(rng, net, 40);
  const row = [0, 1, MISSING];
  const x = explainQuery(c, context, row, 2);
  assert.equal(x.support.bestMatch, 2, "the seeded context has a row matching both parents");
  const table = attentionTable(
    { structure: net, context, target: 2, query: row, ...x },
    { maxRows: 40 },
  );
  const lines = table.split("\n").slice(3, 43);
  assert.equal(lines.length, 40);
  for (const line of lines) {
    const [r, w, m1, m2] = line.split(/\s+/);
    assert.equal(Number(w) > 1e-3, m1 === "=" && m2 === "=", `row ${r}: ${line}`);
  }
});
