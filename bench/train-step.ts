/**
 * One training step (forward + backward + clipping + AdamW) of the same model on the same
 * batch shape, in jax-js (src/train/step.ts, the code training uses) and in PyTorch on CPU
 * (bench/train_step_torch.py), one command for both; prints step times and the ratio.
 *
 * Model: pre-LN, 2 layers, d_model 128, 4 heads (E = 32), MLP 512, exact GELU, input 32,
 * output 4, cross-entropy at one QUERY token per sequence; batch 16, sequence 256 (255
 * context tokens and the query). Each side draws its own random tokens and weights (values
 * do not change the work done). Both sides run the last layer on the query rows only (what
 * bnformer's training does); PyTorch is also timed with the last layer on every row.
 *
 *   npx tsx bench/train-step.ts [--rounds 3] [--steps 8] [--threads 1,2] [--relaxed 1,0] [--no-torch] [--tiny]
 *
 * --tiny: one round of one step after one warm-up, 1 thread, relaxed SIMD (bench/smoke.sh).
 * Without PyTorch (`import torch` fails in /usr/bin/python3) the torch side is skipped with
 * a message and only jax-js runs; --no-torch skips it on purpose.
 *
 * Before any timing counts, both sides are checked on the same numbers: the first jax-js
 * child writes its initial weights and batch to bench/out/train-step/check.safetensors with
 * the losses of its first two steps (before and after one update); PyTorch loads them,
 * takes the same two steps and must give the same losses (float32: within CHECK_RTOL).
 *
 * --threads and --relaxed list the jax-js configurations to time (worker threads; relaxed
 * SIMD on/off, see src/model/jax/setup.ts); every combination runs.
 *
 * Each configuration runs in its own process (jax-js fixes its thread count at load), and
 * rounds alternate between them so that load from other processes hits all alike. PyTorch
 * runs with OPENBLAS_NUM_THREADS=2 and torch threads 1 (docs/STACK.md), /usr/bin/python3.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const B = 16;
const T = 256;
const I = 32;
const O = 4;
const CHECK_FILE = "bench/out/train-step/check.safetensors";
/** Largest relative loss difference accepted between jax-js and PyTorch (both float32). */
const CHECK_RTOL = 1e-3;

interface Timing {
  label: string;
  median_s: number;
  min_s: number;
  cpu_s?: number;
  /** The first step: compiling the jitted step for this shape, plus one step. */
  first_s?: number;
  /** Losses of the first two steps (before the first update and after it). */
  losses?: number[];
}

async function childJax(
  threads: number,
  relaxedSimd: boolean,
  steps: number,
  warmup: number,
  checkOut: string | undefined,
): Promise<Timing> {
  const { loadJax } = await import("../src/model/jax/setup.ts");
  await loadJax({ threads, relaxedSimd });
  const { paramsFromWeights } = await import("../src/model/jax/executor.ts");
  const { createTrainStep } = await import("../src/train/step.ts");
  const { adamwInit, defaultAdamwConfig } = await import("../src/train/adamw.ts");
  const { oneHotTargets } = await import("../src/train/loss.ts");
  const { initWeights, flattenWeights, TOKEN_QUERY } = await import("../src/model/spec.ts");
  const { writeSafetensors } = await import("../src/model/safetensors-file.ts");
  const { createRng } = await import("../src/bn/rng.ts");
  const layer = { heads: 4, headDim: 32, mlpHidden: 512 };
  const spec = {
    format: "bnformer-transformer/1" as const,
    inputDim: I,
    dModel: 128,
    layers: [layer, layer],
    activation: "gelu" as const,
    layerNorm: true,
    outputDim: O,
    output: "logits" as const,
  };
  const rng = createRng(1);
  const weights = initWeights(rng, spec);
  let params = paramsFromWeights(spec, weights);
  let state = adamwInit(params);
  const tokens = Float32Array.from({ length: B * T * I }, () => (rng.next() < 0.3 ? 1 : 0));
  const kinds = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) kinds[b * T + T - 1] = TOKEN_QUERY;
  const labels = Array.from({ length: B }, () => rng.nextInt(O));
  const batch = { tokens, kinds, shape: [B, T, I] as const, targets: oneHotTargets(labels, O) };
  if (checkOut !== undefined) {
    const tensors = flattenWeights(weights);
    tensors.set("batch.tokens", { shape: [B, T, I], data: tokens });
    tensors.set("batch.kinds", { shape: [B, T], data: Float32Array.from(kinds) });
    tensors.set("batch.labels", { shape: [B], data: Float32Array.from(labels) });
    writeSafetensors(checkOut, tensors);
  }
  const step = await createTrainStep(spec, "cross-entropy", defaultAdamwConfig);
  const losses: number[] = [];
  const times: number[] = [];
  let cpu = 0;
  let first = 0;
  for (let i = 0; i < warmup + steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await step.step(params, state, batch, 1e-3);
    if (losses.length < 2) losses.push(r.loss);
    params = r.params;
    state = r.state;
    if (i === 0) first = (performance.now() - t0) / 1000;
    if (i >= warmup) {
      times.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu += (c.user + c.system) / 1e6;
    }
  }
  times.sort((a, b) => a - b);
  return {
    label: `jax-js, ${threads} thread${threads > 1 ? "s" : ""}${relaxedSimd ? ", relaxed SIMD" : ""}`,
    median_s: times[Math.floor(times.length / 2)]!,
    min_s: times[0]!,
    cpu_s: cpu / steps,
    first_s: first,
    losses,
  };
}

function runChild(args: string[]): Timing {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--import", "tsx", self, ...args], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`child ${args.join(" ")} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Timing;
}

const TORCH = "PyTorch CPU, OpenBLAS 2 threads";
const PYTHON = "/usr/bin/python3";

function spawnTorch(args: string[]) {
  const script = fileURLToPath(new URL("./train_step_torch.py", import.meta.url));
  const r = spawnSync(PYTHON, [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: "2" },
  });
  if (r.status !== 0) throw new Error(`PyTorch run failed (see docs/STACK.md):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

/** Whether /usr/bin/python3 can import torch (the torch side is optional). */
function torchAvailable(): boolean {
  return spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

function runTorch(steps: number, warmup: number, allRows: boolean): Timing {
  const args = ["--json", "--steps", String(steps), "--warmup", String(warmup)];
  const j = spawnTorch(allRows ? [...args, "--all-rows"] : args) as {
    median_s: number;
    min_s: number;
  };
  const label = allRows ? `${TORCH}, last layer on all rows` : TORCH;
  return { label, median_s: j.median_s, min_s: j.min_s };
}

/** PyTorch's losses on jax-js's weights and batch must be jax-js's; throws if not. */
function checkTorch(jaxLosses: readonly number[]): string {
  const { losses } = spawnTorch(["--json", "--check", CHECK_FILE]) as { losses: number[] };
  const rel = jaxLosses.map((l, i) => Math.abs(l - losses[i]!) / Math.abs(l));
  const line = `losses of the first two steps: jax-js ${jaxLosses.map((l) => l.toFixed(6)).join(", ")}; PyTorch ${losses.map((l) => l.toFixed(6)).join(", ")}`;
  if (!(losses.length === jaxLosses.length && rel.every((x) => x <= CHECK_RTOL)))
    throw new Error(`jax-js and PyTorch disagree: ${line} (limit ${CHECK_RTOL} relative)`);
  return line;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: "string" },
      threads: { type: "string", default: "1,2" },
      rounds: { type: "string", default: "3" },
      steps: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      relaxed: { type: "string", default: "1,0" },
      "no-torch": { type: "boolean", default: false },
      "check-out": { type: "string" },
      tiny: { type: "boolean", default: false },
    },
  });
  if (values.tiny) Object.assign(values, { rounds: "1", steps: "1", threads: "1", relaxed: "1" });
  const steps = Number(values.steps);
  // the cross-check reads the first two steps' losses
  const warmup = Math.max(values.tiny ? 1 : 2, Number(values.warmup));
  if (values.child === "jax") {
    const t = await childJax(
      Number(values.threads),
      values.relaxed === "1",
      steps,
      warmup,
      values["check-out"],
    );
    console.log(JSON.stringify(t));
    return;
  }
  let torch = !values["no-torch"];
  if (torch && !torchAvailable()) {
    console.log(`PyTorch is not importable by ${PYTHON}: skipping the PyTorch side`);
    torch = false;
  }
  let checked: string | null = null;
  const threads = values.threads.split(",").map(Number);
  const results = new Map<string, Timing[]>();
  const add = (t: Timing) => results.set(t.label, [...(results.get(t.label) ?? []), t]);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const n of threads) {
      for (const relaxed of values.relaxed.split(",")) {
        const args = ["--child", "jax", "--threads", String(n), "--relaxed", relaxed];
        args.push("--steps", String(steps), "--warmup", String(warmup));
        if (torch && checked === null) {
          mkdirSync("bench/out/train-step", { recursive: true });
          const t = runChild([...args, "--check-out", CHECK_FILE]);
          checked = checkTorch(t.losses!);
          add(t);
        } else add(runChild(args));
      }
    }
    if (torch) {
      add(runTorch(steps, warmup, false));
      add(runTorch(steps, warmup, true));
    }
  }
  if (checked !== null) console.log(`outputs agree: ${checked}`);
  console.log(
    `one training step, B ${B}, T ${T}, d_model 128, 2 layers; median of ${steps} steps per round, best round:`,
  );
  const best = new Map<string, number>();
  for (const [label, ts] of results) {
    const m = Math.min(...ts.map((t) => t.median_s));
    best.set(label, m);
    const rounds = ts.map((t) => t.median_s.toFixed(3)).join(" ");
    const cpu =
      ts[0]!.cpu_s !== undefined
        ? `, cpu ${Math.min(...ts.map((t) => t.cpu_s!)).toFixed(3)} s,` +
          ` first step ${Math.min(...ts.map((t) => t.first_s!)).toFixed(2)} s`
        : "";
    console.log(`  ${label.padEnd(56)} ${m.toFixed(3)} s   (rounds: ${rounds}${cpu})`);
  }
  const torchBest = best.get(TORCH);
  if (torchBest !== undefined) {
    const jaxBest = Math.min(...[...best].filter(([l]) => l.startsWith("jax")).map(([, v]) => v));
    console.log(
      `ratio (best jax-js / PyTorch, same computation): ${(jaxBest / torchBest).toFixed(2)}x`,
    );
  }
}

await main();
