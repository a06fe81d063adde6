// The README's example outputs are real: scripts/readme.mjs reruns every `readme-run`
// command and fails when a shown output differs from what the command prints today.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

test("every README example output is what its command prints", () => {
  const r = spawnSync(process.execPath, ["scripts/readme.mjs"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
