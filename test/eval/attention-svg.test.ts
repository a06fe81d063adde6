import { test } from "node:test";
import assert from "node:assert/strict";
import type { Structure } from "../../src/bn/network.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { createRng } from "../../src/bn/rng.ts";
import type { AttentionView } from "../../src/eval/attention-svg.ts";
import {
  agreementSummaries,
  attentionSvg,
  attentionTable,
  defaultShownHead,
} from "../../src/eval/attention-svg.ts";
import { construct } from "../../src/model/construction.ts";
import type { HeadAttention } from "../../src/model/engine.ts";
import { constructionModel, explainModel, explainQuery } from "../../src/model/engine.ts";
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

/** One head's attention on the 4 context rows, then on the query itself. */
function head(layer: number, h: number, weights: number[], selfWeight: number): HeadAttention {
  return { layer, head: h, weights: Float64Array.from(weights), selfWeight };
}

const view: AttentionView = {
  structure: s,
  context: {
    vars: 3,
    rows: 4,
    data: Uint8Array.from([0, 1, 2, 0, 0, 1, 1, 1, 0, 0, MISSING, 2]),
  },
  target: 2,
  query: [0, 1, MISSING],
  heads: [head(1, 1, [0.25, 0.25, 0.25, 0.125], 0.125), head(1, 2, [0.5, 0.25, 0.25, 0], 0)],
  shown: 1,
  distribution: [0.25, 0.25, 0.5],
};

test("the text table lists the shown head's rows, then every head's mass by agreeing parents", () => {
  assert.equal(
    attentionTable(view),
    [
      "attention of the query on the context, target C; query parents A=lo B<&>=1; output x: 0.250000, y: 0.250000, z: 0.500000",
      "rows listed: layer 1, head 2 (= agrees with the query, x differs, ? missing)",
      "row   weight    A  B<&>  C",
      "0     0.500000  =  =     z",
      "1     0.250000  =  x     y",
      "2     0.250000  x  =     x",
      "3     0         =  ?     z",
      "self  0",
      "attention mass by number of parents agreeing with the query:",
      "layer    head  2 of 2 (1 rows)  1 of 2 (3 rows)  0 of 2 (0 rows)  self      TV to uniform on 2 of 2",
      "1        1     0.250000         0.625000         0                0.125000  0",
      "1        2     0.500000         0.500000         0                0         0",
      "uniform        0.200000         0.600000         0                0.200000",
    ].join("\n"),
  );
});

test("agreement summaries: masses and self sum to 1; TV to uniform within the full matches", () => {
  const two: AttentionView = {
    ...view,
    query: [0, 0, MISSING], // rows 0 and 3 agree on A only, row 1 on both, row 2 on neither
    heads: [head(2, 1, [0.1, 0.6, 0.2, 0.05], 0.05)],
    shown: 0,
  };
  const [x] = agreementSummaries(two);
  assert.deepEqual(x!.rows, [1, 2, 1]);
  [0.2, 0.15, 0.6].forEach((m, a) => assert.ok(Math.abs(x!.mass[a]! - m) < 1e-12));
  assert.ok(Math.abs(x!.mass.reduce((a, b) => a + b, 0) + x!.self - 1) < 1e-12);
  assert.equal(x!.fullMatchTv, 0, "one full match is uniform over itself");
  // A root target (B): every row agrees on all 0 parents; head 1 weights .25 .25 .25 .125.
  const spread: AttentionView = { ...view, target: 1, shown: 0 };
  const [h1, h2] = agreementSummaries(spread);
  assert.deepEqual(h1!.rows, [4]);
  const w = [0.25, 0.25, 0.25, 0.125].map((v) => v / 0.875);
  const tv = w.reduce((a, v) => a + Math.abs(v - 1 / 4), 0) / 2;
  assert.ok(Math.abs(h1!.fullMatchTv - tv) < 1e-12);
  assert.ok(h2!.fullMatchTv > h1!.fullMatchTv, "head 2 puts 0 on row 3");
});

test("the default head: in the last layer, the most mass on rows agreeing on every parent", () => {
  assert.equal(defaultShownHead(view), 1);
  const layered = { ...view, heads: [view.heads[1]!, head(2, 1, [0, 0.5, 0.5, 0], 0)] };
  assert.equal(defaultShownHead(layered), 1, "the last layer wins even with less full mass");
  const tied = { ...view, heads: [head(1, 1, [0.5, 0, 0, 0], 0.5), view.heads[1]!] };
  assert.equal(defaultShownHead(tied), 0, "ties go to the first head");
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

test("the SVG is one self-contained document with a legend and a heat cell per head and row", () => {
  const svg = attentionSvg(view);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.ok(svg.includes("B&lt;&amp;&gt;") && !svg.includes("B<&>"));
  const heat = [...svg.matchAll(/<rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)"/g)];
  // 2 heads x (4 rows + self) weight cells, (2 heads + uniform) x (3 levels + self) masses.
  assert.equal(heat.length, 2 * 5 + 3 * 4);
  // Two colour bars, each labelled with its scale's ends.
  assert.equal((svg.match(/fill="url\(#heat\)"/g) ?? []).length, 2);
  assert.match(svg, />≤0\.05</, "the weights' scale starts at a tenth of the heaviest (0.5)");
  assert.match(svg, />0\.5</);
  assert.match(svg, /colour: attention weight, log scale/);
  // The heaviest weight is the darkest colour, a weight at the scale's floor the palest.
  const lightness = (m: RegExpMatchArray) => Number(m[1]) + Number(m[2]) + Number(m[3]);
  const cellOf = (value: string) =>
    heat.find((m) => svg.slice(m.index!).match(/^[^\n]*\n<text[^>]*>([^<]*)</)?.[1] === value)!;
  assert.equal(lightness(cellOf("0.500")), Math.min(...heat.map(lightness)));
  assert.equal(lightness(cellOf("0")), Math.max(...heat.map(lightness)));
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
  const eps = 1e-6;
  const c = construct(net, { eps, maxContext: 40 });
  const context = ancestralRows(rng, net, 40);
  const row = [0, 1, MISSING];
  assert.equal(explainQuery(c, context, row, 2).support.bestMatch, 2, "a row matches both");
  const e = explainModel(constructionModel(c), net, context, row, 2);
  const view: AttentionView = { structure: net, context, target: 2, query: row, ...e, shown: 1 };
  assert.equal(defaultShownHead(view), 1, "layer 2's one head");
  const table = attentionTable(view, { maxRows: 40 });
  const lines = table.split("\n").slice(3, 43);
  assert.equal(lines.length, 40);
  for (const line of lines) {
    const [r, w, m1, m2] = line.split(/\s+/);
    assert.equal(Number(w) > 1e-3, m1 === "=" && m2 === "=", `row ${r}: ${line}`);
  }
  const [, layer2] = agreementSummaries(view);
  assert.ok(layer2!.mass[2]! >= 1 - eps, `mass on full matches ${layer2!.mass[2]}`);
  assert.ok(layer2!.fullMatchTv < 1e-9);
});
