/**
 * Batched ancestral sampling throughput: src/bn/sample.ts against a vectorised NumPy
 * reference (bench/sampler_numpy.py), run side by side by one command:
 *
 *   npx tsx bench/sampler.ts [--sets 5000] [--rows 500] [--reps 3] [--rounds 3]
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
import { readFileSync } from "node:fs";
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
  },
});
const SETS = Number(values.sets);
const ROWS = Number(values.rows);
const REPS = Number(values.reps);
const ROUNDS = Number(values.rounds);

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

function timeNumpy(): NumpyResult {
  const job = {
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
  return JSON.parse(r.stdout) as NumpyResult;
}

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ts: Times[] = WORKLOADS.map(() => ({ wall: [], cpu: [] }));
const np: Times[] = WORKLOADS.map(() => ({ wall: [], cpu: [] }));
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
