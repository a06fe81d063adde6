// Runs every test file under test/ by name: Node 20's runner expands no globs and
// silently finds zero .ts tests when given a directory.
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

/** Latest modification time of the files under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

// Tests that run the bin or pack the package need dist/ compiled from the current src/:
// rebuild it (incrementally; `npm run build` starts from an empty dist/) when a source is
// newer than the last build.
const BUILD_STAMP = "dist/.tsbuildinfo";
const sources = Math.max(
  newestMtime("src"),
  ...["tsconfig.json", "tsconfig.build.json"].map((f) => statSync(f).mtimeMs),
);
if (!existsSync(BUILD_STAMP) || statSync(BUILD_STAMP).mtimeMs < sources) {
  console.log("run-tests: src/ changed since the last build; building dist/");
  const build = spawnSync(
    process.execPath,
    [join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
    { stdio: "inherit" },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
  // An incremental build that emits nothing leaves the stamp old: mark this build.
  const now = new Date();
  utimesSync(BUILD_STAMP, now, now);
}

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
