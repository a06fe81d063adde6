// The layering rule of STYLE.md: bn -> estimate -> model -> train -> eval -> experiment ->
// cli; an area imports only areas to its left (plus the shared root modules errors.ts and
// files.ts), and only src/cli touches process.argv, process.exit and stdout. The package's entries
// (src/index.ts, src/core.ts) may re-export any area; the browser-safe core reaches no
// `node:` module and no file access, and the CLI loads a command's code only to run it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";

const AREAS = ["bn", "estimate", "model", "train", "eval", "experiment", "cli"];
const SRC = "src";
/** The package's entry modules (package.json "exports"), which re-export areas. */
const ENTRIES = [join(SRC, "index.ts"), join(SRC, "core.ts")];

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
  for (const file of sourceFiles(SRC).filter((f) => !ENTRIES.includes(f))) {
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

/**
 * What `entry` loads through static imports: every source module reached (type-only
 * imports are erased by the compiler, dynamic `import()` loads later) and each package
 * specifier with the first module importing it.
 */
function staticImports(entry: string): { modules: string[]; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (modules.has(file)) continue;
    modules.add(file);
    const text = readFileSync(file, "utf8");
    const statements = /^\s*(?:import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s*)?["']([^"']+)["']/gm;
    for (const m of text.matchAll(statements)) {
      if (m[1] !== undefined) continue;
      const spec = m[2]!;
      if (spec.startsWith(".")) pending.push(relative(process.cwd(), resolve(dirname(file), spec)));
      else if (!packages.has(spec)) packages.set(spec, file);
    }
  }
  return { modules: [...modules].sort(), packages };
}

test("the core entry reaches no node: module, no package and no file access", () => {
  const { modules, packages } = staticImports(join(SRC, "core.ts"));
  // The walk follows imports: the core holds the BIF parser, estimators and construction.
  for (const m of ["bn/bif.ts", "estimate/estimators.ts", "model/construction.ts"])
    assert.ok(modules.includes(join(SRC, m)), `core reaches ${m}`);
  assert.deepEqual(
    [...packages].map(([spec, from]) => `${from} imports ${spec}`),
    [],
  );
  assert.deepEqual(
    modules.filter((m) => m === join(SRC, "files.ts")),
    [],
  );
});

const HEAVY_PACKAGES = ["@jax-js/jax", "vega", "vega-lite", "@resvg/resvg-js", "cli-progress"];

test("the CLI entry loads no command; commands that do not train or evaluate load no heavy package", () => {
  const main = staticImports(join(SRC, "cli", "main.ts"));
  const commandDir = join(SRC, "cli", "commands");
  assert.deepEqual(
    main.modules.filter((m) => m.startsWith(commandDir) && !m.endsWith("index.ts")),
    [],
  );
  assert.deepEqual(
    HEAVY_PACKAGES.filter((p) => main.packages.has(p)),
    [],
  );
  const light = [
    "info",
    "sample",
    "convert",
    "fit",
    "generate",
    "predict",
    "construct",
    "explain",
    "demo",
  ];
  for (const name of light) {
    const { packages } = staticImports(join(commandDir, `${name}.ts`));
    const heavy = HEAVY_PACKAGES.filter((p) => packages.has(p)).map(
      (p) => `${p} (${packages.get(p)})`,
    );
    assert.deepEqual(heavy, [], `bnformer ${name} loads`);
  }
});

test("BullMQ and its Redis client load only when a queue is used (dynamic import)", () => {
  const entries = [
    "index.ts",
    "cli/main.ts",
    "cli/commands/experiment.ts",
    "cli/commands/worker.ts",
  ];
  for (const entry of entries) {
    const { packages } = staticImports(join(SRC, entry));
    const queue = ["bullmq", "ioredis"].filter((p) => packages.has(p));
    assert.deepEqual(queue, [], `${entry} loads ${queue.join(", ")}`);
  }
});
