// docs/results.md, the README's experiment table, and the CSVs and SVG figures under
// docs/results/ must be what the committed data gives, byte for byte; the numbers the
// hand-written parts quote are recomputed here from the per-seed cells.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { NODE_MEAN } from "../../src/eval/protocol.ts";
import type { EvalResult } from "../../src/eval/protocol.ts";
import { NAIVE, POSTERIOR_MEAN } from "../../src/eval/baselines.ts";
import { modelName, NAIVE_CHECK } from "../../src/experiment/report.ts";
import {
  generatedFiles,
  readCommittedResults,
  RESULTS_PAGE,
} from "../../src/experiment/results-page.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PM = modelName("posterior-mean");

test("docs/results.md, the README table, CSVs and SVGs match the committed data", async () => {
  const files = await generatedFiles(root);
  assert.ok(files.length >= 2 + 3 * 5, `${files.length} files`);
  for (const f of files) {
    const committed = readFileSync(join(root, f.path), "utf8");
    // not assert.equal on the texts: a 400 kB diff helps nobody
    assert.ok(
      committed === f.text,
      `${f.path} differs from the committed data; run: npx tsx scripts/results-page.ts --update`,
    );
  }
});

test("the stored summaries and ratios are the ones the cells give", () => {
  const data = readCommittedResults(root);
  data.results.forEach((r, i) => {
    // JSON stores NaN and Infinity as null
    const again = JSON.parse(JSON.stringify({ summary: r.summary, ratios: r.ratios }));
    assert.deepEqual(again.summary, data.stored[i]!.summary);
    assert.deepEqual(again.ratios, data.stored[i]!.ratios);
  });
});

/** Node-averaged TV of `method` at length n for one seed, straight from the cells. */
function cellTv(r: EvalResult, method: string, seed: number, n: number, node = NODE_MEAN) {
  const c = r.cells.find(
    (x) => x.method === method && x.seed === seed && x.length === n && x.node === node,
  );
  assert.ok(c !== undefined, `no cell ${method} seed ${seed} n ${n} ${node}`);
  return c.tvMean;
}

test("the numbers docs/results.md and the README quote by hand come from the cells", () => {
  const { exp, record, results } = readCommittedResults(root);
  const page = readFileSync(join(root, RESULTS_PAGE), "utf8");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const r of results) {
    const g = r.config.structure.name;
    // the mean over seeds of the per-seed ratio at each target length, and the verdict
    const perSeed = (n: number) =>
      r.config.seeds.map((s) => cellTv(r, PM, s, n) / cellTv(r, POSTERIOR_MEAN, s, n));
    const ratios = exp.eval.targetLengths.map((n) => mean(perSeed(n)));
    const met = ratios.every((x) => x <= exp.eval.ratioTarget);
    const text = ratios.map((x) => x.toFixed(3));
    const claim = `**${g}: ${met ? "met" : "missed"}**, with ${text.slice(0, -1).join("/")}/**${text.at(-1)}**`;
    assert.ok(page.includes(claim), claim);
    // chain7 and tree7 have a table per seed at the last length
    if (g !== "general5") {
      assert.ok(page.includes(`${claim}. Per seed at n = 200:`), g);
      const last = exp.eval.targetLengths.at(-1)!;
      perSeed(last).forEach((x, s) => {
        const run = record.runs.find(
          (y) => y.graph === g && y.seed === s && y.target === "posterior-mean",
        )!;
        const steps =
          run.steps < run.plannedSteps
            ? `${run.steps} (cap; ${run.plannedSteps} planned)`
            : `${run.steps}`;
        const row = `| ${s} | ${run.warmupSteps} | ${steps} | ${(run.trainSeconds / 60).toFixed(1)} | ${x.toFixed(3)} |`;
        assert.ok(page.includes(row), row);
      });
    }
  }
  // general5's B, D, E at n = 200: the posterior-mean model's TV ÷ the naive estimator's
  const g5 = results.find((r) => r.config.structure.name === NAIVE_CHECK.graph)!;
  const avg = (method: string) =>
    mean(
      NAIVE_CHECK.nodes.map((node) =>
        mean(g5.config.seeds.map((s) => cellTv(g5, method, s, NAIVE_CHECK.length, node))),
      ),
    );
  const naiveRatio = (avg(PM) / avg(NAIVE)).toFixed(3);
  assert.ok(page.includes(`TV is ${naiveRatio}x the\n  naive estimator's`), naiveRatio);
  assert.ok(readme.includes(`TV at 200 rows is ${naiveRatio}x`), naiveRatio);
  // the README's step range of the chain7 and tree7 posterior-mean runs
  const steps = record.runs
    .filter((x) => x.target === "posterior-mean" && x.graph !== "general5")
    .map((x) => x.steps);
  const range = `${Math.min(...steps)}-${Math.max(...steps)} steps on chain7 and\ntree7`;
  assert.ok(readme.includes(range), range);
});
