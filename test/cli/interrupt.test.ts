// Ctrl-C and kill during a large `sample`: the real CLI, as a user runs it, must exit
// non-zero and leave neither its hidden temporary file nor a partial output behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

async function interruptSample(signal: "SIGINT" | "SIGTERM") {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-interrupt-"));
  const out = join(dir, "big.csv");
  // 5 million rows take many seconds to draw and write, so the signal lands mid-write.
  const child = spawn(
    process.execPath,
    [
      "bin/bnformer.mjs",
      "sample",
      "--network",
      "data/bif/asia.bif",
      "--n",
      "5000000",
      "--out",
      out,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, sig) => resolve({ code, signal: sig })),
  );
  const isTemp = (f: string) => f.startsWith(".big.csv.") && f.endsWith(".tmp");
  const deadline = Date.now() + 60_000;
  while (!readdirSync(dir).some(isTemp)) {
    assert.ok(Date.now() < deadline, `no temporary file appeared; stderr: ${stderr}`);
    await sleep(20);
  }
  child.kill(signal);
  const { code } = await exited;
  return { code, stderr, left: readdirSync(dir) };
}

for (const [signal, exitCode] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  test(`${signal} during a large sample removes its temporary file and writes no output`, async () => {
    const r = await interruptSample(signal);
    assert.equal(r.code, exitCode, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`interrupted \\(${signal}\\); removed 1 unfinished output file`),
    );
    assert.deepEqual(r.left, [], `left behind: ${r.left.join(", ")}`);
  });
}
