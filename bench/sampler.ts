/**
 * Batched ancestral sampling throughput: src/bn/sample.ts against a vectorised NumPy
 * reference (bench/sampler_numpy.py), run side by side by one command:
 *
 *   npx tsx bench/sampler.ts [--sets 5000] [--rows 500] [--reps 3] [--rounds 3] [--tiny]
 *
 * --tiny: 20 sets x 50 rows, 1 round of 1 rep (bench/smoke.sh): both sides run and agree.
 *
 * Before any timing counts, the two samplers are checked against each other: on the same
 * CPT sets (TS draws them and writes them to bench/out/sampler/), each side samples rows
 * with its own generator, and a chi-square test of homogeneity, one 2 x K table per (set,
 * node, parent configuration), compares the two samples; the sum of the statistics over its
 * expectation under "same distribution" (Haldane: (K - 1) N / (N - 1) per table with fixed
 * margins) must lie within CHECK_TOLERANCE of 1. A wrong parent order or threshold on either
 * side moves it far above.
 *
 * Workloads: general7 (binary, U(0.1, 0.9) CPTs) and the Sachs graph (3 states,
 * Dirichlet(1) CPTs); S CPT sets x N rows each. Timed on both sides: threshold tables,
 * sampling, and the [S, N, M] uint8 output; not timed: drawing the CPTs. Both sides are
 * single-threaded. They alternate (TS, numpy, TS, numpy, ...) so a busy machine slows both
 * alike, and each rep records wall time and process CPU time; the best rep is reported
 * (the least disturbed one), the median ratio beside it.
 * The Python child runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
 * Each TS rep includes compiling the structure's WebAssembly kernel (no cache across calls).
 * The 1-minute load average is printed before and after: other processes share the cores.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { Structure } from "../src/bn/network.ts";
import { topologicalOrder } from "../src/bn/network.ts";
import { createRng } from "../src/bn/rng.ts";
import { paperGraph, sachsGraph } from "../src/bn/families.ts";
import type { CptPrior } from "../src/bn/priors.ts";
import { sampleCptBatch } from "../src/bn/priors.ts";
import { sampleBatch } from "../src/bn/sample.ts";

const { values } = parseArgs({
  options: {
    sets: { type: "string", default: "5000" },
    rows: { type: "string", default: "500" },
    reps: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    tiny: { type: "boolean", default: false },
  },
});
const SETS = values.tiny ? 20 : Number(values.sets);
const ROWS = values.tiny ? 50 : Number(values.rows);
const REPS = values.tiny ? 1 : Number(values.reps);
const ROUNDS = values.tiny ? 1 : Number(values.rounds);
/** The cross-check's sample: enough rows per (set, configuration) for the chi-square. */
const CHECK = values.tiny ? { sets: 20, rows: 200 } : { sets: 200, rows: 1000 };
const OUT = "bench/out/sampler";

interface Workload {
  name: string;
  structure: Structure;
  prior: CptPrior;
}
const WORKLOADS: Workload[] = [
  {
    name: "general7 (binary, U(0.1,0.9))",
    structure: paperGraph("general7"),
    prior: { kind: "uniform", low: 0.1, high: 0.9 },
  },
  {
    name: "sachs (3 states, Dirichlet(1))",
    structure: sachsGraph(readFileSync("data/sachs/GroundTruth.csv", "utf8")),
    prior: { kind: "dirichlet", alpha: 1 },
  },
];

interface Times {
  wall: number[];
  cpu: number[];
}

function timeTs(w: Workload, into: Times): void {
  const cpts = sampleCptBatch(createRng(1), w.structure, w.prior, SETS);
  sampleBatch(createRng(2), w.structure, cpts, Math.min(ROWS, 20)); // warm-up
  for (let r = 0; r < REPS; r++) {
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    sampleBatch(createRng(3 + r), w.structure, cpts, ROWS);
    const c = process.cpuUsage(c0);
    into.wall.push((performance.now() - t0) / 1000);
    into.cpu.push((c.user + c.system) / 1e6);
  }
}

interface NumpyResult {
  numpy: string;
  python: string;
  kernel: Record<string, unknown>;
  openblas_env: Record<string, string | null>;
  results: { name: string; wall: number[]; cpu: number[]; cells: number }[];
}

/** The job bench/sampler_numpy.py reads on stdin. */
function numpyJob() {
  return {
    sets: SETS,
    rows: ROWS,
    reps: REPS,
    workloads: WORKLOADS.map((w, i) => ({
      name: w.name,
      seed: 100 + i,
      prior: w.prior,
      cards: w.structure.variables.map((v) => v.states.length),
      parents: w.structure.parents,
      order: topologicalOrder(w.structure),
    })),
  };
}

function runNumpy(job: object): string {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // both can slow numpy here (env docs); unset for the child only
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync("python3", ["bench/sampler_numpy.py"], {
    input: JSON.stringify(job),
    env,
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`python3 bench/sampler_numpy.py failed:\n${r.stderr}`);
  return r.stdout;
}

function timeNumpy(): NumpyResult {
  return JSON.parse(runNumpy(numpyJob())) as NumpyResult;
}

/** Largest accepted |statistic / expectation - 1| of the cross-check. */
const CHECK_TOLERANCE = values.tiny ? 0.5 : 0.15;

/** Chi-square of homogeneity between two [S, N, M] samples, summed over (set, node, config). */
function homogeneity(
  structure: Structure,
  a: Uint8Array,
  b: Uint8Array,
  sets: number,
  rows: number,
) {
  const m = structure.variables.length;
  const cards = structure.variables.map((v) => v.states.length);
  let stat = 0;
  let expected = 0;
  let tables = 0;
  for (let v = 0; v < m; v++) {
    const ps = structure.parents[v]!;
    const configs = ps.reduce((n, p) => n * cards[p]!, 1);
    const k = cards[v]!;
    const counts = [new Float64Array(configs * k), new Float64Array(configs * k)];
    for (let s = 0; s < sets; s++) {
      counts[0]!.fill(0);
      counts[1]!.fill(0);
      [a, b].forEach((data, side) => {
        for (let r = 0; r < rows; r++) {
          const row = (s * rows + r) * m;
          let cfg = 0;
          for (const p of ps) cfg = cfg * cards[p]! + data[row + p]!;
          counts[side]![cfg * k + data[row + v]!]!++;
        }
      });
      for (let c = 0; c < configs; c++) {
        const [x, y] = [
          counts[0]!.subarray(c * k, c * k + k),
          counts[1]!.subarray(c * k, c * k + k),
        ];
        const n1 = x.reduce((t, u) => t + u, 0);
        const n2 = y.reduce((t, u) => t + u, 0);
        const n = n1 + n2;
        let kEff = 0;
        for (let j = 0; j < k; j++) {
          const col = x[j]! + y[j]!;
          if (col === 0) continue;
          kEff++;
          const [e1, e2] = [(n1 * col) / n, (n2 * col) / n];
          if (e1 > 0) stat += (x[j]! - e1) ** 2 / e1;
          if (e2 > 0) stat += (y[j]! - e2) ** 2 / e2;
        }
        if (n1 === 0 || n2 === 0 || kEff < 2) continue;
        expected += ((kEff - 1) * n) / (n - 1);
        tables++;
      }
    }
  }
  return { stat, expected, tables, ratio: stat / expected };
}

/** Samples the same CPT sets on both sides and compares them (see the header); throws if not alike. */
function crossCheck(): string[] {
  mkdirSync(OUT, { recursive: true });
  const ts = WORKLOADS.map((w, i) => {
    const batch = sampleCptBatch(createRng(1), w.structure, w.prior, CHECK.sets);
    const bytes = batch.cpts.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    writeFileSync(`${OUT}/${i}-cpts.bin`, Buffer.concat(bytes));
    return sampleBatch(createRng(2), w.structure, batch, CHECK.rows).data;
  });
  runNumpy({ ...numpyJob(), check: { dir: OUT, ...CHECK } });
  return WORKLOADS.map((w, i) => {
    const np = new Uint8Array(readFileSync(`${OUT}/${i}-numpy.bin`));
    const h = homogeneity(w.structure, ts[i]!, np, CHECK.sets, CHECK.rows);
    const line = `${w.name}: chi-square ${h.stat.toFixed(0)} / expected ${h.expected.toFixed(0)} = ${h.ratio.toFixed(3)} over ${h.tables} tables (${CHECK.sets} sets x ${CHECK.rows} rows)`;
    if (!(Math.abs(h.ratio - 1) <= CHECK_TOLERANCE))
      throw new Error(`TS and numpy samplers disagree: ${line}; limit 1 ± ${CHECK_TOLERANCE}`);
    return line;
  });
}

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ts: Times[] = WORKLOADS.map(() => ({ wall: [], cpu: [] }));
const np: Times[] = WORKLOADS.map(() => ({ wall: [], cpu: [] }));
const checks = crossCheck();
const loadBefore = loadavg()[0]!;
let info: NumpyResult | undefined;
for (let round = 0; round < ROUNDS; round++) {
  WORKLOADS.forEach((w, i) => timeTs(w, ts[i]!));
  info = timeNumpy();
  info.results.forEach((res, i) => {
    np[i]!.wall.push(...res.wall);
    np[i]!.cpu.push(...res.cpu);
  });
}

console.log(`node ${process.version}; python ${info!.python}, numpy ${info!.numpy}`);
console.log(`cpu: ${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`);
console.log(
  `load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`,
);
console.log(`numpy kernel: ${JSON.stringify(info!.kernel)}`);
console.log(`python child env: ${JSON.stringify(info!.openblas_env)}`);
console.log(`outputs agree (same CPTs, chi-square of homogeneity ÷ its expectation):`);
for (const line of checks) console.log(`  ${line}`);
console.log(`${SETS} CPT sets x ${ROWS} rows; ${ROUNDS} rounds x ${REPS} reps per side`);
console.log(
  "| workload | cells | clock | TS best s | TS Mcells/s | numpy best s | numpy Mcells/s | ratio best | ratio median |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
WORKLOADS.forEach((w, i) => {
  const cells = SETS * ROWS * w.structure.variables.length;
  for (const clock of ["wall", "cpu"] as const) {
    const [t, n] = [best(ts[i]![clock]), best(np[i]![clock])];
    const ratioMedian = median(np[i]![clock]) / median(ts[i]![clock]);
    const rate = (s: number) => (cells / s / 1e6).toFixed(0);
    console.log(
      `| ${w.name} | ${(cells / 1e6).toFixed(1)}M | ${clock} | ${t.toFixed(3)} | ${rate(t)} | ` +
        `${n.toFixed(3)} | ${rate(n)} | ${(n / t).toFixed(2)}x | ${ratioMedian.toFixed(2)}x |`,
    );
  }
});
