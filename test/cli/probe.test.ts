// `bnformer probe` end to end, in-process: a tiny run with snapshots probed on its graph
// (report, JSON, dynamics), the construction as the reference, and the bad inputs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

let dir: string;
let runDir: string;
const SMALL = [
  "--lengths",
  "5,20",
  "--intervention-lengths",
  "20",
  "--episodes",
  "3",
  "--no-figures",
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-probe-"));
  runDir = join(dir, "run");
  const t = await run([
    "train",
    ...["--graph", "chain5", "--steps", "5", "--snapshot-steps", "2,4"],
    ...TINY_TRAIN_FLAGS,
    ...["--out", runDir],
  ]);
  assert.equal(t.code, 0, t.err);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("probe: a trained model with its snapshots writes the report and every measurement", async () => {
  const out = join(dir, "p");
  const r = await run([
    "probe",
    ...["--engine", `model:${runDir}`, ...SMALL],
    ...[
      "--snapshots",
      join(runDir, "snapshots"),
      "--dynamics-lengths",
      "10",
      "--dynamics-episodes",
      "2",
    ],
    ...["--out", out],
  ]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(readFileSync(join(out, "probe.json"), "utf8")) as {
    attention: { n: number; layer: number; node: string }[];
    distances: { n: number; variant: string; to: string }[];
    structure: { score: string }[];
    dynamics: { step: number; n: number; to: string }[];
  };
  assert.deepEqual([...new Set(j.attention.map((a) => a.n))], [5, 20]);
  assert.ok(j.distances.some((d) => d.n === 20 && d.variant === "no MLP 2" && d.to === "mle"));
  assert.ok(!j.distances.some((d) => d.n === 5 && d.variant === "no MLP 2"));
  assert.ok(j.structure.some((s) => s.score === "MLP 1 sensitivity"));
  // The snapshots, then the probed model itself (step 5).
  assert.deepEqual([...new Set(j.dynamics.map((d) => d.step))], [2, 4, 5]);
  const report = readFileSync(join(out, "report.md"), "utf8");
  for (const section of ["## Interventions at n = 20", "## Training dynamics", "## Parents from"])
    assert.ok(report.includes(section), section);
  assert.ok(!existsSync(join(out, "attention-mass.svg")));
});

test("probe: bad inputs are named and nothing is written", async () => {
  const out = join(dir, "bad");
  const cases: [string[], RegExp][] = [
    [["--engine", "mle", "--graph", "chain5"], /has no attention/],
    [["--engine", "construction"], /give --graph or --structure/],
    [["--engine", "construction", "--graph", "chain5", "--structure", "x.bif"], /not both/],
    [
      ["--engine", "construction", "--graph", "chain5", "--intervention-lengths", "7"],
      /7 is not one of the lengths/,
    ],
    [["--engine", "construction", "--graph", "chain5", "--lengths", "0,5"], /not a length >= 1/],
    [
      ["--engine", "construction", "--graph", "chain5", "--snapshots", join(dir, "nope")],
      /no such folder/,
    ],
    [["--engine", "construction", "--graph", "chain5", "--snapshots", dir], /holds no step-N/],
    [["--engine", `model:${runDir}`, "--graph", "tree5"], /.+/],
  ];
  for (const [flags, message] of cases) {
    const r = await run(["probe", ...SMALL, ...flags, "--out", out]);
    assert.notEqual(r.code, 0, flags.join(" "));
    assert.match(r.err, message, flags.join(" "));
    assert.ok(!r.err.includes("    at "), `stack trace for ${flags.join(" ")}`);
  }
  assert.ok(!existsSync(join(out, "report.md")));
});

test("train --snapshot-steps: bad lists are refused before the run folder exists", async () => {
  for (const [list, message] of [
    ["5,3", /ascending integers >= 1/],
    ["0,3", /ascending integers >= 1/],
    ["2,x", /--snapshot-steps: "x" is not an integer/],
  ] as const) {
    const out = join(dir, `snap-${list}`);
    const r = await run([
      "train",
      "--graph",
      "chain5",
      "--steps",
      "3",
      "--snapshot-steps",
      list,
      "--out",
      out,
    ]);
    assert.equal(r.code, 2, list);
    assert.match(r.err, message);
    assert.ok(!existsSync(out), list);
  }
});
