import { test } from "node:test";
import assert from "node:assert/strict";
import { BnformerError } from "../../src/errors.ts";
import { NODE_MEAN } from "../../src/eval/protocol.ts";
import type { EvalResult } from "../../src/eval/protocol.ts";
import { band } from "../../src/eval/summary.ts";
import { renderReport, reportLengths } from "../../src/eval/report.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "../../src/eval/baselines.ts";
import { smallResult, ODD_NAME } from "./fixtures.ts";

function tv(r: EvalResult, method: string, n: number, node = NODE_MEAN): string {
  const s = r.summary.find((x) => x.method === method && x.length === n && x.node === node)!;
  return `${s.mean.toFixed(4)} ± ${(band(s).high - s.mean).toFixed(4)}`;
}

function ratio(r: EvalResult, method: string, ref: string, n: number): string {
  const x = r.ratios.find(
    (y) => y.method === method && y.reference === ref && y.length === n && y.node === NODE_MEAN,
  )!;
  return `${x.mean!.toFixed(3)} ± ${x.sd!.toFixed(3)}`;
}

const figures = [
  { title: "general5: TV", caption: "Bands: ± 1 sd.", png: "g5 tv.png", svg: "g5 tv.svg" },
];

test("the TV table has a row per method with mean ± sd at each chosen length", async () => {
  const r = await smallResult();
  const md = renderReport([{ result: r }]);
  assert.ok(md.includes("| method | n = 1 | n = 5 | n = 20 | n = 100 |"));
  for (const m of [POSTERIOR_MEAN, MLE, NAIVE]) {
    const row = `| ${m} | ${[1, 5, 20, 100].map((n) => tv(r, m, n)).join(" | ")} |`;
    assert.ok(md.includes(row), row);
  }
  // a "|" in a method name is escaped so the table keeps its columns
  assert.ok(md.includes(`| ${ODD_NAME.replace("|", "\\|")} | ${tv(r, ODD_NAME, 1)} |`));
});

test("ratio tables to the posterior mean and to the MLE hold the per-seed ratios", async () => {
  const r = await smallResult();
  const md = renderReport([{ result: r }], { lengths: [5, 100] });
  assert.ok(md.includes(`### Ratio to ${POSTERIOR_MEAN}`));
  assert.ok(md.includes(`### Ratio to ${MLE}`));
  assert.ok(
    md.includes(
      `| ${MLE} | ${ratio(r, MLE, POSTERIOR_MEAN, 5)} | ${ratio(r, MLE, POSTERIOR_MEAN, 100)} |`,
    ),
  );
  assert.ok(
    md.includes(`| ${NAIVE} | ${ratio(r, NAIVE, MLE, 5)} | ${ratio(r, NAIVE, MLE, 100)} |`),
  );
});

test("the report states the policy and shows unseen fractions, per-node TV, figures and the run", async () => {
  const r = await smallResult();
  const md = renderReport([{ result: r, figures, files: { csv: "g5-tv.csv" } }]);
  assert.ok(md.includes(r.unseenPolicy.statement));
  const unseenC = r.summary.find((x) => x.method === MLE && x.length === 1 && x.node === "C")!;
  assert.ok(md.includes(`| C | ${(100 * unseenC.unseenFraction).toFixed(1)}% |`));
  assert.ok(
    md.includes(`| C | A, B | ${tv(r, POSTERIOR_MEAN, 100, "C")} | ${tv(r, MLE, 100, "C")} |`),
  );
  assert.ok(md.includes("![general5: TV](g5%20tv.png)"));
  assert.ok(md.includes("[SVG](g5%20tv.svg)"));
  assert.ok(md.includes(`- machine: ${r.run.machine}`));
  assert.ok(md.includes("- command: `bnformer eval --graph general5`"));
  assert.ok(md.includes("- csv: [g5-tv.csv](g5-tv.csv)"));
  assert.match(md, /- wall time: \d+\.\d s/);
});

test("one section per result, and a length that was not evaluated is refused", async () => {
  const r = await smallResult();
  const md = renderReport([
    { result: r, heading: "first" },
    { result: r, heading: "second" },
  ]);
  assert.equal(md.match(/^## /gm)!.length, 2);
  assert.throws(
    () => renderReport([{ result: r }], { lengths: [1, 7] }),
    (e: unknown) =>
      e instanceof BnformerError && /report length 7 was not evaluated/.test(e.message),
  );
});

test("default lengths: all of up to six, else the ends and the powers of ten", () => {
  assert.deepEqual(reportLengths([1, 5, 20]), [1, 5, 20]);
  assert.deepEqual(
    reportLengths([1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500]),
    [1, 10, 100, 500],
  );
  assert.deepEqual(reportLengths([2, 5, 10, 20, 50, 100, 150]), [2, 10, 100, 150]);
});
