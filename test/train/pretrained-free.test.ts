// The structure-free model as an engine: a tiny `train --task random-dag --dag-prior modular`
// run answering any structure of its layout (edges ignored), every earlier variable
// required, other layouts and fixed-structure models refused, and --engine pretrained-free
// in predict / fit with or without the shipped model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { BnformerError } from "../../src/errors.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { createRng } from "../../src/bn/rng.ts";
import { sampleNetwork } from "../../src/bn/priors.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { loadNetwork, saveNetwork } from "../../src/bn/network-file.ts";
import type { Network } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import type { CptPrior } from "../../src/bn/priors.ts";
import { transformerEngine } from "../../src/model/engine.ts";
import { generateRows } from "../../src/estimate/generate.ts";
import { loadTrained, readRunFile } from "../../src/train/saved-model.ts";
import {
  PRETRAINED_FREE_DIR,
  loadStructureFreeModel,
  pretrainedFreeEngine,
  structureFreeEngine,
} from "../../src/train/pretrained-free.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const PRIOR: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };

/** Rows as CSV with a header of variable names and state names. */
function csvText(net: Network, d: Dataset): string {
  const lines = [net.variables.map((v) => v.name).join(",")];
  for (let r = 0; r < d.rows; r++)
    lines.push(net.variables.map((v, m) => v.states[d.data[r * d.vars + m]!]).join(","));
  return lines.join("\n") + "\n";
}

const TINY = ["--batch", "2", "--query-rows", "1", "--context-max", "8"];
const SIZE = ["--d-model", "8", "--heads", "1", "--mlp", "8"];
let dir: string;
let free: string;
let fixed: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-free-"));
  free = join(dir, "free");
  fixed = join(dir, "chain7");
  const a = await run([
    ...["train", "--task", "random-dag", "--dag-prior", "modular", "--steps", "2"],
    ...[...TINY, ...SIZE, "--out", free],
  ]);
  assert.equal(a.code, 0, a.err);
  const b = await run([
    "train",
    "--graph",
    "chain7",
    "--steps",
    "1",
    ...TINY,
    ...SIZE,
    "--out",
    fixed,
  ]);
  assert.equal(b.code, 0, b.err);
  // chain7 with U(0.1, 0.9) CPTs as a file, and rows from it.
  const net = sampleNetwork(createRng(1), paperGraph("chain7"), PRIOR);
  saveNetwork(join(dir, "chain7.json"), net);
  writeFileSync(join(dir, "rows.csv"), csvText(net, sampleRows(createRng(2), net, 12)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the structure-free engine answers any structure of its layout, ignoring its edges", () => {
  const t = loadStructureFreeModel(free);
  const engine = structureFreeEngine(t);
  assert.equal(engine.name, "pretrained-free");
  const chain = paperGraph("chain7");
  const tree = paperGraph("tree7");
  const net = sampleNetwork(createRng(1), chain, PRIOR);
  const context = sampleRows(createRng(2), net, 12);
  const query = sampleRows(createRng(3), net, 1).data;
  const onChain = engine.bind(chain, context);
  const onTree = engine.bind(tree, context);
  // The same rows under other edges: the same answers (the model never sees the edges).
  for (let v = 0; v < 7; v++) {
    const p = onChain(v, query);
    assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-12);
    assert.deepEqual([...onTree(v, query)], [...p]);
  }
  // And the float64 reference on the full query row, as model:DIR runs it.
  const direct = transformerEngine(
    { structure: chain, spec: t.spec, weights: t.weights, shareContext: true },
    "x",
  ).bind(chain, context);
  assert.deepEqual([...direct(4, query)], [...onChain(4, query)]);
  // Every variable before the target must be given, not only the parents.
  const partial = Uint8Array.from(query);
  partial[1] = MISSING;
  assert.throws(
    () => onChain(4, partial),
    (e: unknown) =>
      e instanceof BnformerError &&
      e.code === "config" &&
      /estimate of "E" needs every variable before it; "B" is not given/.test(e.message),
  );
  assert.doesNotThrow(() => onChain(1, partial)); // B itself is the target: only A is needed
  // Generation asks with the earlier variables only (later ones missing): it draws rows.
  const rows = generateRows(createRng(6), chain, 5, onChain);
  assert.equal(rows.rows, 5);
  assert.ok(rows.data.every((x) => x === 0 || x === 1));
  const general5 = paperGraph("general5");
  const small = sampleRows(createRng(4), sampleNetwork(createRng(5), general5, PRIOR), 5);
  assert.throws(
    () => engine.bind(general5, small),
    /network "general5" \(5 variables.*does not fit this model's token layout \(7 variables/,
  );
});

test("a model trained on a given structure is not structure-free", () => {
  assert.throws(
    () => loadStructureFreeModel(fixed),
    (e: unknown) =>
      e instanceof BnformerError &&
      /a "single" model, trained on given structures, not a structure-free one/.test(e.message),
  );
  assert.equal(loadTrained(fixed).config.task.randomDag, null);
});

test("--engine pretrained-free resolves to models/pretrained-free and says clearly when it is missing", async () => {
  assert.match(PRETRAINED_FREE_DIR, /models[/\\]pretrained-free[/\\]?$/);
  assert.throws(
    () => pretrainedFreeEngine(join(dir, "no-such-model")),
    (e: unknown) =>
      e instanceof BnformerError &&
      e.code === "config" &&
      /no structure-free model at .*no-such-model/.test(e.message) &&
      /--task random-dag --dag-prior modular/.test(e.message),
  );
  assert.equal(pretrainedFreeEngine(free).name, "pretrained-free");
});

test("predict and fit --engine pretrained-free: every earlier variable, the shipped model or a clear error", async () => {
  const structure = join(dir, "chain7.json");
  const data = join(dir, "rows.csv");
  // predict checks the query before loading anything.
  const few = await run([
    ...["predict", "--structure", structure, "--context", data, "--target", "D"],
    ...["--given", "C=1", "--engine", "pretrained-free"],
  ]);
  assert.equal(few.code, 2);
  assert.match(few.err, /--given must set A, B: the pretrained-free estimate of "D"/);
  const fit = await run([
    ...["fit", "--structure", structure, "--data", data],
    ...["--engine", "pretrained-free", "--out", join(dir, "fitted.json")],
  ]);
  if (!existsSync(PRETRAINED_FREE_DIR)) {
    assert.equal(fit.code, 2);
    assert.match(fit.err, /no structure-free model at .*pretrained-free/);
  } else {
    // The shipped model has chain7's layout: every variable conditioned on all earlier ones.
    assert.equal(fit.code, 0, fit.err);
    const net = loadNetwork(join(dir, "fitted.json"));
    net.parents.forEach((ps, v) => assert.deepEqual(ps, [...Array(v).keys()]));
  }
});

test("run.json's modular task is checked field by field", () => {
  const file = join(free, "run.json");
  const original = readFileSync(file, "utf8");
  const edited = (edit: (dag: Record<string, unknown>) => void) => {
    const json = JSON.parse(original) as { task: { randomDag: Record<string, unknown> } };
    edit(json.task.randomDag);
    const path = join(dir, "edited-run.json");
    writeFileSync(path, JSON.stringify(json));
    return () => readRunFile(path);
  };
  assert.deepEqual(readRunFile(file).config.task.randomDag, {
    dagPrior: "modular",
    nodes: 7,
    states: 2,
    edgeProb: 0.35,
    maxParents: 3,
  });
  assert.throws(
    edited((d) => (d.dagPrior = "other")),
    /field "task.randomDag.dagPrior": expected "modular", got "other"/,
  );
  assert.throws(
    edited((d) => (d.edgeProb = 2)),
    /field "task.randomDag.edgeProb": expected a finite number >= 0 and <= 1, got 2/,
  );
  assert.throws(
    edited((d) => (d.pMin = 0.1)),
    /field "task.randomDag.pMin": unknown field/,
  );
  // Without dagPrior it is read as the older edge-range task, which has pMin and pMax.
  assert.throws(
    edited((d) => delete d.dagPrior),
    /field "task.randomDag.pMin" is missing/,
  );
});

test("a run's checkpoint loads as a structure-free model, to measure a run before it finishes", () => {
  const unfinished = join(dir, "unfinished");
  cpSync(free, unfinished, { recursive: true });
  rmSync(join(unfinished, "model"), { recursive: true });
  const done = loadStructureFreeModel(free);
  assert.match(done.description, /^trained model .*free \(2 steps\)$/);
  for (const at of [unfinished, join(unfinished, "checkpoint")]) {
    const m = loadStructureFreeModel(at);
    assert.match(m.description, /^training checkpoint .*checkpoint at step 2$/);
    assert.deepEqual(m.spec, done.spec);
    assert.deepEqual(m.weights, done.weights); // the last checkpoint holds the final weights
  }
  rmSync(join(unfinished, "run.json"));
  assert.throws(
    () => loadStructureFreeModel(join(unfinished, "checkpoint")),
    /a training checkpoint without its run's run.json/,
  );
});
