// The CLI's contract: real counts from `info`, clear located errors with non-zero exit
// codes, refusal to overwrite inputs, and no half-written outputs. Runs commands in-process
// through main(); one test runs the installed `bnformer` bin as users do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { sampleNetwork } from "../../src/bn/priors.ts";
import { createRng } from "../../src/bn/rng.ts";
import { saveNetwork } from "../../src/bn/network-file.ts";
import { TINY_TRAIN_FLAGS } from "../helpers.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const tmp = () => mkdtempSync(join(tmpdir(), "bnformer-cli-"));

// Counts from data/SOURCES.md: nodes, edges, max in-degree, max states, free parameters.
const SOURCES_COUNTS: Record<string, [number, number, number, number, number]> = {
  asia: [8, 8, 2, 2, 18],
  cancer: [5, 4, 2, 2, 10],
  earthquake: [5, 4, 2, 2, 10],
  survey: [6, 6, 2, 3, 21],
  sachs: [11, 17, 3, 3, 178],
  child: [20, 25, 2, 6, 230],
  insurance: [27, 52, 3, 5, 1008],
  alarm: [37, 46, 4, 4, 509],
  water: [32, 66, 5, 4, 10083],
  hailfinder: [56, 66, 4, 11, 2656],
};

test("info reports the counts of SOURCES.md for every shared network", async () => {
  for (const [name, expected] of Object.entries(SOURCES_COUNTS)) {
    const r = await run(["info", `data/bif/${name}.bif`, "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(
      [j.nodes, j.edges, j.maxInDegree, j.maxStates, j.freeParameters],
      expected,
      name,
    );
  }
});

test("info's table names each variable with its parents", async () => {
  const r = await run(["info", "data/bif/asia.bif"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /8 nodes, 8 edges, max in-degree 2, max states 2, 18 free parameters/);
  assert.match(r.out, /either\s+yes, no\s+lung, tub\s+2\s+4/);
});

test("a malformed BIF gives file:line:col and exit 1", async () => {
  const d = tmp();
  const f = join(d, "bad.bif");
  writeFileSync(
    f,
    "network x {}\nvariable A {\n  type discrete [ 2 ] { a, b };\n}\nprobability ( A ) {\n  table 0.5 0.5 0.1;\n}\n",
  );
  const r = await run(["info", f]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`^bnformer info: ${f.replace(/[.]/g, "\\.")}:6:\\d+: `));
});

test("a cyclic network is rejected, naming the cycle", async () => {
  const d = tmp();
  const f = join(d, "cyc.json");
  const v = (name: string, parents: string[]) => ({
    name,
    states: ["0", "1"],
    parents,
    cpt: parents.length
      ? [
          [0.5, 0.5],
          [0.5, 0.5],
        ]
      : [[0.5, 0.5]],
  });
  writeFileSync(
    f,
    JSON.stringify({
      format: "bnformer-network/1",
      variables: [v("A", ["C"]), v("B", ["A"]), v("C", ["B"])],
    }),
  );
  const r = await run(["info", f]);
  assert.equal(r.code, 1);
  assert.match(r.err, /cycle: [ABC] -> [ABC] -> [ABC] -> [ABC]/);
});

test("data errors name the row and column: undeclared state, missing column, empty file", async () => {
  const d = tmp();
  const bad = join(d, "bad.csv");
  const out = join(d, "fit.json");
  const fit = (data: string) =>
    run(["fit", "--structure", "data/bif/asia.bif", "--data", data, "--out", out]);
  const header = "asia,tub,smoke,lung,bronc,either,xray,dysp";
  writeFileSync(bad, `${header}\nno,no,no,no,no,no,no,no\nno,no,maybe,no,no,no,no,no\n`);
  let r = await fit(bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /:3:\d+: .*smoke.*"maybe"/);
  writeFileSync(bad, "asia,tub,smoke,lung,bronc,either,xray\nno,no,no,no,no,no,no\n");
  r = await fit(bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /dysp/);
  writeFileSync(bad, "");
  r = await fit(bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /empty/i);
  assert.equal(existsSync(out), false, "no output after a failed fit");
});

test("an output path equal to an input is refused and the input is untouched", async () => {
  const d = tmp();
  const data = join(d, "rows.csv");
  assert.equal(
    (
      await run([
        "sample",
        "--network",
        "data/bif/asia.bif",
        "--n",
        "50",
        "--seed",
        "2",
        "--out",
        data,
      ])
    ).code,
    0,
  );
  const before = readFileSync(data, "utf8");
  const r = await run(["fit", "--structure", "data/bif/asia.bif", "--data", data, "--out", data]);
  assert.equal(r.code, 1);
  assert.match(r.err, /refusing to write over an input file/);
  assert.equal(readFileSync(data, "utf8"), before);
  const c = await run(["convert", "data/bif/asia.bif", "data/bif/asia.bif"]);
  assert.equal(c.code, 1);
});

test("a failed write leaves the old output in place and no temporary file", async () => {
  const d = tmp();
  const out = join(d, "fit.bif");
  writeFileSync(out, "precious");
  const bad = join(d, "bad.csv");
  writeFileSync(bad, "asia\nnot-a-state\n");
  const r = await run([
    "fit",
    "--structure",
    "data/bif/asia.bif",
    "--data",
    bad,
    "--out",
    out,
    "--unknown-columns",
    "ignore",
  ]);
  assert.equal(r.code, 1);
  assert.equal(readFileSync(out, "utf8"), "precious");
  assert.deepEqual(readdirSync(d).sort(), ["bad.csv", "fit.bif"]);
});

test("bad flags exit 2 with the flag named", async () => {
  let r = await run(["sample", "--network", "data/bif/asia.bif", "--n", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--n must be >= 1; got 0/);
  r = await run(["sample", "--network", "data/bif/asia.bif", "--n", "3", "--colour", "red"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /Unknown option '--colour'/);
  r = await run(["fit", "--data", "x.csv", "--out", "y.bif"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /missing required flag --structure/);
  r = await run(["nonsense"]);
  assert.equal(r.code, 2);
});

test("sample is deterministic per seed and convert round-trips through JSON", async () => {
  const d = tmp();
  const a = await run(["sample", "--network", "data/bif/asia.bif", "--n", "20", "--seed", "9"]);
  const b = await run(["sample", "--network", "data/bif/asia.bif", "--n", "20", "--seed", "9"]);
  const c = await run(["sample", "--network", "data/bif/asia.bif", "--n", "20", "--seed", "10"]);
  assert.equal(a.out, b.out);
  assert.notEqual(a.out, c.out);
  assert.equal((await run(["convert", "data/bif/asia.bif", join(d, "asia.json")])).code, 0);
  assert.equal((await run(["convert", join(d, "asia.json"), join(d, "asia.bif")])).code, 0);
  const info1 = (await run(["info", "data/bif/asia.bif", "--json"])).out;
  const info2 = (await run(["info", join(d, "asia.bif"), "--json"])).out;
  assert.deepEqual({ ...JSON.parse(info1), file: "" }, { ...JSON.parse(info2), file: "" });
});

test("predict --format json prints the documented shape and the construction agrees with MLE", async () => {
  const d = tmp();
  const ctx = join(d, "ctx.csv");
  await run([
    "sample",
    "--network",
    "data/bif/asia.bif",
    "--n",
    "300",
    "--seed",
    "4",
    "--out",
    ctx,
  ]);
  const base = [
    "predict",
    "--structure",
    "data/bif/asia.bif",
    "--context",
    ctx,
    "--target",
    "dysp",
    "--given",
    "bronc=yes,either=no",
    "--format",
    "json",
  ];
  const mle = JSON.parse((await run([...base, "--engine", "mle"])).out);
  const con = JSON.parse((await run([...base, "--engine", "construction", "--eps", "1e-6"])).out);
  assert.equal(mle.target, "dysp");
  assert.deepEqual(Object.keys(mle.distribution), ["yes", "no"]);
  for (const s of ["yes", "no"])
    assert.ok(Math.abs(mle.distribution[s] - con.distribution[s]) <= 1e-6);
  const missing = await run([...base.slice(0, 7), "--given", "bronc=yes"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--given must set either/);
});

test("npx bnformer runs the CLI through the package bin", () => {
  const r = spawnSync("npx", ["--no-install", "bnformer", "info", "data/bif/asia.bif"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /18 free parameters/);
});

test("--engine model:DIR runs a trained checkpoint and a saved construction", async () => {
  const d = tmp();
  const structure = join(d, "chain5.json");
  const ctx = join(d, "ctx.csv");
  const run5 = join(d, "run");
  const r = await run([
    "train",
    "--graph",
    "chain5",
    "--steps",
    "2",
    ...TINY_TRAIN_FLAGS,
    "--out",
    run5,
  ]);
  assert.equal(r.code, 0, r.err);
  // The trained model's network: chain5 written as a file the in-context commands read.
  saveNetwork(
    structure,
    sampleNetwork(createRng(1), paperGraph("chain5"), { kind: "uniform", low: 0.1, high: 0.9 }),
  );
  assert.equal(
    (await run(["sample", "--network", structure, "--n", "20", "--seed", "1", "--out", ctx])).code,
    0,
  );
  const predictC = (engine: string) =>
    run([
      "predict",
      "--structure",
      structure,
      "--context",
      ctx,
      "--target",
      "C",
      "--given",
      "B=1",
      "--engine",
      engine,
      "--format",
      "json",
    ]);
  const p = await predictC(`model:${run5}`);
  assert.equal(p.code, 0, p.err);
  const dist = JSON.parse(p.out).distribution as Record<string, number>;
  assert.ok(Math.abs(dist["0"]! + dist["1"]! - 1) < 1e-9);
  const g = await run([
    "generate",
    "--structure",
    structure,
    "--context",
    ctx,
    "--n",
    "3",
    "--seed",
    "2",
    "--engine",
    `model:${run5}`,
  ]);
  assert.equal(g.code, 0, g.err);
  assert.equal(g.out.trim().split("\n").length, 4);
  const ck = join(d, "construction");
  assert.equal(
    (await run(["construct", "--structure", structure, "--max-context", "20", "--out", ck])).code,
    0,
  );
  const viaDir = await predictC(`model:${ck}`);
  const viaMle = await predictC("mle");
  const a = JSON.parse(viaDir.out).distribution as Record<string, number>;
  const b = JSON.parse(viaMle.out).distribution as Record<string, number>;
  assert.ok(Math.abs(a["1"]! - b["1"]!) <= 1e-6);
});
