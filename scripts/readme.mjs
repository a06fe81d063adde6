// Keeps the README's examples real: every `<!-- readme-run: CMD -->` line runs CMD from the
// repository root (`npx bnformer` runs bin/bnformer.mjs directly); the ```text block right
// after a run of such lines holds the stdout of the last one; a ```ts block after
// `<!-- readme-file: PATH -->` holds the file PATH verbatim.
//   node scripts/readme.mjs          check: exit 1 and show the drift if the README is stale
//   node scripts/readme.mjs --update rewrite the blocks with fresh output
import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const readmePath = join(root, "README.md");
const update = process.argv.includes("--update");
const lines = readFileSync(readmePath, "utf8").split("\n");
const RUN = /^<!-- readme-run: (.*) -->$/;
const FILE = /^<!-- readme-file: (.*) -->$/;

mkdirSync(join(root, "out"), { recursive: true });
const out = [];
let last = null;
let stale = 0;
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  out.push(line);
  const f = FILE.exec(line);
  if (f) {
    last = readFileSync(join(root, f[1]), "utf8");
    continue;
  }
  const m = RUN.exec(line);
  if (m) {
    const cmd = m[1].replace(
      /^npx bnformer /,
      `${JSON.stringify(process.execPath)} bin/bnformer.mjs `,
    );
    last = execSync(cmd, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    continue;
  }
  if (last !== null && /^```(text|ts)$/.test(line)) {
    let j = i + 1;
    while (j < lines.length && lines[j] !== "```") j++;
    const old = lines.slice(i + 1, j).join("\n");
    const fresh = last.replace(/\n$/, "");
    if (old !== fresh) {
      stale++;
      console.error(
        `README.md:${i + 2}: example output differs\n--- README\n${old}\n--- actual\n${fresh}\n`,
      );
    }
    out.push(...(update ? fresh.split("\n") : lines.slice(i + 1, j)), "```");
    i = j;
  }
  last = null;
}
if (update) {
  const tmp = `${readmePath}.tmp`;
  writeFileSync(tmp, out.join("\n"));
  renameSync(tmp, readmePath);
  console.log(`README.md: ${stale} example block(s) updated`);
} else if (stale > 0) {
  console.error(
    `README.md: ${stale} example block(s) are stale; run: node scripts/readme.mjs --update`,
  );
  process.exit(1);
} else console.log("README.md: every example output is current");
