// The repository is self-contained: every data file the demo, tests, docs and benchmarks use
// ships under data/, exactly as data/SOURCES.md describes it, and nothing points outside.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function checksumTable(): Map<string, { bytes: number; sha256: string }> {
  const text = readFileSync("data/SOURCES.md", "utf8");
  const section = text.slice(text.indexOf("## Checksums of every data file"));
  const rows = new Map<string, { bytes: number; sha256: string }>();
  for (const m of section.matchAll(/^\| ([^|\s]+) \| (\d+) \| ([0-9a-f]{16}) \|$/gm))
    rows.set(m[1]!, { bytes: Number(m[2]), sha256: m[3]! });
  return rows;
}

test("every file under data/ is listed in SOURCES.md with its size and SHA-256, and no more", () => {
  const table = checksumTable();
  assert.ok(table.size >= 18, `the checksum table has ${table.size} rows`);
  const files = filesUnder("data")
    .map((f) => relative("data", f))
    .filter((f) => f !== "SOURCES.md")
    .sort();
  assert.deepEqual(files, [...table.keys()].sort());
  for (const f of files) {
    const bytes = readFileSync(join("data", f));
    const sha = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    assert.deepEqual({ bytes: bytes.length, sha256: sha }, table.get(f), f);
  }
});

test("no source, test, benchmark, example or doc points outside the repository", () => {
  const roots = ["src", "test", "bench", "scripts", "examples", "docs", "bin", ".ci"];
  const files = [
    "README.md",
    "package.json",
    ...roots.flatMap((r) => filesUnder(r)).filter((f) => !f.startsWith("bench/out")),
  ];
  const outside = /\.\.\/(?:\.\.\/)*shared\//;
  const offenders = files.filter(
    (f) => f !== "test/data.test.ts" && outside.test(readFileSync(f, "utf8")),
  );
  assert.deepEqual(offenders, []);
});
