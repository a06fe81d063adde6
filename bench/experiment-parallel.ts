/**
 * The experiment's throughput on one machine: the same plan trained by the CLI one run
 * after another (`bnformer experiment ... --train-only`) and K runs at a time in child
 * processes (`--parallel K`, src/experiment/parallel.ts), in the same script run.
 *
 *   npx tsx bench/experiment-parallel.ts [--k 2] [--steps 150] [--rounds 2] [--tiny]
 *
 * Plan: the smoke preset's model and task on chain7 and general5, seed 0, both targets (4
 * runs of --steps steps each). Each mode runs as its own `node bin/bnformer.mjs` process
 * (dist/: `npm run build` first), as a user runs it, so both pay their start-up; every
 * round trains the plan afresh once per mode, the modes in turn, so load from other
 * processes hits both alike. The modes are checked against each other first: every run's
 * trained weights must be byte-equal. Prints each mode's wall time (best and median over
 * rounds), its CPU seconds (the command and its children), the 1-minute load average, and
 * the speed-up (one-at-a-time wall time / parallel wall time; > 1: --parallel is faster).
 * --tiny: general5 only (2 runs), 1 step, one round, K 2 (bench/smoke.sh; its times mean
 * nothing).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";

const { values } = parseArgs({
  options: {
    k: { type: "string", default: "2" },
    steps: { type: "string", default: "150" },
    rounds: { type: "string", default: "2" },
    tiny: { type: "boolean", default: false },
  },
});
const K = values.tiny ? 2 : Number(values.k);
const STEPS = values.tiny ? 1 : Number(values.steps);
const ROUNDS = values.tiny ? 1 : Number(values.rounds);

const GRAPHS = values.tiny ? ["general5"] : ["chain7", "general5"];
const RUN_DIRS = GRAPHS.flatMap((g) =>
  ["posterior-mean", "prediction"].map((t) => join("runs", g, `${t}-seed0`)),
);

interface Mode {
  label: string;
  flags: string[];
}
const MODES: Mode[] = [
  { label: "one at a time (default)", flags: [] },
  { label: `--parallel ${K} (child processes)`, flags: ["--parallel", String(K)] },
];

/** Trains the plan into `out` with `mode`'s flags; throws if the command fails. */
function train(mode: Mode, out: string): void {
  const args = [
    ...["bin/bnformer.mjs", "experiment", "paper", "--preset", "smoke", "--train-only"],
    ...["--graphs", GRAPHS.join(","), "--seeds", "0", "--steps", String(STEPS), "--out", out],
    ...mode.flags,
  ];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed:\n${r.stderr}`);
}

function cpuSeconds(): number {
  const self = process.resourceUsage();
  // Children's CPU is not in resourceUsage; /proc/self/stat holds cutime + cstime
  // of the waited-for children (and theirs).
  const stat = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[13]) + Number(stat[14]);
  return (self.userCPUTime + self.systemCPUTime) / 1e6 + ticks / 100;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const root = mkdtempSync(join(tmpdir(), "bnformer-bench-parallel-"));
console.log(
  `experiment-parallel: ${RUN_DIRS.length} runs x ${STEPS} steps, K ${K}, ` +
    `${ROUNDS} round(s), node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
    `load ${loadavg()[0]!.toFixed(2)}`,
);
const wall = MODES.map(() => [] as number[]);
const cpu = MODES.map(() => [] as number[]);
try {
  for (let round = 0; round < ROUNDS; round++) {
    const weights: Buffer[][] = [];
    for (const [i, mode] of MODES.entries()) {
      const out = join(root, `r${round}-m${i}`);
      const c0 = cpuSeconds();
      const t0 = performance.now();
      train(mode, out);
      wall[i]!.push((performance.now() - t0) / 1000);
      cpu[i]!.push(cpuSeconds() - c0);
      weights.push(RUN_DIRS.map((r) => readFileSync(join(out, r, "model", "model.safetensors"))));
    }
    weights.slice(1).forEach((w, m) =>
      w.forEach((b, r) => {
        if (!b.equals(weights[0]![r]!))
          throw new Error(`${MODES[m + 1]!.label}: run ${r} trained other weights`);
      }),
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log("all modes trained byte-equal weights\n");
console.log("mode                              wall best s  wall median s  CPU median s");
MODES.forEach((m, i) =>
  console.log(
    `${m.label.padEnd(34)}${Math.min(...wall[i]!)
      .toFixed(2)
      .padStart(
        11,
      )}${median(wall[i]!).toFixed(2).padStart(15)}${median(cpu[i]!).toFixed(2).padStart(14)}`,
  ),
);
const speedup = median(wall[0]!) / median(wall[1]!);
console.log(
  `\nspeed-up of --parallel ${K} over one at a time: ${speedup.toFixed(2)}x (medians; best ${(
    Math.min(...wall[0]!) / Math.min(...wall[1]!)
  ).toFixed(2)}x); load ${loadavg()[0]!.toFixed(2)} at the end`,
);
