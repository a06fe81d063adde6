// Bad input at the CLI (issue 14): every rejection is exit 1 (input) or 2 (flags) with a
// clear message, and leaves nothing behind that blocks the corrected command.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { ROW_CHUNK } from "../../src/cli/shared.ts";
import { loadNetwork } from "../../src/bn/network-file.ts";
import { writeCsv } from "../../src/bn/csv.ts";
import { loadCsv } from "../../src/bn/csv-file.ts";
import { createRng } from "../../src/bn/rng.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { generateRows } from "../../src/estimate/index.ts";
import { estimatorEngine } from "../../src/model/engine.ts";
import { MAX_EVAL_LENGTH, resolveProtocolConfig } from "../../src/eval/protocol.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const tmp = () => mkdtempSync(join(tmpdir(), "bnformer-input-"));

const TINY = [
  ...["--batch", "2", "--query-rows", "1", "--context-max", "8"],
  ...["--d-model", "8", "--mlp", "8", "--steps", "1"],
];

test("a rejected train config leaves no run folder; the corrected rerun trains", async () => {
  const out = join(tmp(), "run");
  const rejected: string[][] = [
    ["--heads", "3"], // not a divisor of --d-model 8
    ["--heads", "1", "--context-min", "9"], // above --context-max 8
    ["--heads", "1", "--task", "random-dag", "--p-min", "0.9", "--p-max", "0.2"],
    ["--heads", "1", "--query-rows", "100000"], // attention scores beyond any machine
  ];
  for (const flags of rejected) {
    const r = await run(["train", ...TINY, ...flags, "--out", out]);
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    assert.equal(existsSync(out), false, `${flags.join(" ")} left ${out} behind`);
  }
  const ok = await run(["train", ...TINY, "--heads", "2", "--out", out]);
  assert.equal(ok.code, 0, ok.err);
  assert.ok(existsSync(join(out, "model")));
});

const ASIA = "data/bif/asia.bif";
const ASIA_HEADER = "asia,tub,smoke,lung,bronc,either,xray,dysp";

/** A CSV over asia's variables plus an INT column, with "?" and "NA" for missing cells. */
function asiaWithTokens(dir: string): string {
  const path = join(dir, "tokens.csv");
  writeFileSync(
    path,
    `${ASIA_HEADER},INT\n` +
      "yes,no,?,no,yes,no,no,yes,1\n" +
      "NA,no,yes,no,yes,no,no,yes,2\n" +
      "no,no,yes,yes,no,yes,yes,yes,0\n",
  );
  return path;
}

test("error hints name the CLI flags, not the library's option names", async () => {
  const dir = tmp();
  const data = asiaWithTokens(dir);
  const out = join(dir, "fit.bif");
  const column = await run(["fit", "--structure", ASIA, "--data", data, "--out", out]);
  assert.equal(column.code, 1);
  assert.match(column.err, /column "INT" is not a variable/);
  assert.match(column.err, /pass --ignore-columns INT or --unknown-columns ignore to skip it/);
  assert.doesNotMatch(column.err, /ignoreColumns|unknownColumns/);

  const cell = await run([
    "fit",
    "--structure",
    ASIA,
    "--data",
    data,
    "--out",
    out,
    "--ignore-columns",
    "INT",
  ]);
  assert.equal(cell.code, 1);
  assert.match(cell.err, /tokens\.csv:2:\d+: variable "smoke": "\?" is not a declared state/);
  assert.match(cell.err, /pass --missing '\?' or --undeclared-states missing/);
  assert.doesNotMatch(cell.err, /undeclaredStates/);
  // A suggested token adds to the ones already given.
  const more = await run([
    ...["fit", "--structure", ASIA, "--data", data, "--out", out],
    ...["--ignore-columns", "INT", "--missing", "NA"],
  ]);
  assert.match(more.err, /"\?" is not a declared state.*pass --missing 'NA,\?' or/);
  assert.equal(existsSync(out), false);

  const unseen = await run([
    ...["predict", "--structure", ASIA, "--context", data, "--ignore-columns", "INT"],
    ...["--missing", "?,NA", "--target", "lung", "--given", "smoke=no", "--unseen", "error"],
  ]);
  assert.equal(unseen.code, 1);
  assert.match(unseen.err, /pass --unseen marginal or --unseen uniform or --estimator bdeu/);

  const rounded = join(dir, "rounded.bif");
  writeFileSync(
    rounded,
    "network r { }\nvariable A { type discrete [ 2 ] { a0, a1 }; }\n" +
      "probability ( A ) { table 0.50004, 0.5; }\n",
  );
  const info = await run(["info", rounded]);
  assert.equal(info.code, 1);
  assert.match(info.err, /pass --renormalize to rescale rounded rows/);
});

test("--missing reads the listed tokens as missing in every command that reads data", async () => {
  const dir = tmp();
  const data = asiaWithTokens(dir);
  const read = ["--ignore-columns", "INT", "--missing", " ?, NA ,"];
  const fitted = join(dir, "fit.json");
  const fit = await run(["fit", "--structure", ASIA, "--data", data, "--out", fitted, ...read]);
  assert.equal(fit.code, 0, fit.err);
  // smoke is missing in row 1, observed "yes" in rows 2-3: its MLE is P(yes) = 1.
  const net = JSON.parse(readFileSync(fitted, "utf8")) as {
    variables: { name: string; cpt: number[][] }[];
  };
  assert.deepEqual(net.variables.find((v) => v.name === "smoke")!.cpt, [[1, 0]]);
  const context = ["--structure", ASIA, "--context", data, ...read];
  const query = ["--target", "lung", "--given", "smoke=yes"];
  const predict = await run(["predict", ...context, ...query, "--format", "json"]);
  assert.equal(predict.code, 0, predict.err);
  assert.deepEqual(JSON.parse(predict.out).distribution, { yes: 0.5, no: 0.5 });
  const generate = await run(["generate", ...context, "--n", "2", "--seed", "1"]);
  assert.equal(generate.code, 0, generate.err);
  assert.equal(generate.out.trim().split("\n").length, 3);
  const explain = await run(["explain", ...context, ...query]);
  assert.equal(explain.code, 0, explain.err);
  // A token that is also a state is refused, naming both.
  const clash = await run([
    "fit",
    "--structure",
    ASIA,
    "--data",
    data,
    "--out",
    fitted,
    "--missing",
    "yes",
  ]);
  assert.equal(clash.code, 2);
  assert.match(clash.err, /missing-value token "yes" is also a state of variable "asia"/);
});

test("fit refuses a data file with a header and no rows, naming the file", async () => {
  const dir = tmp();
  const data = join(dir, "header-only.csv");
  writeFileSync(data, `${ASIA_HEADER}\n\n`);
  const out = join(dir, "fit.bif");
  const r = await run(["fit", "--structure", ASIA, "--data", data, "--out", out]);
  assert.equal(r.code, 1);
  assert.match(r.err, /header-only\.csv: no data rows after the header/);
  assert.equal(existsSync(out), false);
});

test("fit says when its estimator writes another structure than the one given", async () => {
  const dir = tmp();
  const data = join(dir, "rows.csv");
  assert.equal((await run(["sample", "--network", ASIA, "--n", "200", "--out", data])).code, 0);
  const edgesOf = (path: string) =>
    (JSON.parse(readFileSync(path, "utf8")) as { variables: { parents: string[] }[] }).variables
      .map((v) => v.parents.length)
      .reduce((a, b) => a + b, 0);
  const expected: Record<string, RegExp | null> = {
    naive:
      /note: --estimator naive conditions every variable on all the variables before it.*28 edges, the structure 8/,
    marginal:
      /note: --estimator marginal fits every variable without parents.*0 edges, the structure 8/,
    mle: null,
    bdeu: null,
  };
  for (const [estimator, note] of Object.entries(expected)) {
    const out = join(dir, `${estimator}.json`);
    const r = await run([
      "fit",
      "--structure",
      ASIA,
      "--data",
      data,
      "--estimator",
      estimator,
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.err);
    if (note) assert.match(r.err, note);
    else assert.doesNotMatch(r.err, /note:/);
    // The note states what was written.
    assert.equal(edgesOf(out), estimator === "naive" ? 28 : estimator === "marginal" ? 0 : 8);
  }
});

test("an output that is a folder is refused before any work; a missing folder is created", async () => {
  const dir = tmp();
  const sample = await run(["sample", "--network", ASIA, "--n", "5", "--out", dir]);
  assert.equal(sample.code, 1);
  assert.match(sample.err, /cannot write: it is a folder; give a file path/);
  assert.doesNotMatch(sample.err, /\.tmp|EISDIR/);
  const fit = await run(["fit", "--structure", ASIA, "--data", dir, "--out", join(dir, "f.bif")]);
  assert.equal(fit.code, 1);
  assert.match(fit.err, /cannot read: it is a folder, not a file/);
  const nested = join(dir, "a", "b", "asia.json");
  const convert = await run(["convert", ASIA, nested]);
  assert.equal(convert.code, 0, convert.err);
  assert.ok(existsSync(nested));
});

test("sample and generate write in chunks the very rows of one call", async () => {
  const dir = tmp();
  const n = ROW_CHUNK + 1000;
  const out = join(dir, "rows.csv");
  assert.equal(
    (await run(["sample", "--network", ASIA, "--n", String(n), "--seed", "9", "--out", out])).code,
    0,
  );
  const net = loadNetwork(ASIA);
  const whole = writeCsv(net, sampleRows(createRng(9), net, n));
  assert.equal(readFileSync(out, "utf8"), whole);

  const context = join(dir, "context.csv");
  assert.equal((await run(["sample", "--network", ASIA, "--n", "50", "--out", context])).code, 0);
  const generated = join(dir, "generated.tsv");
  const g = await run([
    ...["generate", "--structure", ASIA, "--context", context, "--n", String(n)],
    ...["--seed", "4", "--out", generated],
  ]);
  assert.equal(g.code, 0, g.err);
  const conditional = estimatorEngine({ estimator: "mle" }).bind(net, loadCsv(context, net));
  const expected = writeCsv(net, generateRows(createRng(4), net, n, conditional), {
    separator: "\t",
  });
  assert.equal(readFileSync(generated, "utf8"), expected);
});

test("an --out folder that is a file is refused before any work", async () => {
  const dir = tmp();
  const file = join(dir, "taken");
  writeFileSync(file, "not a folder\n");
  for (const argv of [
    ["train", ...TINY, "--heads", "1", "--out", file],
    ["construct", "--structure", ASIA, "--max-context", "5", "--out", file],
    ["eval", "--checkpoint", "no-such-run", "--out", file],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 1, argv.join(" "));
    assert.match(r.err, /taken: is a file; --out needs a folder/);
    assert.equal(readFileSync(file, "utf8"), "not a folder\n");
  }
});

test("evaluation lengths beyond what attention fits in memory are refused up front", () => {
  const structure = loadNetwork(ASIA);
  const ok = resolveProtocolConfig({ structure, lengths: [1, MAX_EVAL_LENGTH] });
  assert.deepEqual(ok.lengths, [1, MAX_EVAL_LENGTH]);
  assert.throws(
    () => resolveProtocolConfig({ structure, lengths: [MAX_EVAL_LENGTH + 1] }),
    /context length 10001 is above 10000/,
  );
  assert.throws(
    () => resolveProtocolConfig({ structure, seeds: [2 ** 32] }),
    /seeds must be distinct integers in 0\.\.4294967295/,
  );
});
