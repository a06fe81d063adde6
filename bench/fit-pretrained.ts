/**
 * Benchmark (issue 9, target 5: under 5 s): fitting sachs's CPTs with the pretrained model
 * from a 500-row context, as a user runs it, against the MLE in the same run:
 *
 *   npx tsx bench/fit-pretrained.ts [--model DIR] [--runs 5] [--rows 500] [--tiny]
 *
 * Each round spawns `bnformer fit --structure data/bif/sachs.bif --data CTX --engine E
 * --out fitted.bif` once with E = the pretrained model and once with E = mle, so a busy
 * machine slows both alike; it prints each one's median and best wall time over the rounds
 * and the ratio of medians (pretrained ÷ mle). CTX is `bnformer sample --network
 * data/bif/sachs.bif --n 500 --seed 1`. It also times, in this process, the pretrained
 * engine's tabulation alone (every CPT row at every parent configuration, the model already
 * loaded) against fitting the MLE, and checks that each CLI run wrote the very CPTs the
 * in-process engine gives, before it prints a number.
 *
 * The model: --model DIR (a trained family model, run or checkpoint directory; spawned as
 * `--engine model:DIR`), else the shipped models/pretrained (`--engine pretrained`). --tiny
 * (bench/smoke.sh): one round; without either model it trains a tiny family model first
 * (1 step, d-model 8), so its times mean nothing. The bin runs dist/: `npm run build`
 * first. The 1-minute load average is printed before and after: other processes share the
 * cores.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadNetwork, loadStructure } from "../src/bn/network-file.ts";
import { loadCsv } from "../src/bn/csv-file.ts";
import type { Network } from "../src/bn/network.ts";
import { fitNetwork, tabulateConditional } from "../src/estimate/index.ts";
import { PRETRAINED_DIR, pretrainedEngine } from "../src/train/pretrained.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    runs: { type: "string", default: "5" },
    rows: { type: "string", default: "500" },
    tiny: { type: "boolean", default: false },
  },
});
const RUNS = values.tiny ? 1 : Number(values.runs);
const ROWS = Number(values.rows);
const BIN = "bin/bnformer.mjs";
const STRUCTURE = "data/bif/sachs.bif";
const TARGET_SECONDS = 5;

if (!existsSync("dist/cli/main.js")) {
  console.error("bench/fit-pretrained.ts: dist/ is missing; run `npm run build` first");
  process.exit(1);
}

/** Runs `bnformer ...args`; returns its wall seconds, or throws with its stderr. */
function bnformer(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bnformer ${args.join(" ")} failed:\n${r.stderr}`);
  return seconds;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall seconds of `fn` over the runs, and its last result. */
function timeInProcess<T>(fn: () => T): { median: number; result: T } {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { median: median(times), result };
}

/** The largest |difference| between two networks' CPT entries (same structure). */
function maxCptDifference(a: Network, b: Network): number {
  let worst = 0;
  a.cpts.forEach((cpt, v) => {
    const other = b.cpts[v]!;
    if (other.length !== cpt.length) throw new Error(`CPT ${v}: ${cpt.length} vs ${other.length}`);
    for (let i = 0; i < cpt.length; i++) worst = Math.max(worst, Math.abs(cpt[i]! - other[i]!));
  });
  return worst;
}

// The model: --model, the shipped one, or (--tiny only) a tiny one trained here.
const trainTiny = values.model === undefined && !existsSync(PRETRAINED_DIR);
if (trainTiny && !values.tiny) {
  console.error(
    `bench/fit-pretrained.ts: no model at ${PRETRAINED_DIR}; give --model DIR (a family model)`,
  );
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "bnformer-bench-fit-"));
try {
  let modelDir = values.model ?? null;
  if (trainTiny) {
    modelDir = join(dir, "tiny-family");
    const seconds = bnformer([
      ...["train", "--task", "family", "--steps", "1", "--seed", "4", "--batch", "2"],
      ...["--query-rows", "2", "--context-max", "12", "--d-model", "8", "--heads", "1"],
      ...["--mlp", "8", "--out", modelDir],
    ]);
    console.log(`no models/pretrained: trained a tiny family model in ${seconds.toFixed(1)} s`);
  }
  const engineArg = modelDir === null ? "pretrained" : `model:${modelDir}`;

  const context = join(dir, "sachs-context.csv");
  bnformer([
    "sample",
    "--network",
    STRUCTURE,
    "--n",
    String(ROWS),
    "--seed",
    "1",
    "--out",
    context,
  ]);
  const fitArgs = (engine: string, out: string) => [
    ...["fit", "--structure", STRUCTURE, "--data", context, "--engine", engine],
    ...["--out", join(dir, out)],
  ];
  const SIDES = [
    {
      label: `fit --engine ${modelDir === null ? "pretrained" : "model:DIR"}`,
      args: fitArgs(engineArg, "pretrained.bif"),
    },
    { label: "fit --engine mle", args: fitArgs("mle", "mle.bif") },
  ];

  console.log(
    `fit-pretrained: sachs, ${ROWS}-row context, ${RUNS} round(s), model ${modelDir ?? PRETRAINED_DIR}, ` +
      `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
      `load ${loadavg()[0]!.toFixed(2)}`,
  );

  // In this process: the same structure and rows, the model loaded once.
  const structure = loadStructure(STRUCTURE);
  const data = loadCsv(context, structure);
  const t0 = process.hrtime.bigint();
  const engine = pretrainedEngine(modelDir ?? PRETRAINED_DIR);
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const tabulation = timeInProcess(() =>
    tabulateConditional(structure, engine.bind(structure, data)),
  );
  const mle = timeInProcess(() => fitNetwork(structure, data, { estimator: "mle" }));

  if (!values.tiny) for (const s of SIDES) bnformer(s.args); // warm the file cache
  const times = SIDES.map(() => [] as number[]);
  for (let round = 0; round < RUNS; round++)
    SIDES.forEach((s, i) => times[i]!.push(bnformer(s.args)));
  // Each side wrote the CPTs the in-process engine gives (the BIF keeps every digit).
  for (const [side, expected] of [
    [SIDES[0]!, tabulation.result],
    [SIDES[1]!, mle.result],
  ] as const) {
    const written = loadNetwork(side.args[side.args.length - 1]!);
    const diff = maxCptDifference(written, expected);
    if (!(diff <= 1e-12)) throw new Error(`${side.label} wrote CPTs ${diff} away from in-process`);
  }

  const reference = median(times[1]!);
  console.log(`\nspawned CLI (wall)${" ".repeat(12)}median s  best s  median / mle`);
  SIDES.forEach((s, i) => {
    const m = median(times[i]!);
    console.log(
      `${s.label.padEnd(30)}${m.toFixed(3).padStart(8)}` +
        `${Math.min(...times[i]!)
          .toFixed(3)
          .padStart(8)}${(m / reference).toFixed(2).padStart(15)}`,
    );
  });
  console.log(
    `\nin process (median wall s): model load ${loadSeconds.toFixed(3)}, ` +
      `pretrained tabulation ${tabulation.median.toFixed(3)}, mle fit ${mle.median.toFixed(4)} ` +
      `(ratio ${(tabulation.median / mle.median).toFixed(1)})`,
  );
  const cli = median(times[0]!);
  console.log(
    `target 5: fit --engine pretrained under ${TARGET_SECONDS} s: ${cli.toFixed(2)} s, ` +
      `${cli < TARGET_SECONDS ? "met" : "missed"}${values.tiny ? " (tiny: means nothing)" : ""}`,
  );
  console.log(`load after: ${loadavg()[0]!.toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
