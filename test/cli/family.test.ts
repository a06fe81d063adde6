// The family (network-agnostic) model end to end: a tiny `train --task family` run, its model
// answering predict / generate / fit on asia and child (6 states), the jax and float64
// reference executors agreeing, the limits refused, and --engine pretrained without a model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { BnformerError } from "../../src/errors.ts";
import { loadNetwork, loadStructure } from "../../src/bn/network-file.ts";
import { loadCsv } from "../../src/bn/csv-file.ts";
import { tabulateConditional } from "../../src/estimate/generate.ts";
import { loadSavedModel, trainedModelOf } from "../../src/train/saved-model.ts";
import { trainedEngine } from "../../src/train/trained-model.ts";
import { familyCptsJax } from "../../src/model/jax/family.ts";
import { familyEngine } from "../../src/model/engine.ts";
import { flattenWeights, initWeights } from "../../src/model/spec.ts";
import { createRng } from "../../src/bn/rng.ts";
import { PRETRAINED_DIR, pretrainedEngine } from "../../src/train/pretrained.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const ASIA = "data/bif/asia.bif";
const CHILD = "data/bif/child.bif";
let dir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-family-"));
  model = join(dir, "run");
  const r = await run([
    ...["train", "--task", "family", "--steps", "3", "--seed", "4"],
    ...["--batch", "2", "--query-rows", "2", "--context-max", "12"],
    ...["--d-model", "8", "--heads", "1", "--mlp", "8", "--out", model],
  ]);
  assert.equal(r.code, 0, r.err);
  for (const [net, rows] of [
    [ASIA, "asia.csv"],
    [CHILD, "child.csv"],
  ] as const) {
    const s = await run([
      "sample",
      "--network",
      net,
      "--n",
      "40",
      "--seed",
      "2",
      "--out",
      join(dir, rows),
    ]);
    assert.equal(s.code, 0, s.err);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the saved family model records its task and loads through loadSavedModel", () => {
  const saved = trainedModelOf(loadSavedModel(model));
  assert.equal(saved.config.task.kind, "family");
  assert.deepEqual(saved.config.task.family, { kMax: 4, dMin: 2, dMax: 6 });
  assert.equal(saved.config.task.prior.kind, "dirichlet-mixture");
  assert.equal(saved.spec.outputDim, 6);
  assert.equal(saved.spec.inputDim, 5 * 7 + 7);
});

test("predict --engine model:DIR answers on asia and on child (6 states) with distributions", async () => {
  for (const [net, rows, target, given, K] of [
    [ASIA, "asia.csv", "either", "lung=yes,tub=no", 2],
    [CHILD, "child.csv", "Disease", "BirthAsphyxia=yes", 6],
  ] as const) {
    const r = await run([
      ...["predict", "--structure", net, "--context", join(dir, rows)],
      ...["--target", target, "--given", given, "--engine", `model:${model}`, "--format", "json"],
    ]);
    assert.equal(r.code, 0, r.err);
    const p = Object.values(JSON.parse(r.out).distribution as Record<string, number>);
    assert.equal(p.length, K);
    assert.ok(p.every((x) => x > 0 && x < 1));
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
});

test("the family model is trained with context tokens that see only themselves", () => {
  assert.equal(trainedModelOf(loadSavedModel(model)).spec.contextAttention, "self");
});

test("explain --engine model:DIR shows the family model's attention per context row; predict agrees", async () => {
  const args = [
    ...["--structure", ASIA, "--context", join(dir, "asia.csv"), "--target", "dysp"],
    ...["--given", "bronc=yes,either=no", "--engine", `model:${model}`, "--format", "json"],
  ];
  const e = await run(["explain", ...args]);
  assert.equal(e.code, 0, e.err);
  const x = JSON.parse(e.out);
  assert.deepEqual(x.parents, ["bronc", "either"]);
  // One model layer of one head; its rows by agreement cover all 40 context rows.
  assert.equal(x.heads.length, 2);
  for (const h of x.heads)
    assert.equal(
      (h.rowsByAgreement as number[]).reduce((a, b) => a + b, 0),
      40,
    );
  const p = await run(["predict", ...args]);
  assert.equal(p.code, 0, p.err);
  const a = JSON.parse(p.out).distribution as Record<string, number>;
  for (const [state, prob] of Object.entries(x.distribution as Record<string, number>))
    assert.ok(Math.abs(prob - a[state]!) < 1e-9, `${state}: explain ${prob}, predict ${a[state]}`);
});

test("every conditional of child: K entries summing to 1; jax and float64 reference agree", async () => {
  const structure = loadStructure(CHILD);
  const context = loadCsv(join(dir, "child.csv"), structure);
  const saved = trainedModelOf(loadSavedModel(model));
  if (!("kind" in saved.task.layout)) throw new Error("not a family model");
  // Three steps leave near-uniform outputs; weights 25x the initial scale make sharp ones,
  // so that agreement means something.
  const weights = initWeights(createRng(7), saved.spec);
  for (const t of flattenWeights(weights).values()) t.data.forEach((x, i) => (t.data[i] = 25 * x));
  const family = { spec: saved.spec, weights, layout: saved.task.layout };
  const reference = tabulateConditional(structure, familyEngine(family).bind(structure, context));
  const targets = structure.variables.map((_, v) => v);
  const fast = await familyCptsJax(family, structure, context, targets);
  let gap = 0;
  let spread = 0;
  reference.cpts.forEach((cpt, v) => {
    const K = structure.variables[v]!.states.length;
    assert.equal(cpt.length % K, 0);
    for (let c = 0; c < cpt.length; c += K) {
      const sum = cpt.subarray(c, c + K).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `${structure.variables[v]!.name} row ${c / K}`);
    }
    assert.equal(fast[v]!.length, cpt.length);
    cpt.forEach((x, i) => {
      gap = Math.max(gap, Math.abs(x - fast[v]![i]!));
      spread = Math.max(spread, Math.abs(x - 1 / K));
    });
  });
  assert.ok(spread > 0.1, `outputs too flat to compare: ${spread}`);
  assert.ok(gap < 1e-4, `jax vs reference: ${gap}`);
  // The trained model itself through the CLI engine: distributions over K states too.
  const trained = tabulateConditional(
    structure,
    trainedEngine(saved, "f").bind(structure, context),
  );
  trained.cpts.forEach((cpt, v) =>
    assert.equal(cpt.length % structure.variables[v]!.states.length, 0),
  );
});

test("generate and fit --engine model:DIR work with the family model", async () => {
  const g = await run([
    ...["generate", "--structure", ASIA, "--context", join(dir, "asia.csv")],
    ...["--n", "5", "--seed", "1", "--engine", `model:${model}`, "--out", join(dir, "gen.csv")],
  ]);
  assert.equal(g.code, 0, g.err);
  const f = await run([
    ...["fit", "--structure", ASIA, "--data", join(dir, "asia.csv")],
    ...["--engine", `model:${model}`, "--out", join(dir, "fit.bif")],
  ]);
  assert.equal(f.code, 0, f.err);
  const net = loadNetwork(join(dir, "fit.bif"));
  assert.equal(net.cpts.length, 8);
});

test("families past the model's limits are refused, naming the variable and the limit", async () => {
  const states = (k: number) => Array.from({ length: k }, (_, i) => `s${i}`);
  const wide = {
    name: "wide",
    variables: [
      ...["A", "B", "C", "D", "E"].map((n) => ({ name: n, states: states(2) })),
      { name: "Hub", states: states(2) },
    ],
    parents: [[], [], [], [], [], [0, 1, 2, 3, 4]],
  };
  const tall = {
    name: "tall",
    variables: [
      { name: "Big", states: states(7) },
      { name: "Y", states: states(2) },
    ],
    parents: [[], [0]],
  };
  for (const [s, target, given, re] of [
    [wide, "Hub", "A=s0,B=s0,C=s0,D=s0,E=s0", /"Hub" has 5 parents; .*kMax = 4/],
    [tall, "Y", "Big=s6", /"Big" \(a parent of "Y"\) has 7 states; .*dMax = 6/],
    [tall, "Big", "", /"Big" has 7 states; .*dMax = 6/],
  ] as const) {
    const file = join(dir, `${s.name}.json`);
    const json = {
      format: "bnformer-network/1",
      name: s.name,
      variables: s.variables.map((v, i) => ({
        ...v,
        parents: s.parents[i]!.map((p) => s.variables[p]!.name),
      })),
    };
    writeFileSync(file, JSON.stringify(json));
    const rows = join(dir, `${s.name}.csv`);
    const names = s.variables.map((v) => v.name);
    writeFileSync(rows, `${names.join(",")}\n${names.map(() => "s1").join(",")}\n`);
    const r = await run([
      ...["predict", "--structure", file, "--context", rows, "--target", target],
      ...(given ? ["--given", given] : []),
      ...["--engine", `model:${model}`],
    ]);
    assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}`);
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});

test("--engine pretrained resolves to models/pretrained and says clearly when the model is missing", async () => {
  assert.match(PRETRAINED_DIR, /models[/\\]pretrained[/\\]?$/);
  assert.throws(
    () => pretrainedEngine(join(dir, "no-such-model")),
    (e: unknown) =>
      e instanceof BnformerError &&
      /no pretrained model at/.test(e.message) &&
      /bnformer train --task family/.test(e.message),
  );
  assert.equal(pretrainedEngine(model).name, "pretrained");
});

test("bnformer eval refuses a family model clearly (it runs through --engine model:DIR)", async () => {
  const r = await run(["eval", "--checkpoint", model, "--out", join(dir, "eval")]);
  assert.equal(r.code, 2);
  assert.match(r.err, /family \(network-agnostic\) model .* --engine model:DIR/);
});

test("train --init-from DIR fine-tunes a trained model: its weights are the start, recorded in run.json", async () => {
  const args = (out: string, extra: string[] = []) => [
    ...["train", "--task", "family", "--steps", "2", "--seed", "4"],
    ...["--batch", "2", "--query-rows", "2", "--context-max", "12"],
    ...["--d-model", "8", "--heads", "1", "--mlp", "8", "--out", out, ...extra],
  ];
  const fresh = join(dir, "fresh");
  const tuned = join(dir, "tuned");
  assert.equal((await run(args(fresh))).code, 0);
  const r = await run(args(tuned, ["--init-from", model]));
  assert.equal(r.code, 0, r.err);
  const rec = JSON.parse(readFileSync(join(tuned, "run.json"), "utf8"));
  assert.match(rec.initFrom.model, /run[/\\]model$/);
  assert.match(rec.initFrom.weightsSha256, /^[0-9a-f]{64}$/);
  // Same seed, same batches: only the starting weights differ, so the first loss does.
  const firstLoss = (d: string) =>
    JSON.parse(readFileSync(join(d, "metrics.jsonl"), "utf8").split("\n")[0]!).loss as number;
  assert.notEqual(firstLoss(tuned), firstLoss(fresh));
  const bad = await run(args(join(dir, "bad"), ["--init-from", model, "--d-model", "16"]));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /another architecture/);
});
