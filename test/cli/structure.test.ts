// The BMA engine through the CLI: `predict --engine bma` and `bnformer structure` print what
// the library computes on the same file, p = 0 reduces to the smoothed marginal, generation
// runs, and misplaced or out-of-range flags are refused with exit 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { loadNetwork, loadStructure } from "../../src/bn/network-file.ts";
import { loadCsv } from "../../src/bn/csv-file.ts";
import { variableIndex } from "../../src/bn/network.ts";
import { edgePosteriors, estimateBma } from "../../src/estimate/bma.ts";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

const NET = "data/bif/cancer.bif";
/** Library and CLI run the same code on the same file: only JSON's round trip separates them. */
const SAME = 1e-15;

async function cancerContext(rows: number): Promise<string> {
  const ctx = join(mkdtempSync(join(tmpdir(), "bnformer-bma-")), "ctx.csv");
  const r = await run([
    "sample",
    "--network",
    NET,
    "--n",
    String(rows),
    "--seed",
    "7",
    "--out",
    ctx,
  ]);
  assert.equal(r.code, 0, r.err);
  return ctx;
}

test("predict --engine bma prints the library's BMA predictive", async () => {
  const ctx = await cancerContext(300);
  const given = "Pollution=low,Smoker=True,Cancer=False,Xray=positive";
  const r = await run([
    ...["predict", "--structure", NET, "--context", ctx, "--target", "Dyspnoea"],
    ...["--given", given, "--engine", "bma", "--edge-prob", "0.3", "--max-parents", "2"],
    ...["--format", "json"],
  ]);
  assert.equal(r.code, 0, r.err);
  const got = JSON.parse(r.out) as { target: string; distribution: Record<string, number> };
  const s = loadStructure(NET);
  const query = [0, 0, 1, 0, 0]; // low, True, False, positive (states in declared order)
  const want = estimateBma(s, loadCsv(ctx, s), variableIndex(s, "Dyspnoea"), query, {
    edgeProb: 0.3,
    maxParents: 2,
    prior: { kind: "uniform", low: 0.1, high: 0.9 },
  });
  assert.equal(got.target, "Dyspnoea");
  assert.deepEqual(Object.keys(got.distribution), ["True", "False"]);
  assert.ok(Math.abs(got.distribution.True! - want[0]!) < SAME);
  assert.ok(Math.abs(got.distribution.False! - want[1]!) < SAME);
});

test("predict --engine bma --edge-prob 0 is the Dirichlet-smoothed marginal", async () => {
  const ctx = await cancerContext(300);
  const base = ["predict", "--structure", NET, "--context", ctx, "--target", "Xray"];
  const given = ["--given", "Pollution=high,Smoker=False,Cancer=True", "--format", "json"];
  const bma = await run([...base, ...given, "--engine", "bma", "--edge-prob", "0"]);
  const bmaDir = await run([
    ...[...base, ...given, "--engine", "bma", "--edge-prob", "0"],
    ...["--prior", "dirichlet", "--alpha", "2"],
  ]);
  const marginal = await run([...base, ...given, "--engine", "marginal"]);
  for (const r of [bma, bmaDir, marginal]) assert.equal(r.code, 0, r.err);
  const c = JSON.parse(marginal.out).distribution.positive * 300; // the count of "positive"
  assert.ok(Math.abs(JSON.parse(bmaDir.out).distribution.positive - (c + 2) / 304) < 1e-12);
  // The uniform prior's posterior mean is pulled towards 1/2, but only slightly at n = 300.
  const u = JSON.parse(bma.out).distribution.positive;
  assert.ok(Math.abs(u - c / 300) < 0.01 && u !== c / 300);
});

test("structure prints every possible edge's posterior, as text and as JSON", async () => {
  const ctx = await cancerContext(400);
  const base = ["structure", "--structure", NET, "--context", ctx, "--max-parents", "2"];
  const json = await run([...base, "--engine", "bma", "--format", "json"]);
  const text = await run(base);
  assert.equal(json.code, 0, json.err);
  assert.equal(text.code, 0, text.err);
  const s = loadStructure(NET);
  const want = edgePosteriors(s, loadCsv(ctx, s), { edgeProb: 0.5, maxParents: 2 });
  const got = JSON.parse(json.out);
  assert.equal(got.engine, "bma");
  assert.equal(got.rows, 400);
  assert.equal(got.maxParents, 2);
  assert.deepEqual(got.prior, { kind: "uniform", low: 0.1, high: 0.9 });
  assert.equal(got.edges.length, (5 * 4) / 2);
  const lines = text.out.trimEnd().split("\n");
  assert.match(lines[0]!, /by bma: edge prob 0\.5, max parents 2, CPT prior uniform\(0\.1, 0\.9\)/);
  assert.match(lines[1]!, /^from\s+to\s+probability$/);
  want.forEach((e, i) => {
    const [from, to] = [s.variables[e.from]!.name, s.variables[e.to]!.name];
    assert.deepEqual([got.edges[i].from, got.edges[i].to], [from, to]);
    assert.ok(Math.abs(got.edges[i].probability - e.probability) < SAME);
    assert.deepEqual(lines[i + 2]!.split(/\s+/), [from, to, e.probability.toFixed(6)]);
  });
});

test("generate --engine bma draws rows reproducibly from the seed", async () => {
  const ctx = await cancerContext(200);
  const argv = ["generate", "--structure", NET, "--context", ctx, "--n", "20", "--seed", "5"];
  const a = await run([...argv, "--engine", "bma"]);
  const b = await run([...argv, "--engine", "bma"]);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  assert.equal(a.out.trimEnd().split("\n").length, 21);
});

test("fit --estimator bma writes the BMA predictive as CPTs over the earlier variables", async () => {
  const ctx = await cancerContext(200);
  const out = join(mkdtempSync(join(tmpdir(), "bnformer-bma-")), "fitted.json");
  const flags = ["--edge-prob", "0.3", "--max-parents", "2"];
  const r = await run([
    "fit",
    "--structure",
    NET,
    "--data",
    ctx,
    "--estimator",
    "bma",
    ...flags,
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /fitted 5 CPTs from 200 rows with bma/);
  const net = loadNetwork(out);
  const v = variableIndex(net, "Xray");
  assert.deepEqual(
    net.parents[v]!.map((p) => net.variables[p]!.name),
    ["Pollution", "Smoker", "Cancer"],
  );
  const given = "Pollution=high,Smoker=True,Cancer=False"; // configuration 1*4 + 0*2 + 1 = 5
  const p = await run([
    ...["predict", "--structure", NET, "--context", ctx, "--target", "Xray", "--given", given],
    ...["--engine", "bma", ...flags, "--format", "json"],
  ]);
  const d = JSON.parse(p.out).distribution;
  assert.ok(Math.abs(net.cpts[v]![5 * 2]! - d.positive) < SAME);
  assert.ok(Math.abs(net.cpts[v]![5 * 2 + 1]! - d.negative) < SAME);
});

test("bma flags are refused where they do not apply or are out of range", async () => {
  const ctx = await cancerContext(50);
  const base = ["predict", "--structure", NET, "--context", ctx, "--target", "Smoker"];
  const cases: [string[], RegExp][] = [
    [
      ["--given", "Pollution=low", "--engine", "mle", "--edge-prob", "0.2"],
      /--edge-prob applies only to --engine bma, not mle/,
    ],
    [
      ["--given", "Pollution=low", "--engine", "bma", "--edge-prob", "1.5"],
      /edge probability must be in \[0, 1\], got 1\.5/,
    ],
    [
      ["--given", "Pollution=low", "--engine", "bma", "--alpha", "2"],
      /--alpha does not apply to the uniform CPT prior/,
    ],
    [
      ["--given", "Pollution=low", "--engine", "bma", "--prior", "dirichlet", "--low", "0.2"],
      /--low does not apply to the dirichlet CPT prior/,
    ],
    [
      ["--engine", "bma"],
      /--given must set Pollution: the bma estimate of "Smoker" conditions on it/,
    ],
  ];
  for (const [flags, message] of cases) {
    const r = await run([...base, ...flags]);
    assert.equal(r.code, 2, flags.join(" "));
    assert.match(r.err, message);
  }
});

test("structure refuses a network whose parent sets are too many to enumerate (exit 1)", async () => {
  const d = mkdtempSync(join(tmpdir(), "bnformer-bma-"));
  const ctx = join(d, "alarm.csv");
  const net = "data/bif/alarm.bif";
  assert.equal((await run(["sample", "--network", net, "--n", "5", "--out", ctx])).code, 0);
  const r = await run(["structure", "--structure", net, "--context", ctx]);
  assert.equal(r.code, 1);
  assert.match(r.err, /earlier variables, at most \d+ parents\) enumerates more than 4096 sets/);
});
