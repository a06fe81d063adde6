/**
 * Benchmark: batched in-context MLE in TypeScript (src/estimate/batch.ts) against numpy in
 * the authors' vectorised style (bench/mle_numpy.py), on the evaluation shape: 5000
 * episodes x 11 context lengths x the 7 nodes of general7 (binary; CPT rows P(X=1|cfg) ~
 * U(0.1, 0.9), a fresh CPT set per episode). Both read the same contexts (written to
 * bench/out/mle/), both use the context marginal for unseen configurations, and their
 * outputs are compared before any number is printed.
 *
 *   npx tsx bench/mle.ts [--episodes 5000] [--repeats 5] [--tiny]
 *
 * --tiny: 40 episodes, 1 repeat; checks that both sides still run and agree (bench/smoke.sh).
 * numpy is timed in two formulations, the authors' per-length loop and a single pass with
 * cumulative sums; the headline ratio is against the faster of the two (per task and
 * clock, by median time), the other is printed beside it.
 *
 * Throughput = estimates (episode x length x node) per second from the median of the
 * repeats after one warm-up (minimums shown too: this machine is shared, and the minimum is
 * the least disturbed run). Each repeat also records the process's CPU time (TS:
 * process.cpuUsage; numpy: time.process_time), which waiting for a shared core does not
 * inflate; the load average is printed before and after. The python child runs with
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset.
 */
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { cpus, loadavg } from "node:os";
import { createRng } from "../src/bn/rng.ts";
import { paperGraph } from "../src/bn/families.ts";
import { sampleNetwork } from "../src/bn/priors.ts";
import { generateRows, networkConditional } from "../src/estimate/generate.ts";
import { batchCounts, batchEstimate } from "../src/estimate/batch.ts";
import type { BatchInput } from "../src/estimate/batch.ts";

const LENGTHS = [1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500];
const OUT = "bench/out/mle";
/** Largest |TS - numpy| accepted for the same MLE (both divide the same integer counts). */
const AGREEMENT = 1e-12;

const { values } = parseArgs({
  options: {
    episodes: { type: "string", default: "5000" },
    repeats: { type: "string", default: "5" },
    tiny: { type: "boolean", default: false },
  },
});
const episodes = values.tiny ? 40 : Number(values.episodes);
const repeats = values.tiny ? 1 : Number(values.repeats);

function makeInput(): BatchInput {
  const structure = paperGraph("general7");
  const m = structure.variables.length;
  const n = LENGTHS[LENGTHS.length - 1]!;
  const contexts = new Uint8Array(episodes * n * m);
  const queries = new Uint8Array(episodes * m);
  const rng = createRng(20250101);
  for (let e = 0; e < episodes; e++) {
    const er = rng.fork(e);
    const net = sampleNetwork(er, structure, { kind: "uniform", low: 0.1, high: 0.9 });
    const rows = generateRows(er, net, n + 1, networkConditional(net));
    contexts.set(rows.data.subarray(0, n * m), e * n * m);
    queries.set(rows.data.subarray(n * m), e * m);
  }
  return { structure, contexts, queries, episodes, rows: n, lengths: LENGTHS };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One TS run: shared counts, then the MLE (and the naive MLE) with the marginal policy. */
function runTs(input: BatchInput, naive: boolean) {
  const counts = batchCounts(input, { naive });
  const mle = batchEstimate(counts, { estimator: "mle", unseen: "marginal" });
  const nv = naive ? batchEstimate(counts, { estimator: "naive", unseen: "marginal" }) : null;
  return { mle, nv };
}

/** Seconds of CPU time (user + system) this process has used. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Wall and CPU seconds per repeat of both TS tasks, interleaved so load changes hit both alike. */
function timeTs(input: BatchInput) {
  runTs(input, false); // warm-up (JIT)
  runTs(input, true);
  const times = { mle: [] as number[], "mle+naive": [] as number[] };
  const cpu = { mle: [] as number[], "mle+naive": [] as number[] };
  let last = runTs(input, true);
  for (let r = 0; r < repeats; r++) {
    for (const task of ["mle", "mle+naive"] as const) {
      const [t0, c0] = [performance.now(), cpuSeconds()];
      const out = runTs(input, task === "mle+naive");
      times[task].push((performance.now() - t0) / 1000);
      cpu[task].push(cpuSeconds() - c0);
      if (task === "mle+naive") last = out;
    }
  }
  return { times, cpu, ...last };
}

function runNumpy(): {
  seconds: Record<string, number[]>;
  cpu: Record<string, number[]>;
  info: Record<string, unknown>;
} {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync("python3", ["bench/mle_numpy.py", OUT, String(repeats)], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench/mle_numpy.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Max |P(X=1)| difference and unseen-flag mismatches between TS and numpy ([S, L, M]). */
function compare(
  p1: Float64Array,
  unseen: Uint8Array | null,
  numpyP1: string,
  numpyUnseen: string | null,
) {
  const np = new Float64Array(readFileSync(numpyP1).buffer.slice(0));
  const nu = numpyUnseen ? new Uint8Array(readFileSync(numpyUnseen)) : null;
  let maxDiff = 0;
  let flagMismatch = 0;
  for (let i = 0; i < np.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(np[i]! - p1[i]!));
    if (nu && unseen && nu[i] !== unseen[i]) flagMismatch++;
  }
  return { maxDiff, flagMismatch };
}

/** P(X=1) per [S, L, M] from the [S, L, K] layout (K = 2M, binary). */
function stateOneProbs(probs: Float64Array): Float64Array {
  const out = new Float64Array(probs.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = probs[2 * i + 1]!;
  return out;
}

function main(): void {
  const input = makeInput();
  const m = input.structure.variables.length;
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}/contexts.bin`, input.contexts);
  writeFileSync(`${OUT}/queries.bin`, input.queries);
  const meta = {
    episodes,
    rows: input.rows,
    vars: m,
    lengths: LENGTHS,
    parents: input.structure.parents,
  };
  writeFileSync(`${OUT}/meta.json`, JSON.stringify(meta));

  const load0 = loadavg();
  const ts = timeTs(input);
  const py = runNumpy();
  const checkMle = compare(
    stateOneProbs(ts.mle.probs),
    ts.mle.unseen,
    `${OUT}/numpy_p1.bin`,
    `${OUT}/numpy_unseen.bin`,
  );
  const checkNaive = compare(stateOneProbs(ts.nv!.probs), null, `${OUT}/numpy_naive_p1.bin`, null);
  if (checkMle.maxDiff > AGREEMENT || checkMle.flagMismatch > 0 || checkNaive.maxDiff > AGREEMENT) {
    throw new Error(`TS and numpy disagree: ${JSON.stringify({ checkMle, checkNaive })}`);
  }
  const estimates = episodes * LENGTHS.length * m;
  const rate = (s: number) => (estimates / s / 1e6).toFixed(2);
  console.log(
    `shape: ${episodes} episodes x ${LENGTHS.length} lengths x ${m} nodes = ${estimates} estimates; ${repeats} repeats`,
  );
  console.log(
    `outputs agree: max |dP| mle ${checkMle.maxDiff}, naive ${checkNaive.maxDiff}; unseen flags equal`,
  );
  console.log(
    "| task | TS wall s: median (min) | numpy wall s: median (min) | TS CPU s | numpy CPU s | TS M est/s | numpy M est/s | TS / numpy: wall median, wall min, CPU median |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  const rows = [
    ["mle", "mle"],
    ["mle (numpy cumsum)", "mle"],
    ["mle+naive", "mle+naive"],
    ["mle+naive (numpy cumsum)", "mle+naive"],
  ] as const;
  const f = (x: number) => x.toFixed(3);
  for (const [task, tsTask] of rows) {
    const [t, p] = [ts.times[tsTask], py.seconds[task]!];
    const [tc, pc] = [median(ts.cpu[tsTask]), median(py.cpu[task]!)];
    const [tm, pm] = [median(t), median(p)];
    const [tn, pn] = [Math.min(...t), Math.min(...p)];
    console.log(
      `| ${task} | ${f(tm)} (${f(tn)}) | ${f(pm)} (${f(pn)}) | ${f(tc)} | ${f(pc)} | ${rate(tm)} | ${rate(pm)} | ${(pm / tm).toFixed(1)}x, ${(pn / tn).toFixed(1)}x, ${(pc / tc).toFixed(1)}x |`,
    );
  }
  // The headline: each TS task against the fastest numpy formulation of the same task, per
  // clock (the faster one can differ between wall and CPU time on a loaded machine).
  for (const tsTask of ["mle", "mle+naive"] as const) {
    const formulations = [tsTask, `${tsTask} (numpy cumsum)`];
    const parts = (["wall", "CPU"] as const).map((clock) => {
      const [pyTimes, tsTimes] = clock === "wall" ? [py.seconds, ts.times] : [py.cpu, ts.cpu];
      const [best] = [...formulations].sort((a, b) => median(pyTimes[a]!) - median(pyTimes[b]!));
      const r = median(pyTimes[best!]!) / median(tsTimes[tsTask]);
      return `${r.toFixed(1)}x ${clock} (numpy ${best === tsTask ? "loop" : "cumsum"})`;
    });
    console.log(
      `headline ${tsTask}: TS vs the best numpy formulation, medians: ${parts.join(", ")}`,
    );
  }
  const load1 = loadavg();
  const l = (a: number[]) => a.map((x) => x.toFixed(2)).join(" ");
  console.log(`load average (1, 5, 15 min): before ${l(load0)}, after ${l(load1)}`);
  console.log(`cpu: ${cpus().length} x ${cpus()[0]?.model ?? "?"}`);
  console.log(`numpy: ${JSON.stringify(py.info)}`);
  console.log(`node ${process.version}`);
}

main();
