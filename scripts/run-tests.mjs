// Runs every test file under test/ by name: Node 20's runner expands no globs and
// silently finds zero .ts tests when given a directory.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function listTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = listTests("test").filter(
  (f) => filter.length === 0 || filter.some((s) => f.includes(s)),
);
if (files.length === 0) {
  console.error("run-tests: no test files matched");
  process.exit(1);
}
console.log(`run-tests: ${files.length} files`);
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...files],
  {
    stdio: "inherit",
  },
);
process.exit(r.status ?? 1);
