// The structure-free evaluation: AUROC, padding a smaller graph, and a tiny model's batched
// jax numbers (TV and sensitivity) against the float64 reference engine on the same episodes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { createRng } from "../../src/bn/rng.ts";
import { modularRandomDag, paperGraph } from "../../src/bn/families.ts";
import { sampleNetwork } from "../../src/bn/priors.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { tokenLayout } from "../../src/model/encoding.ts";
import { estimateBma } from "../../src/estimate/bma.ts";
import { tvDistance } from "../../src/eval/metrics.ts";
import { HELD_OUT_NAME, MODEL, nodeAveragedTv } from "../../src/eval/pretrained.ts";
import type { EdgePoint } from "../../src/eval/structure-free.ts";
import {
  BMA,
  BMA_POSTERIOR,
  MODEL_SENSITIVITY,
  auroc,
  defaultStructureFreeOptions,
  evaluateStructureFree,
  padToLayout,
} from "../../src/eval/structure-free.ts";
import { loadStructureFreeModel, structureFreeEngine } from "../../src/train/pretrained-free.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

let dir: string;
let free: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-free-eval-"));
  free = join(dir, "free");
  const r = await run([
    ...["train", "--task", "random-dag", "--dag-prior", "modular", "--nodes", "5", "--steps", "2"],
    ...["--batch", "2", "--query-rows", "1", "--context-max", "8", "--seed", "3"],
    ...["--d-model", "8", "--heads", "2", "--mlp", "8", "--out", free],
  ]);
  assert.equal(r.code, 0, r.err);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("auroc: perfect, reversed, chance by ties, and undefined with one class", () => {
  assert.equal(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  // Positives at ranks 2 and 3.5 (tied with a negative) of 4: (2 + 3.5 - 3) / (2 * 2).
  assert.equal(auroc([0.1, 0.3, 0.7, 0.7], [0, 1, 0, 1]), 0.625);
  assert.equal(auroc([0.1, 0.2], [1, 1]), null);
});

test("padToLayout appends independent roots; a graph that does not fit is refused", () => {
  const layout = tokenLayout(
    modularRandomDag(createRng(0), {
      nodes: { min: 7, max: 7 },
      states: { min: 2, max: 2 },
      edgeProb: 0.3,
      maxParents: 3,
    }),
  );
  const g = padToLayout(paperGraph("general5"), layout);
  assert.equal(g.variables.length, 7);
  assert.deepEqual(g.parents.slice(0, 5), paperGraph("general5").parents);
  assert.deepEqual(g.parents.slice(5), [[], []]);
  assert.deepEqual(
    g.variables.slice(5).map((v) => v.name),
    ["pad1", "pad2"],
  );
  assert.throws(
    () => padToLayout(paperGraph("chain10"), layout),
    /network "chain10" does not fit the model's layout \(7 variables.*it has 10 variables/,
  );
});

test("the batched evaluation agrees with the float64 engine and exact BMA on the same episodes", async () => {
  const t = loadStructureFreeModel(free);
  const o = {
    ...defaultStructureFreeOptions(t, [paperGraph("chain5")]),
    episodes: 4,
    seeds: 1,
    lengths: [1, 6],
    edgeQueries: 2,
    tokensPerChunk: 50, // several chunks, the last one padded
  };
  const r = await evaluateStructureFree(t, o, "tiny");
  assert.deepEqual(r, { ...(await evaluateStructureFree(t, o, "tiny")), seconds: r.seconds });
  assert.equal(r.points.length, 2 * 2 * 5); // sets x lengths x methods
  // Rebuild held-out episodes by the module's forks and score them one by one.
  const engine = structureFreeEngine(t);
  const M = 5;
  for (const n of o.lengths) {
    let modelSum = 0;
    let bmaSum = 0;
    const sens: number[] = [];
    const labels: number[] = [];
    for (let e = 0; e < o.episodes; e++) {
      const rng = createRng(o.evalSeed).fork(1).fork(0).fork(e);
      const s = { ...modularRandomDag(rng.fork(0), o.heldOut), name: HELD_OUT_NAME };
      const net = sampleNetwork(rng.fork(1), s, o.prior);
      const context = sampleRows(rng.fork(2), net, 6);
      const prefix = { vars: M, rows: n, data: context.data.subarray(0, n * M) };
      const queries = sampleRows(rng.fork(3), net, 2);
      const cond = engine.bind(net, prefix);
      const q0 = queries.data.subarray(0, M);
      modelSum += nodeAveragedTv(net, q0, (v) => cond(v, q0));
      const bma = {
        edgeProb: o.heldOut.edgeProb,
        maxParents: o.heldOut.maxParents,
        prior: o.prior,
      };
      bmaSum += nodeAveragedTv(net, q0, (v) => estimateBma(net, prefix, v, q0, bma));
      for (let j = 1; j < M; j++)
        for (let i = 0; i < j; i++) {
          let score = 0;
          for (let row = 0; row < 2; row++) {
            const q = queries.data.slice(row * M, (row + 1) * M);
            const base = cond(j, q);
            q[i] = 1 - q[i]!;
            score += tvDistance(cond(j, q), base) / 2;
          }
          sens.push(score);
          labels.push(net.parents[j]!.includes(i) ? 1 : 0);
        }
    }
    const point = (method: string) =>
      r.points.find((p) => p.network === HELD_OUT_NAME && p.length === n && p.method === method)!;
    // float32 jax vs float64 reference: close, not equal.
    assert.ok(Math.abs(point(MODEL).tv - modelSum / o.episodes) < 1e-4, `model at n=${n}`);
    assert.ok(Math.abs(point(BMA).tv - bmaSum / o.episodes) < 1e-12, `bma at n=${n}`);
    const edge: EdgePoint = r.edges.find(
      (p) => p.network === HELD_OUT_NAME && p.length === n && p.score === MODEL_SENSITIVITY,
    )!;
    assert.equal(edge.pairs, o.episodes * 10);
    assert.equal(
      edge.edges,
      labels.reduce((a, b) => a + b, 0),
    );
    const want = auroc(sens, labels);
    assert.ok(want === null ? edge.auroc === null : Math.abs(edge.auroc! - want) < 1e-6);
  }
  const chain = r.edges.filter((p) => p.network === "chain5" && p.score === BMA_POSTERIOR);
  assert.ok(chain.every((p) => p.edges === 4 * o.episodes && p.pairs === 10 * o.episodes));
});

test("eval-structure-free writes its files; a fixed-structure model is refused", async () => {
  const out = join(dir, "eval");
  const r = await run([
    ...["eval-structure-free", "--model", free, "--out", out, "--episodes", "2"],
    ...["--seeds", "1", "--lengths", "1,3", "--graphs", "general5", "--no-figures"],
  ]);
  assert.equal(r.code, 0, r.err);
  for (const f of ["points.csv", "edges.csv", "results.json", "report.md"])
    assert.ok(existsSync(join(out, f)), f);
  const report = readFileSync(join(out, "report.md"), "utf8");
  assert.match(report, /## held-out random/);
  assert.match(report, /## general5/);
  assert.match(report, /\| held-out random \| 3 \| .* \| .* \|/);
  const fixed = join(dir, "fixed");
  const t = await run([
    ...["train", "--graph", "chain5", "--steps", "1", "--batch", "2", "--query-rows", "1"],
    ...["--context-max", "8", "--d-model", "8", "--heads", "1", "--mlp", "8", "--out", fixed],
  ]);
  assert.equal(t.code, 0, t.err);
  const bad = await run(["eval-structure-free", "--model", fixed, "--out", join(dir, "e2")]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /not a structure-free one/);
});
