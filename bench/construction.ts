/**
 * Benchmark: forward throughput of the constructed transformer (queries per second) at
 * N = 500 context rows on general7, next to the counting MLE and to the same forward pass
 * in numpy (bench/construction_numpy.py, run by this script on the same checkpoint and
 * tokens). One pass holds the context and Q = rows x 7 targets queries.
 *
 *   npx tsx bench/construction.ts [--rows 100] [--repeats 5] [--out bench/results/construction.md]
 *   npx tsx bench/construction.ts --tiny   (N = 50, 3 query rows, 1 repeat, no file written)
 *
 * Measured (median of the repeats after one warm-up; minimum shown too, the machine is shared;
 * and the median CPU time of the process, which waiting for a shared core does not inflate):
 * - reference, full: forwardReference on the N + Q tokens, every attention map kept (the spec);
 * - reference, no maps: the same with keepAttention false (silent heads skipped, same bits);
 * - reference, cached: prepareContext once + forwardQueries for the Q queries;
 * - numpy, full: the vectorised forward pass over all T tokens (all maps), float64;
 * - numpy, cached: the context alone, then each query against the context and itself;
 * - counting MLE: estimateConditional once per query.
 * numpy runs with one BLAS thread (OPENBLAS_NUM_THREADS=1), as the TS side has one thread.
 * Ratios compare like with like: full pass with full pass and cached with cached (median
 * with median, minimum with minimum; numpy runs its warm-up run too, then `repeats` runs),
 * and each side's best formulation (least CPU time) with the other's. Outputs are compared before anything
 * is printed: both numpy passes vs TS (max |diff|) and the construction vs the MLE (max TV
 * where the MLE is defined).
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createRng } from "../src/bn/rng.ts";
import { paperGraph } from "../src/bn/families.ts";
import { DEFAULT_BINARY_PRIOR, sampleNetwork } from "../src/bn/priors.ts";
import { sampleRows } from "../src/bn/sample.ts";
import { estimateConditional } from "../src/estimate/estimators.ts";
import { backoffIsMle, backoffSupport } from "../src/estimate/backoff.ts";
import { tvDistance } from "../src/eval/metrics.ts";
import { writeFileAtomic } from "../src/files.ts";
import { construct } from "../src/model/construction.ts";
import { saveConstruction } from "../src/model/checkpoint.ts";
import {
  encodeContext,
  encodeEpisode,
  encodeQueries,
  queriesForTargets,
} from "../src/model/encoding.ts";
import { forwardQueries, forwardReference, prepareContext } from "../src/model/reference.ts";
import { writeSafetensors } from "../src/model/safetensors-file.ts";

const EPS = 1e-6;
const OUT = "bench/out/construction";
/** Largest |TS - numpy| accepted: both are float64, summing in different orders. */
const AGREEMENT = 1e-12;

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100" },
    repeats: { type: "string", default: "5" },
    out: { type: "string", default: "bench/results/construction.md" },
    tiny: { type: "boolean", default: false },
  },
});
const N = values.tiny ? 50 : 500;
const rows = values.tiny ? 3 : Number(values.rows);
const load0 = loadavg()[0]!;
const repeats = values.tiny ? 1 : Number(values.repeats);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall seconds (median, minimum) and median CPU seconds of a pass. */
interface Timed {
  median: number;
  min: number;
  cpu: number;
}

/** Seconds of CPU time (user + system) this process has used. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** `repeats` runs after one warm-up. */
function time(f: () => void): Timed {
  f();
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const [t0, c0] = [performance.now(), cpuSeconds()];
    f();
    t.push((performance.now() - t0) / 1000);
    c.push(cpuSeconds() - c0);
  }
  return { median: median(t), min: Math.min(...t), cpu: median(c) };
}

const structure = paperGraph("general7");
const rng = createRng(20251126);
const net = sampleNetwork(rng, structure, DEFAULT_BINARY_PRIOR);
const context = sampleRows(rng, net, N);
const queries = queriesForTargets(
  sampleRows(rng, net, rows),
  structure.variables.map((_, i) => i),
);
const Q = queries.length;
const c = construct(structure, { eps: EPS, maxContext: N });
const ep = encodeEpisode(c.layout, context, queries);
const O = c.spec.outputDim;

// Correctness first: construction vs MLE, and the reference outputs numpy must reproduce.
const ref = forwardReference(c.spec, c.weights, ep.tokens, ep.kinds);
let worstTv = 0;
let mleQueries = 0;
queries.forEach((q, i) => {
  const s = backoffSupport(structure, context, q.target, q.row);
  if (!backoffIsMle(s, structure.parents[q.target]!.length)) return;
  const mle = estimateConditional(structure, context, q.target, q.row, { estimator: "mle" });
  worstTv = Math.max(worstTv, tvDistance(ref.outputs.subarray(i * O, i * O + mle.length), mle));
  mleQueries++;
});
if (worstTv > EPS) throw new Error(`construction vs MLE: TV ${worstTv} > eps ${EPS}`);

saveConstruction(OUT, c);
writeSafetensors(
  `${OUT}/inputs.safetensors`,
  new Map([
    ["tokens", { shape: [ep.kinds.length, c.spec.inputDim], data: ep.tokens }],
    ["kinds", { shape: [ep.kinds.length], data: Float64Array.from(ep.kinds) }],
    ["expected", { shape: [Q, O], data: ref.outputs }],
  ]),
);

const full = time(() => forwardReference(c.spec, c.weights, ep.tokens, ep.kinds));
const noMaps = time(() =>
  forwardReference(c.spec, c.weights, ep.tokens, ep.kinds, { keepAttention: false }),
);
const ctxTokens = encodeContext(c.layout, context);
const queryTokens = encodeQueries(c.layout, queries);
const cached = time(() => {
  const cache = prepareContext(c.spec, c.weights, ctxTokens);
  forwardQueries(c.spec, c.weights, cache, queryTokens, { keepAttention: false });
});
const mle = time(() => {
  for (const q of queries)
    estimateConditional(structure, context, q.target, q.row, { estimator: "mle" });
});

const py = spawnSync(
  "python3",
  [
    "bench/construction_numpy.py",
    OUT,
    `${OUT}/inputs.safetensors`,
    "--repeat",
    String(repeats + 1),
  ],
  // One BLAS thread, like the TS side: on this shared 2-core machine OpenBLAS's default two
  // threads made the same numpy pass 2-4x slower (measured 2026-12-02, load average 13).
  { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" } },
);
if (py.status !== 0) throw new Error(`numpy benchmark failed: ${py.stderr}`);
interface NumpyPass {
  times: number[];
  cpu: number[];
  max_abs_diff: number;
}
const numpyOut = JSON.parse(py.stdout.trim().split("\n").pop()!) as {
  full: NumpyPass;
  cached: NumpyPass;
};
for (const [name, pass] of [
  ["full", numpyOut.full],
  ["cached", numpyOut.cached],
] as const) {
  if (!(pass.max_abs_diff <= AGREEMENT))
    throw new Error(`numpy ${name} pass disagrees with TS: max |diff| ${pass.max_abs_diff}`);
}
/** numpy's first run is its warm-up, as for the TS timings. */
const numpyTimes = (p: NumpyPass): Timed => ({
  median: median(p.times.slice(1)),
  min: Math.min(...p.times.slice(1)),
  cpu: median(p.cpu.slice(1)),
});
const numpyFull = numpyTimes(numpyOut.full);
const numpyCached = numpyTimes(numpyOut.cached);
const worstNumpyDiff = Math.max(numpyOut.full.max_abs_diff, numpyOut.cached.max_abs_diff);
const npVersion = spawnSync("python3", ["-c", "import numpy; print(numpy.__version__)"], {
  encoding: "utf8",
}).stdout.trim();

const qps = (s: number) => Q / s;
const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toPrecision(3));
const rowsTable: [string, Timed][] = [
  ["construction, reference executor, full (all attention maps)", full],
  ["construction, reference executor, no maps", noMaps],
  ["construction, reference executor, context cached (prepareContext + forwardQueries)", cached],
  ["construction, numpy, full (all T x T scores)", numpyFull],
  ["construction, numpy, context then queries (its cached formulation)", numpyCached],
  ["counting MLE (estimateConditional per query)", mle],
];
const ratio = (ts: Timed, np: Timed) =>
  `${(np.median / ts.median).toPrecision(3)}x wall median, ${(np.min / ts.min).toPrecision(3)}x wall min, ${(np.cpu / ts.cpu).toPrecision(3)}x CPU median`;
/** The formulation with the least median CPU time (wall time moves with the load). */
const fastest = (xs: [string, Timed][]) => xs.reduce((a, b) => (b[1].cpu < a[1].cpu ? b : a));
const bestTs = fastest([
  ["TS full", full],
  ["TS no maps", noMaps],
  ["TS cached", cached],
]);
const bestNumpy = fastest([
  ["numpy full", numpyFull],
  ["numpy cached", numpyCached],
]);
const lines = [
  "# Construction forward throughput",
  "",
  values.tiny
    ? "Command: `npx tsx bench/construction.ts --tiny` (a smoke run: too small for timing)."
    : `Command: \`npx tsx bench/construction.ts --rows ${rows} --repeats ${repeats}\` (writes this file).`,
  `Machine: ${cpus().length} x ${cpus()[0]!.model}; Node ${process.version}; numpy ${npVersion} (one BLAS thread, like the TS side);`,
  `load average when it started ${load0.toFixed(2)} (a shared machine: numbers move with the load).`,
  "",
  `general7 (binary, 7 variables), N = ${N} context rows, ${rows} query rows x 7 targets = ${Q} queries in one pass`,
  `(T = ${ep.kinds.length} tokens); construction eps = ${EPS}, maxContext = ${N}, beta = ${c.params.beta.toFixed(3)};`,
  `spec: D = ${c.spec.dModel}, layer-2 head width ${c.spec.layers[1]!.headDim}, float64.`,
  "",
  "| what | wall s per pass (median) | min | CPU s (median) | queries / s (wall median) | vs counting MLE (wall) |",
  "|---|---|---|---|---|---|",
  ...rowsTable.map(
    ([what, t]) =>
      `| ${what} | ${t.median.toPrecision(3)} | ${t.min.toPrecision(3)} | ${t.cpu.toPrecision(3)} | ${fmt(qps(t.median))} | ${(mle.median / t.median).toPrecision(3)}x |`,
  ),
  "",
  "Speed ratios, numpy time over TS time (> 1: TS faster), median over median and min over min",
  "(best: the least median CPU time of each side):",
  `- full pass vs full pass: ${ratio(full, numpyFull)};`,
  `- cached vs cached: ${ratio(cached, numpyCached)};`,
  `- best vs best (${bestTs[0]} vs ${bestNumpy[0]}): ${ratio(bestTs[1], bestNumpy[1])};`,
  `- reference cached / reference full: ${(full.median / cached.median).toPrecision(3)};`,
  `- counting MLE / reference cached: ${(cached.median / mle.median).toPrecision(3)}.`,
  "",
  `Checks: both numpy passes reproduce the reference outputs to ${worstNumpyDiff.toExponential(2)} (max |diff|, limit ${AGREEMENT});`,
  `the construction is within TV ${worstTv.toExponential(2)} of the MLE on the ${mleQueries} queries where the MLE is defined (eps ${EPS}).`,
  "",
  "Reading: the reference executor is plain float64 loops, the specification rather than a fast",
  "path; its full pass is dominated by the context's own attention (T^2 in each layer), which",
  "the cached path runs once and without the silent layer-1 head. Counting is the natural",
  "algorithm for the MLE; the transformer reproduces its numbers, not its speed.",
  "",
];
if (!values.tiny) writeFileAtomic(values.out!, lines.join("\n"));
console.log(lines.join("\n"));
