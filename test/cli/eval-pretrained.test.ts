// `bnformer eval-pretrained` end to end at tiny sizes: a tiny family model trained here, its
// outputs (points, checks, JSON, report), the posterior-mean floor recomputed independently
// for one episode, the run's training checkpoint accepted, and bad inputs refused clearly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { createRng } from "../../src/bn/rng.ts";
import { modularRandomDag } from "../../src/bn/families.ts";
import { BROAD_PRIOR, sampleNetwork } from "../../src/bn/priors.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { posteriorMean } from "../../src/estimate/posterior.ts";
import {
  generateRows,
  networkConditional,
  tabulateConditional,
} from "../../src/estimate/generate.ts";
import { loadNetwork } from "../../src/bn/network-file.ts";
import { familyModelEngine } from "../../src/eval/pretrained.ts";
import { loadFamilyModel } from "../../src/train/pretrained.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const TINY = [
  ...["--episodes", "2", "--seeds", "2", "--lengths", "1,6", "--long-lengths", "9"],
  ...["--networks", "data/bif/asia.bif,data/bif/cancer.bif", "--real-lengths", "4,8"],
  ...["--paper-graphs", "chain7", "--paper-lengths", "3"],
  ...["--generation-context", "8", "--generation-rows", "50"],
];
let dir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-eval-pretrained-"));
  model = join(dir, "run");
  const r = await run([
    ...["train", "--task", "family", "--steps", "2", "--seed", "4"],
    ...["--batch", "2", "--query-rows", "2", "--context-max", "12"],
    ...["--d-model", "8", "--heads", "1", "--mlp", "8", "--out", model],
  ]);
  assert.equal(r.code, 0, r.err);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Point {
  target: string;
  network: string;
  length: number;
  method: string;
  seed: number;
  tv: number;
}

test("writes every point, the checks and the report with a verdict per check", async () => {
  const out = join(dir, "eval");
  const r = await run(["eval-pretrained", "--model", model, "--out", out, ...TINY]);
  assert.equal(r.code, 0, r.err);
  for (const f of ["points.csv", "checks.csv", "results.json", "report.md"])
    assert.ok(existsSync(join(out, f)), f);
  const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
    points: Point[];
    checks: { target: string; network: string; length: number; met: boolean }[];
  };
  // 2 held-out lengths + 1 long length (4 methods), 2 networks x 2 lengths (4), one paper
  // graph at one length (4), generation (2).
  assert.equal(json.points.length, 2 * (3 * 4 + 2 * 2 * 4 + 4 + 2));
  assert.deepEqual(json.checks.map((c) => `${c.target}:${c.network}:${c.length}`).sort(), [
    "generation:asia:8",
    "held-out:held-out random:1",
    "held-out:held-out random:6",
    "length:held-out random:9",
    "paper:chain7:3",
    "real:asia:4",
    "real:asia:8",
    "real:cancer:4",
    "real:cancer:8",
  ]);
  const csvLines = readFileSync(join(out, "points.csv"), "utf8").trim().split("\n");
  assert.equal(csvLines.length, json.points.length + 1);
  const report = readFileSync(join(out, "report.md"), "utf8");
  const verdicts = report.match(/\| (met|missed) \|$/gm) ?? [];
  assert.equal(verdicts.length, json.checks.length);
  // the figures (targets 1-3 have them), written and linked from the report
  for (const kind of ["pretrained-tv", "pretrained-ratio", "pretrained-real"]) {
    assert.ok(readFileSync(join(out, `${kind}.svg`), "utf8").startsWith("<svg"), kind);
    assert.ok(existsSync(join(out, `${kind}.png`)), kind);
    assert.ok(report.includes(`](${kind}.png)`) && report.includes(`[SVG](${kind}.svg)`), kind);
  }
  assert.match(r.out, new RegExp(`of ${json.checks.length} checks met`));
});

test("the posterior-mean column is the exact posterior mean of the documented episode", async () => {
  const out = join(dir, "floor");
  const evalSeed = 31;
  const r = await run([
    ...["eval-pretrained", "--model", model, "--out", out, "--targets", "1"],
    ...["--episodes", "1", "--seeds", "1", "--lengths", "3,7", "--eval-seed", String(evalSeed)],
    "--no-figures",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.ok(!existsSync(join(out, "pretrained-tv.svg")), "--no-figures writes none");
  assert.doesNotMatch(readFileSync(join(out, "report.md"), "utf8"), /### Figures/);
  const points = (
    JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { points: Point[] }
  ).points;
  // The episode as src/eval/pretrained.ts documents it: target 1's stream, network 0,
  // seed 0, episode 0; the network, a 7-row context (n = 3 is its prefix), one query row.
  const rng = createRng(evalSeed).fork(1).fork(0).fork(0).fork(0);
  const structure = modularRandomDag(rng.fork(0), {
    nodes: { min: 12, max: 12 },
    states: { min: 2, max: 4 },
    edgeProb: 0.35,
    maxParents: 3,
  });
  const net = sampleNetwork(rng.fork(1), structure, BROAD_PRIOR);
  const context = sampleRows(rng.fork(2), net, 7);
  const query = sampleRows(rng.fork(3), net, 1).data;
  for (const n of [3, 7]) {
    let sum = 0;
    net.variables.forEach((variable, v) => {
      const k = variable.states.length;
      const parents = net.parents[v]!;
      // Counts of v's states among the first n rows that match the query on v's parents.
      const counts = new Float64Array(k);
      let cfg = 0;
      for (const p of parents) cfg = cfg * net.variables[p]!.states.length + query[p]!;
      for (let row = 0; row < n; row++) {
        const cells = context.data.subarray(row * net.variables.length);
        if (parents.every((p) => cells[p] === query[p])) counts[cells[v]!]!++;
      }
      const pm = posteriorMean(BROAD_PRIOR, counts);
      const truth = net.cpts[v]!.subarray(cfg * k, (cfg + 1) * k);
      let tv = 0;
      for (let j = 0; j < k; j++) tv += Math.abs(pm[j]! - truth[j]!) / 2;
      sum += tv;
    });
    const floor = points.find((p) => p.method === "posterior-mean" && p.length === n)!;
    assert.ok(Math.abs(floor.tv - sum / net.variables.length) < 1e-12, `n = ${n}`);
  }
});

test("generation from the tabulated model is Algorithm 1 row by row: the same rows", () => {
  const engine = familyModelEngine(loadFamilyModel(model));
  const asia = loadNetwork("data/bif/asia.bif");
  const context = sampleRows(createRng(3), asia, 20);
  const cond = engine.bind(asia, context);
  const rowByRow = generateRows(createRng(8), asia, 40, cond);
  const tabulated = generateRows(
    createRng(8),
    asia,
    40,
    networkConditional(tabulateConditional(asia, cond)),
  );
  assert.deepEqual(tabulated.data, rowByRow.data);
});

test("takes a run's training checkpoint, also while the run has no model yet", async () => {
  const unfinished = join(dir, "unfinished");
  cpSync(model, unfinished, { recursive: true });
  rmSync(join(unfinished, "model"), { recursive: true });
  for (const m of [join(model, "checkpoint"), unfinished]) {
    const out = join(dir, "ck-eval");
    const r = await run([
      ...["eval-pretrained", "--model", m, "--out", out, "--targets", "1"],
      ...["--episodes", "1", "--seeds", "1", "--lengths", "2"],
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /training checkpoint .* at step 2/);
    assert.match(readFileSync(join(out, "report.md"), "utf8"), /at step 2/);
  }
});

test("bad inputs: a missing directory (1), a non-family model (2), bad targets (2)", async () => {
  const missing = await run([
    "eval-pretrained",
    "--model",
    join(dir, "nope"),
    "--out",
    join(dir, "x"),
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /nope: no such directory/);
  assert.doesNotMatch(missing.err, /\n\s+at /);

  const construction = join(dir, "construction");
  const c = await run([
    ...["construct", "--structure", "data/bif/asia.bif", "--max-context", "10"],
    ...["--out", construction],
  ]);
  assert.equal(c.code, 0, c.err);
  const notFamily = await run([
    "eval-pretrained",
    "--model",
    construction,
    "--out",
    join(dir, "y"),
  ]);
  assert.equal(notFamily.code, 2);
  assert.match(notFamily.err, /a construction, not a family \(network-agnostic\) model/);

  const targets = await run([
    ...["eval-pretrained", "--model", model, "--out", join(dir, "z"), "--targets", "1,5"],
  ]);
  assert.equal(targets.code, 2);
  assert.match(targets.err, /--targets must list some of 1, 2, 3, 4/);
  assert.ok(!existsSync(join(dir, "z")));
});
