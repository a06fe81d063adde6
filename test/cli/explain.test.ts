// `bnformer explain` end to end, in-process: the construction's and a tiny trained model's
// attention (text, SVG and JSON), whose output is predict's, and the bad inputs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { TINY_TRAIN_FLAGS } from "../helpers.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

interface ExplainJson {
  distribution: Record<string, number>;
  parents: string[];
  shown: { layer: number; head: number };
  heads: {
    layer: number;
    head: number;
    rowsByAgreement: number[];
    massByAgreement: number[];
    self: number;
    fullMatchTv: number | null;
  }[];
}

const ASIA = "data/bif/asia.bif";
let dir: string;
let context: string;
let model: string;
/** Flags naming one query: dysp given both its parents. */
let query: string[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-explain-"));
  context = join(dir, "asia-40.csv");
  const sample = ["sample", "--network", ASIA, "--n", "40", "--seed", "3", "--out", context];
  assert.equal((await run(sample)).code, 0);
  // Two heads per layer, so the default head is a choice.
  const tiny = TINY_TRAIN_FLAGS.map((f, i, a) => (a[i - 1] === "--heads" ? "2" : f));
  model = join(dir, "run");
  const t = await run(["train", "--structure", ASIA, "--steps", "3", ...tiny, "--out", model]);
  assert.equal(t.code, 0, t.err);
  query = ["--structure", ASIA, "--context", context, "--target", "dysp"];
  query.push("--given", "bronc=yes,either=no");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function explainJson(flags: string[]): Promise<ExplainJson> {
  const r = await run(["explain", ...query, ...flags, "--format", "json"]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as ExplainJson;
}

async function predicted(engine: string[]): Promise<Record<string, number>> {
  const r = await run(["predict", ...query, ...engine, "--format", "json"]);
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { distribution: Record<string, number> }).distribution;
}

/** Both run on the float64 reference executor, so they agree to rounding. */
function assertSameDistribution(a: Record<string, number>, b: Record<string, number>): void {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a))
    assert.ok(Math.abs(a[k]! - b[k]!) <= 1e-9, `${k}: ${a[k]} vs ${b[k]}`);
}

function assertMassesSumToOne(x: ExplainJson): void {
  for (const h of x.heads) {
    const sum = h.massByAgreement.reduce((a, b) => a + b, 0) + h.self;
    assert.ok(Math.abs(sum - 1) <= 1e-9, `layer ${h.layer} head ${h.head}: ${sum}`);
    assert.equal(
      h.rowsByAgreement.reduce((a, b) => a + b, 0),
      40,
    );
  }
}

test("explain --engine model:DIR: every layer's heads, text and SVG, and predict's output", async () => {
  const svg = join(dir, "model.svg");
  const r = await run(["explain", ...query, "--engine", `model:${model}`, "--rows", "5"]);
  assert.equal(r.code, 0, r.err);
  const withSvg = await run(["explain", ...query, "--engine", `model:${model}`, "--svg", svg]);
  assert.equal(withSvg.code, 0, withSvg.err);
  assert.match(withSvg.err, /wrote .*model\.svg/);
  const x = await explainJson(["--engine", `model:${model}`]);
  assert.deepEqual(
    x.heads.map((h) => `${h.layer}.${h.head}`),
    ["1.1", "1.2", "2.1", "2.2"],
  );
  assertMassesSumToOne(x);
  // The default head: layer 2's with the most mass on rows agreeing on both parents.
  const layer2 = x.heads.filter((h) => h.layer === 2).map((h) => h.massByAgreement[2]!);
  assert.equal(x.shown.layer, 2);
  assert.equal(layer2[x.shown.head - 1], Math.max(...layer2));
  assert.match(r.out, new RegExp(`rows listed: layer 2, head ${x.shown.head} `));
  assert.match(r.out, /^\.\.\. 35 more rows, total weight /m);
  assert.match(r.out, /^layer +head +2 of 2 \(\d+ rows\) +1 of 2/m);
  assert.equal(r.out.match(/^[12] +[12] +\d/gm)?.length, 4, "one summary line per head");
  assert.match(r.out, /^uniform +\d/m);
  assertSameDistribution(x.distribution, await predicted(["--engine", `model:${model}`]));
  // The SVG: one column header per head, the legend, one document.
  const doc = readFileSync(svg, "utf8");
  assert.match(doc, /^<svg xmlns=/);
  assert.equal(doc.match(/>head \d</g)?.length, 4);
  assert.match(doc, /colour: attention weight, log scale/);
  // Another head on request.
  const other = await run(["explain", ...query, "--engine", `model:${model}`, "--layer", "1"]);
  assert.match(other.out, /rows listed: layer 1, head [12] /);
  const h = await run([
    "explain",
    ...query,
    "--engine",
    `model:${model}`,
    "--layer",
    "1",
    "--head",
    "2",
  ]);
  assert.match(h.out, /rows listed: layer 1, head 2 /);
});

test("explain on the construction: layer 2 on full matches, predict's output, saved or built", async () => {
  const eps = 1e-6;
  const x = await explainJson(["--eps", String(eps)]);
  assertMassesSumToOne(x);
  assert.deepEqual(x.shown, { layer: 2, head: 1 });
  const last = x.heads[x.heads.length - 1]!;
  assert.ok(last.massByAgreement[2]! >= 1 - eps, `full-match mass ${last.massByAgreement[2]}`);
  assert.ok(last.fullMatchTv !== null && last.fullMatchTv < 1e-9);
  const built = await predicted(["--engine", "construction", "--eps", String(eps)]);
  assertSameDistribution(x.distribution, built);
  // A saved construction, by --checkpoint and as model:DIR.
  const saved = join(dir, "construction");
  const c = await run([
    "construct",
    "--structure",
    ASIA,
    "--eps",
    String(eps),
    "--max-context",
    "40",
    "--out",
    saved,
  ]);
  assert.equal(c.code, 0, c.err);
  assertSameDistribution((await explainJson(["--checkpoint", saved])).distribution, built);
  assertSameDistribution((await explainJson(["--engine", `model:${saved}`])).distribution, built);
  const text = await run(["explain", ...query]);
  assert.match(text.out, /^2 +1 +1\.000000 /m);
});

test("explain refuses engines without attention, missing models and heads that do not exist", async () => {
  const cases: [string[], number, RegExp][] = [
    [
      ["--engine", "mle"],
      2,
      /--engine mle has no attention to explain: give construction, pretrained, pretrained-free or model:DIR/,
    ],
    [["--engine", "model:"], 2, /needs a directory/],
    [["--engine", `model:${join(dir, "nope")}`], 1, /nope: no such directory/],
    [["--engine", `model:${model}`, "--layer", "3"], 2, /--layer 3: the model has 2 layers/],
    [["--engine", `model:${model}`, "--head", "3"], 2, /--head 3: layer 2 has 2 heads/],
    [
      ["--engine", `model:${model}`, "--checkpoint", model],
      2,
      /--checkpoint goes with --engine construction/,
    ],
    [["--layer", "0"], 2, /--layer/],
  ];
  for (const [flags, code, message] of cases) {
    const r = await run(["explain", ...query, ...flags]);
    assert.equal(r.code, code, `${flags.join(" ")}: ${r.err}`);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});
