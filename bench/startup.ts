/**
 * CLI start-up time against a bare `node -e 0`, all spawned by one command:
 *
 *   npx tsx bench/startup.ts [--runs 20] [--bin bin/bnformer.mjs]
 *
 * Each round spawns `node -e 0`, `bnformer --version`, `bnformer --help` and
 * `bnformer info data/bif/asia.bif` once, in that order, so a busy machine slows all of them
 * alike; it prints each command's median and best wall time over the rounds and the ratio
 * of medians to `node -e 0`. The bin runs dist/: `npm run build` first. `--bin` times
 * another checkout's bin (e.g. one from before a change). The 1-minute load average is
 * printed before and after: other processes share the cores.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    tiny: { type: "boolean", default: false },
    bin: { type: "string", default: "bin/bnformer.mjs" },
  },
});
// --tiny: two runs so CI sees the script run (bench/smoke.sh); its times mean nothing.
const RUNS = values.tiny ? 2 : Number(values.runs);
const BIN = values.bin!;

const COMMANDS: { label: string; args: string[] }[] = [
  { label: "node -e 0", args: ["-e", "0"] },
  { label: "bnformer --version", args: [BIN, "--version"] },
  { label: "bnformer --help", args: [BIN, "--help"] },
  { label: "bnformer info data/bif/asia.bif", args: [BIN, "info", "data/bif/asia.bif"] },
];

/** Wall seconds of one run of `node ...args`; throws if it fails. */
function timeOnce(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed:\n${r.stderr}`);
  return seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

console.log(
  `startup: ${RUNS} rounds, bin ${BIN}, node ${process.version}, ${cpus().length} CPUs ` +
    `(${cpus()[0]?.model ?? "?"}), load ${loadavg()[0]!.toFixed(2)}`,
);
for (const c of COMMANDS) timeOnce(c.args); // warm the file cache
const times = COMMANDS.map(() => [] as number[]);
for (let round = 0; round < RUNS; round++)
  COMMANDS.forEach((c, i) => times[i]!.push(timeOnce(c.args)));

const base = median(times[0]!);
console.log("\ncommand                              median s  best s  median / node -e 0");
COMMANDS.forEach((c, i) => {
  const m = median(times[i]!);
  const best = Math.min(...times[i]!);
  console.log(
    `${c.label.padEnd(37)}${m.toFixed(3).padStart(8)}${best.toFixed(3).padStart(8)}` +
      `${(m / base).toFixed(2).padStart(20)}`,
  );
});
console.log(`\nload after: ${loadavg()[0]!.toFixed(2)}`);
