// Checks (or with --update rewrites) docs/results.md, the README's experiment table and the
// CSVs and SVG figures under docs/results/ against what the committed result data gives
// (src/experiment/results-page.ts). Exit 1 and a diff summary when anything differs.
//   npx tsx scripts/results-page.ts            check
//   npx tsx scripts/results-page.ts --update   rewrite
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../src/files.ts";
import { generatedFiles } from "../src/experiment/results-page.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const update = process.argv.includes("--update");

/** The first differing line of two texts, as "line N: -old / +new". */
function firstDifference(old: string, fresh: string): string {
  const a = old.split("\n");
  const b = fresh.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  - ${a[i] ?? "(end)"}\n  + ${b[i] ?? "(end)"}`;
  }
  return "(same lines, different bytes)";
}

let stale = 0;
for (const f of await generatedFiles(root)) {
  const path = join(root, f.path);
  let old: string | null = null;
  try {
    old = readFileSync(path, "utf8");
  } catch {
    old = null;
  }
  if (old === f.text) continue;
  stale++;
  if (update) writeFileAtomic(path, f.text);
  else
    console.error(
      `${f.path}: differs from the committed data; ${firstDifference(old ?? "", f.text)}`,
    );
}
if (update) console.log(`results page: ${stale} file(s) rewritten`);
else if (stale > 0) {
  console.error(`${stale} file(s) differ; run: npx tsx scripts/results-page.ts --update`);
  process.exit(1);
} else console.log("results page: docs/results.md, the README table, CSVs and SVGs are current");
