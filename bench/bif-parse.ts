/**
 * Reading a large BIF file: time and peak memory of `loadNetwork` on a ~60 MB file,
 * against `JSON.parse` of the same network's JSON form (its "bnformer-network/1" text) in
 * the same run. The target (issue 14): at most 5 s and 1 GB.
 *
 *   npx tsx bench/bif-parse.ts [--vars 4500] [--seed 1] [--reps 3]
 *
 * The network is generated deterministically (seeded): `vars` variables of 2-4 states, each
 * with up to 6 parents among the 60 variables before it, Dirichlet(1) CPT rows, written by
 * `writeBif` (and `writeNetworkJson`) to bench/out/. Each measurement runs in a fresh child
 * process (`node --import tsx`), so the peak RSS (`process.resourceUsage().maxRSS`) is that
 * of one read alone; "baseline" is a child that only reads the file into a string, the floor
 * every reader pays (Node, tsx, the text itself). Children alternate (BIF, JSON, baseline,
 * ...) so a busy machine slows all alike; the best of `reps` is reported.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadNetwork } from "../src/bn/network-file.ts";
import { writeBif } from "../src/bn/bif.ts";
import { writeNetworkJson } from "../src/bn/network-json.ts";
import type { Structure } from "../src/bn/network.ts";
import { createRng } from "../src/bn/rng.ts";
import { sampleNetwork } from "../src/bn/priors.ts";

const { values } = parseArgs({
  options: {
    vars: { type: "string", default: "4500" },
    seed: { type: "string", default: "1" },
    reps: { type: "string", default: "3" },
    child: { type: "string" },
    tiny: { type: "boolean", default: false },
    file: { type: "string" },
  },
});

interface Measure {
  seconds: number;
  /** CPU time of the child's main work (user + system), less disturbed by a busy machine. */
  cpuSeconds: number;
  maxRssMiB: number;
  vars: number;
}

/** In a child: read `file` the way `kind` says, and print one JSON Measure. */
function runChild(kind: string, file: string): void {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let vars = 0;
  if (kind === "bif") vars = loadNetwork(file).variables.length;
  else if (kind === "json")
    vars = (JSON.parse(readFileSync(file, "utf8")) as { variables: unknown[] }).variables.length;
  else vars = readFileSync(file, "utf8").length > 0 ? 0 : -1;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = process.cpuUsage(c0);
  const cpuSeconds = (c1.user + c1.system) / 1e6;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({ seconds, cpuSeconds, maxRssMiB, vars } satisfies Measure) + "\n",
  );
}

/** `n` variables, 2-4 states, up to 6 parents among the 60 before each. */
function bigStructure(n: number, seed: number): Structure {
  const rng = createRng(seed);
  const variables = Array.from({ length: n }, (_, i) => ({
    name: `x${i}`,
    states: Array.from({ length: 2 + rng.nextInt(3) }, (_, j) => `s${j}`),
  }));
  const parents = variables.map((_, i) => {
    const want = Math.min(i, rng.nextInt(7));
    const ps = new Set<number>();
    while (ps.size < want) ps.add(i - 1 - rng.nextInt(Math.min(i, 60)));
    return [...ps];
  });
  return { name: "bench", variables, parents };
}

function measure(kind: string, file: string): Measure {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", import.meta.filename, "--child", kind, "--file", file],
    {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`child ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Measure;
}

function main(): void {
  // --tiny: a small network, one rep, so CI sees the script run (bench/smoke.sh).
  const n = values.tiny ? 60 : Number(values.vars);
  const seed = Number(values.seed);
  const reps = values.tiny ? 1 : Number(values.reps);
  mkdirSync("bench/out", { recursive: true });
  const bifPath = `bench/out/bif-parse-${n}-${seed}.bif`;
  const jsonPath = `bench/out/bif-parse-${n}-${seed}.json`;
  const net = sampleNetwork(createRng(seed + 1), bigStructure(n, seed), {
    kind: "dirichlet",
    alpha: 1,
  });
  writeFileSync(bifPath, writeBif(net));
  writeFileSync(jsonPath, writeNetworkJson(net));
  // Before any time counts: the BIF must read back as the network that was written.
  const back = loadNetwork(bifPath);
  let gap = back.variables.length === net.variables.length ? 0 : Infinity;
  net.cpts.forEach((cpt, v) => {
    const got = back.cpts[v]!;
    if (got.length !== cpt.length) gap = Infinity;
    for (let i = 0; i < cpt.length; i++) gap = Math.max(gap, Math.abs(got[i]! - cpt[i]!));
  });
  if (!(gap < 1e-9)) throw new Error(`the BIF read back a different network (gap ${gap})`);
  const mib = (p: string) => (statSync(p).size / 2 ** 20).toFixed(1);
  console.log(
    `${cpus()[0]?.model ?? "?"}, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    `network: ${n} variables, seed ${seed}; ${bifPath} ${mib(bifPath)} MiB, ${jsonPath} ${mib(jsonPath)} MiB`,
  );
  const runs: Record<string, Measure[]> = { bif: [], json: [], baseline: [] };
  for (let r = 0; r < reps; r++) {
    runs.bif!.push(measure("bif", bifPath));
    runs.json!.push(measure("json", jsonPath));
    runs.baseline!.push(measure("baseline", bifPath));
  }
  const best = (ms: Measure[]) => ({
    seconds: Math.min(...ms.map((m) => m.seconds)),
    cpuSeconds: Math.min(...ms.map((m) => m.cpuSeconds)),
    maxRssMiB: Math.min(...ms.map((m) => m.maxRssMiB)),
  });
  const b = best(runs.bif!);
  const j = best(runs.json!);
  const base = best(runs.baseline!);
  if (runs.bif!.some((m) => m.vars !== n)) throw new Error("the BIF read back a different network");
  const row = (name: string, m: { seconds: number; cpuSeconds: number; maxRssMiB: number }) =>
    `${name.padEnd(34)} ${m.seconds.toFixed(3).padStart(8)} s wall ${m.cpuSeconds.toFixed(3).padStart(8)} s CPU ${m.maxRssMiB.toFixed(0).padStart(6)} MiB peak RSS`;
  console.log(row("loadNetwork (BIF, validated)", b));
  console.log(row("JSON.parse (same network, JSON)", j));
  console.log(row("baseline (read the BIF text)", base));
  const ratio = (x: number, y: number) => (x / y).toFixed(2);
  console.log(
    `BIF / JSON.parse: ${ratio(b.seconds, j.seconds)}x wall, ${ratio(b.cpuSeconds, j.cpuSeconds)}x CPU, ${ratio(b.maxRssMiB, j.maxRssMiB)}x peak RSS`,
  );
  const meets = (seconds: number) => (seconds <= 5 && b.maxRssMiB <= 1024 ? "met" : "NOT met");
  console.log(
    `target (<= 5 s, <= 1 GiB): ${meets(b.seconds)} in wall time, ${meets(b.cpuSeconds)} in CPU time; load ${loadavg()[0]!.toFixed(2)}`,
  );
}

if (values.child !== undefined) runChild(values.child, values.file!);
else main();
