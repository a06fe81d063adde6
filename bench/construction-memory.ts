/**
 * Peak memory of `predict --engine construction` on long contexts: the construction engine
 * against the counting MLE on the same context, in the same run, for 10k, 100k and 1M rows
 * of asia (sampled with a fixed seed into bench/out/). The issue-14 target: the
 * construction's memory is bounded, not proportional to the context.
 *
 *   npx tsx bench/construction-memory.ts [--rows 10000,100000,1000000] [--seed 1]
 *
 * Each measurement is a fresh child process (`node --import tsx`) that does what the CLI
 * does: read the structure, load the CSV, bind the engine, answer one query; it prints its
 * peak RSS (`process.resourceUsage().maxRSS`) and the time of each step. "load" is a child
 * that only reads the CSV (the floor every engine pays), "mle" adds the counting answer,
 * "construction" the constructed transformer (eps 1e-6, maxContext = rows).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadNetwork, loadStructure } from "../src/bn/network-file.ts";
import { writeCsv } from "../src/bn/csv.ts";
import { loadCsv } from "../src/bn/csv-file.ts";
import { writeFileAtomic } from "../src/files.ts";
import { createRng } from "../src/bn/rng.ts";
import { sampleRows } from "../src/bn/sample.ts";
import { variableIndex } from "../src/bn/network.ts";
import { constructionEngine, estimatorEngine } from "../src/model/engine.ts";
import { parseGiven } from "../src/cli/engine-args.ts";

const NET = "data/bif/asia.bif";
const TARGET = "either";
const GIVEN = "lung=yes,tub=no";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "10000,100000,1000000" },
    seed: { type: "string", default: "1" },
    child: { type: "string" },
    tiny: { type: "boolean", default: false },
    file: { type: "string" },
  },
});

interface Measure {
  loadSeconds: number;
  answerSeconds: number;
  maxRssMiB: number;
  p: number[];
}

function runChild(kind: string, file: string): void {
  const structure = loadStructure(NET);
  const t0 = performance.now();
  const context = loadCsv(file, structure);
  const t1 = performance.now();
  let p: number[] = [];
  if (kind !== "load") {
    const engine =
      kind === "mle"
        ? estimatorEngine()
        : constructionEngine({ eps: 1e-6, maxContext: Math.max(1, context.rows) });
    const target = variableIndex(structure, TARGET);
    p = Array.from(engine.bind(structure, context)(target, parseGiven(structure, GIVEN)));
  }
  const t2 = performance.now();
  const m: Measure = {
    loadSeconds: (t1 - t0) / 1e3,
    answerSeconds: (t2 - t1) / 1e3,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    p,
  };
  process.stdout.write(JSON.stringify(m) + "\n");
}

function measure(kind: string, file: string): Measure {
  const args = ["--import", "tsx", import.meta.filename, "--child", kind, "--file", file];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`child ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Measure;
}

function main(): void {
  const seed = Number(values.seed);
  // --tiny: one small context so CI sees the script run (bench/smoke.sh); sizes mean nothing.
  const sizes = values.tiny ? [2000] : values.rows.split(",").map(Number);
  mkdirSync("bench/out", { recursive: true });
  const net = loadNetwork(NET);
  console.log(
    `${cpus()[0]?.model ?? "?"}, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log("rows       engine        load CSV  answer    peak RSS  over load   P(either=yes)");
  for (const n of sizes) {
    const file = `bench/out/asia-${n}-${seed}.csv`;
    if (!existsSync(file))
      writeFileAtomic(file, writeCsv(net, sampleRows(createRng(seed), net, n)));
    const load = measure("load", file);
    const results = new Map<string, Measure>([["load", load]]);
    for (const kind of ["mle", "construction"]) results.set(kind, measure(kind, file));
    // The two engines must give the same answer (within the construction's eps) before any
    // memory figure counts.
    const [pm, pc] = [results.get("mle")!.p, results.get("construction")!.p];
    const gap = Math.max(...pm.map((x, j) => Math.abs(x - pc[j]!)));
    if (!(gap < 1e-5)) throw new Error(`construction and MLE disagree by ${gap} at ${n} rows`);
    for (const kind of ["load", "mle", "construction"]) {
      const m = results.get(kind)!;
      const over = m.maxRssMiB - load.maxRssMiB;
      console.log(
        [
          String(n).padEnd(10),
          kind.padEnd(12),
          `${m.loadSeconds.toFixed(2)} s`.padStart(9),
          `${m.answerSeconds.toFixed(2)} s`.padStart(8),
          `${m.maxRssMiB.toFixed(0)} MiB`.padStart(10),
          `${over >= 0 ? "+" : ""}${over.toFixed(0)} MiB`.padStart(10),
          m.p.length > 0 ? `  ${m.p[0]!.toPrecision(12)}` : "",
        ].join(" "),
      );
    }
  }
  console.log(`load ${loadavg()[0]!.toFixed(2)}`);
}

if (values.child !== undefined) runChild(values.child, values.file!);
else main();
