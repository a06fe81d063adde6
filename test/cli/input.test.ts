// Bad input at the CLI (issue 14): every rejection is exit 1 (input) or 2 (flags) with a
// clear message, and leaves nothing behind that blocks the corrected command.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";

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
