// Acceptance: refitting sachs.bif's structure on the real Sachs data with BDeu (equivalent
// sample size 1, bnlearn's default "bayes" fit) reproduces every CPT entry printed in
// sachs.bif to the file's rounding (7 significant digits). Runs the CLI in-process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { loadNetwork } from "../../src/bn/network-file.ts";

const SACHS_BIF = "data/bif/sachs.bif";
const SACHS_DATA = "data/sachs/sachs.interventional.txt";

/** Half a unit in the 7th significant digit of x: the rounding of every number in sachs.bif. */
function roundingOf(x: number): number {
  if (x === 0) return 0;
  return 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(x))) - 6);
}

async function refit(estimatorFlags: string[]): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), "bnformer-sachs-")), "refit.bif");
  const io = captureIo();
  const argv = [
    "fit",
    "--structure",
    SACHS_BIF,
    "--data",
    SACHS_DATA,
    "--cell-coding",
    "one-based",
  ];
  const code = await main(
    [...argv, "--ignore-columns", "INT", ...estimatorFlags, "--out", out],
    io,
  );
  assert.equal(code, 0, io.stderr.join(""));
  return out;
}

test("BDeu with ess 1 reproduces every CPT of sachs.bif to its printed rounding", async () => {
  const printed = loadNetwork(SACHS_BIF);
  const fitted = loadNetwork(await refit(["--estimator", "bdeu", "--ess", "1"]));
  let worst = 0;
  let entries = 0;
  printed.cpts.forEach((cpt, v) => {
    cpt.forEach((p, i) => {
      const diff = Math.abs(fitted.cpts[v]![i]! - p);
      worst = Math.max(worst, diff / roundingOf(p));
      entries++;
      assert.ok(
        diff <= roundingOf(p) * (1 + 1e-9),
        `${printed.variables[v]!.name}[${i}]: fitted ${fitted.cpts[v]![i]} vs printed ${p}`,
      );
    });
  });
  // 178 free parameters (SOURCES.md) plus one dependent entry per row: 267 entries in all.
  assert.equal(entries, 267);
  console.log(
    `sachs refit: ${entries} entries, worst |diff| = ${worst.toFixed(3)} x the printed rounding`,
  );
});

test("other settings do not reproduce it: MLE and BDeu with ess 10 miss the printed digits", async () => {
  const printed = loadNetwork(SACHS_BIF);
  for (const flags of [
    ["--estimator", "mle"],
    ["--estimator", "bdeu", "--ess", "10"],
  ]) {
    const fitted = loadNetwork(await refit(flags));
    const misses = printed.cpts.reduce(
      (n, cpt, v) =>
        n +
        cpt.filter((p, i) => Math.abs(fitted.cpts[v]![i]! - p) > roundingOf(p) * (1 + 1e-9)).length,
      0,
    );
    assert.ok(misses > 50, `${flags.join(" ")}: only ${misses} entries differ`);
  }
});
