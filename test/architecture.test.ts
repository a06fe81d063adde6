// The layering rule of STYLE.md: bn -> estimate -> model -> train -> eval -> cli; an area
// imports only areas to its left (plus the shared root modules errors.ts and files.ts),
// and only src/cli touches process.argv, process.exit and stdout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";

const AREAS = ["bn", "estimate", "model", "train", "eval", "cli"];
const SRC = "src";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function areaOf(file: string): string | null {
  const [first] = relative(SRC, file).split("/");
  return first !== undefined && AREAS.includes(first) ? first : null;
}

test("every import points to the same area, an area to its left, or a shared root module", () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = areaOf(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']/g)) {
      const target = resolve(dirname(file), m[1]!);
      const to = areaOf(relative(process.cwd(), target));
      if (from === null) {
        if (to !== null) violations.push(`${file} (shared root module) imports ${m[1]}`);
        continue;
      }
      if (to !== null && AREAS.indexOf(to) > AREAS.indexOf(from))
        violations.push(`${file} imports ${m[1]}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("only src/cli touches argv, process.exit and stdout", () => {
  const offenders = sourceFiles(SRC)
    .filter((f) => areaOf(f) !== "cli")
    .filter((f) => /process\.(argv|exit|stdout)\b/.test(readFileSync(f, "utf8")));
  assert.deepEqual(offenders, []);
});
