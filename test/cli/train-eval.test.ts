// The train / eval / experiment commands end to end, in-process, on tiny settings: flags
// and help, a run directory with its model, an evaluation report from it, and the
// experiment's report with its acceptance tables.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BnformerError } from "../../src/errors.ts";
import type { Command } from "../../src/cli/command.ts";
import { formatHelp, parseCommandArgs } from "../../src/cli/args.ts";
import { captureIo } from "../../src/cli/io.ts";
import { runConfigFromArgs, train } from "../../src/cli/commands/train.ts";
import { withSteps } from "../../src/train/sizing.ts";
import { evaluate } from "../../src/cli/commands/eval.ts";
import { experiment, experimentFromArgs } from "../../src/cli/commands/experiment.ts";
import { minutesFor } from "../../src/experiment/config.ts";
import { runConfig } from "../../src/experiment/plan.ts";
import { loadTrained, loadTrainedModel } from "../../src/train/saved-model.ts";

/** What main() does for one command (the commands may not be registered yet). */
async function run(
  cmd: Command,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  let code: number;
  try {
    const args = parseCommandArgs(cmd.def, argv);
    if (args.help) {
      io.out(formatHelp(cmd.def));
      code = 0;
    } else code = await cmd.run(args, io);
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    io.err(`bnformer ${cmd.def.name}: ${e.message}\n`);
    code = e.code === "config" ? 2 : 1;
  }
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const TINY = [
  "--batch",
  "2",
  "--query-rows",
  "1",
  "--context-max",
  "8",
  "--d-model",
  "8",
  "--heads",
  "1",
  "--mlp",
  "8",
];
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-train-cli-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("train --help lists the task, target, budget and model flags", async () => {
  const r = await run(train, ["--help"]);
  assert.equal(r.code, 0);
  for (const f of ["--task", "--target", "--minutes", "--steps", "--resume", "--d-model", "--out"])
    assert.match(r.out, new RegExp(f));
  const bad = await run(train, ["--target", "mse", "--out", join(dir, "x")]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--target must be one of prediction, mle, posterior-mean; got "mse"/);
  const mixed = await run(train, [
    "--task",
    "mixed",
    "--graph",
    "chain7,general5",
    "--out",
    join(dir, "y"),
  ]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /does not share the token layout/);
});

test("train writes a run directory whose model loads; eval writes CSV, JSON and the report", async () => {
  const out = join(dir, "run");
  const t = await run(train, ["--graph", "chain5", "--steps", "4", ...TINY, "--out", out]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /trained 4 steps/);
  for (const f of ["run.json", "metrics.jsonl", "checkpoint/config.json", "model/config.json"])
    assert.ok(existsSync(join(out, f)), f);
  const runJson = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as {
    task: { target: string };
    train: Record<string, unknown>;
    steps: number | null;
    minutes: number | null;
  };
  assert.equal(runJson.task.target, "posterior-mean");
  // run.json keeps the request; the step count the run trains to is the checkpoint's.
  assert.deepEqual([runJson.steps, runJson.minutes, "steps" in runJson.train], [4, null, false]);
  assert.equal(loadTrainedModel(out).structure.name, "chain5");
  const again = await run(train, ["--graph", "chain5", "--steps", "4", ...TINY, "--out", out]);
  assert.equal(again.code, 2);
  assert.match(again.err, /already holds a training run/);

  const evalDir = join(dir, "eval");
  const e = await run(evaluate, [
    "--checkpoint",
    out,
    "--episodes",
    "6",
    "--lengths",
    "1,4",
    "--out",
    evalDir,
    "--no-figures",
  ]);
  assert.equal(e.code, 0, e.err);
  for (const f of ["tv.csv", "tv-summary.csv", "results.json", "report.md"])
    assert.ok(existsSync(join(evalDir, f)), f);
  const report = readFileSync(join(evalDir, "report.md"), "utf8");
  assert.match(report, /\| model \| transformer trained on chain5, target posterior-mean/);
  const csv = readFileSync(join(evalDir, "tv.csv"), "utf8");
  assert.ok(csv.split("\n").some((l) => l.startsWith("model,0,4,(mean),")));
  const wrong = await run(evaluate, [
    "--checkpoint",
    out,
    "--graph",
    "tree5",
    "--out",
    join(dir, "e2"),
  ]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /trained on "chain5" only/);
});

test("a random-DAG model evaluates on any structure of its layout, and asks which", async () => {
  const out = join(dir, "dag");
  const t = await run(train, [
    "--task",
    "random-dag",
    "--nodes",
    "5",
    "--steps",
    "2",
    ...TINY,
    "--out",
    out,
  ]);
  assert.equal(t.code, 0, t.err);
  const none = await run(evaluate, ["--checkpoint", out, "--out", join(dir, "dag-eval0")]);
  assert.equal(none.code, 2);
  assert.match(none.err, /trained on random DAGs: give --graph or --structure/);
  const e = await run(evaluate, [
    "--checkpoint",
    out,
    "--graph",
    "general5",
    "--episodes",
    "3",
    "--lengths",
    "2",
    "--out",
    join(dir, "dag-eval"),
    "--no-figures",
  ]);
  assert.equal(e.code, 0, e.err);
  assert.match(
    readFileSync(join(dir, "dag-eval", "report.md"), "utf8"),
    /transformer trained on random DAGs/,
  );
});

test("train --dag-prior modular records the structure prior in run.json; stray flags exit 2", async () => {
  const out = join(dir, "free");
  const args = ["--task", "random-dag", "--dag-prior", "modular", "--steps", "2", ...TINY];
  const t = await run(train, [...args, "--edge-prob", "0.4", "--out", out]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /bnformer eval-structure-free --model /);
  const runJson = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as {
    task: { kind: string; randomDag: unknown; prior: unknown };
  };
  assert.equal(runJson.task.kind, "random-dag");
  assert.deepEqual(runJson.task.randomDag, {
    dagPrior: "modular",
    nodes: 7,
    states: 2,
    edgeProb: 0.4,
    maxParents: 3,
  });
  assert.deepEqual(runJson.task.prior, { kind: "uniform", low: 0.1, high: 0.9 });
  assert.deepEqual(loadTrained(out).config.task.randomDag, runJson.task.randomDag);
  const resumed = await run(train, ["--out", out, "--resume"]);
  assert.equal(resumed.code, 0, resumed.err);
  const stray = await run(train, [...args, "--p-min", "0.2", "--out", join(dir, "free2")]);
  assert.equal(stray.code, 2);
  assert.match(stray.err, /--p-min applies only to --dag-prior edge-range/);
  const noModular = await run(train, [
    ...["--task", "random-dag", "--max-parents", "2", "--out", join(dir, "free3")],
  ]);
  assert.equal(noModular.code, 2);
  assert.match(
    noModular.err,
    /--max-parents applies only to --task random-dag --dag-prior modular/,
  );
});

test("experiment paper writes the report with its acceptance tables", async () => {
  const out = join(dir, "paper");
  const argv = [
    "paper",
    "--preset",
    "smoke",
    "--graphs",
    "general5",
    "--targets",
    "posterior-mean",
    "--seeds",
    "0,1",
    "--steps",
    "2",
    "--episodes",
    "4",
    "--lengths",
    "1,200",
    "--out",
    out,
  ];
  const r = await run(experiment, argv);
  assert.equal(r.code, 0, r.err);
  const report = readFileSync(join(out, "report.md"), "utf8");
  assert.match(report, /^# Paper experiment, preset "smoke"/);
  assert.match(
    report,
    /\| general5 \| model-posterior-mean \| \d\.\d{3} \| \d\.\d{3} \| (met|missed) \|/,
  );
  assert.match(report, /On general5, TV averaged over nodes B, D, E at n = 200/);
  // seed | warmup steps (2 clipped to a tenth of 2 steps) | steps
  assert.match(report, /\| general5 \| posterior-mean \| cross-entropy \| 0 \| 0 \| 2 \|/);
  assert.match(report, /\| general5 \| posterior-mean \| cross-entropy \| 1 \| 0 \| 2 \|/);
  assert.match(
    report,
    /model-posterior-mean \| transformer trained on general5, .*; seeds 0, 1: 2, 2 steps, /,
  );
  for (const f of [
    "general5-tv.csv",
    "general5-results.json",
    "general5-tv.png",
    "experiment.json",
    "experiment-run.json",
  ])
    assert.ok(existsSync(join(out, f)), f);
});

test("experiment budgets: --minutes calibrates, --steps fixes, both fix steps under a cap", () => {
  const exp = (...flags: string[]) =>
    experimentFromArgs(parseCommandArgs(experiment.def, ["paper", "--out", "x", ...flags]));
  const preset = exp();
  assert.equal(preset.steps, null);
  assert.equal(minutesFor(preset, "posterior-mean"), 30);
  assert.equal(minutesFor(preset, "prediction"), 10);
  const mins = exp("--minutes", "12");
  assert.deepEqual([mins.steps, minutesFor(mins, "posterior-mean")], [null, 12]);
  const steps = exp("--steps", "40");
  assert.deepEqual([steps.steps, steps.minutes], [40, null]);
  const both = exp("--steps", "40", "--minutes", "12");
  const cfg = runConfig(both, "tree7", "posterior-mean", 1);
  assert.deepEqual([cfg.steps, cfg.minutes], [40, 12]);
});

test("train --minutes keeps --warmup until calibration sizes the run", () => {
  const cfg = runConfigFromArgs(
    parseCommandArgs(train.def, "--graph chain7 --minutes 5 --warmup 40 --out x".split(" ")),
  );
  assert.deepEqual([cfg.steps, cfg.minutes], [null, 5]);
  assert.equal(cfg.train.schedule.warmupSteps, 40);
  assert.equal(withSteps(cfg.train, 3000).schedule.warmupSteps, 40);
});

test("experiment --train-only trains the planned runs and writes no report", async () => {
  const out = join(dir, "train-only");
  const r = await run(experiment, [
    "paper",
    "--preset",
    "smoke",
    "--graphs",
    "tree7",
    "--targets",
    "posterior-mean",
    "--steps",
    "1",
    "--train-only",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /trained 1 run under .*--train-only/);
  assert.ok(existsSync(join(out, "runs", "tree7", "posterior-mean-seed0", "model")));
  assert.ok(!existsSync(join(out, "report.md")));
});
