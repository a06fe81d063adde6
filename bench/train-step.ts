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
 *   npx tsx bench/train-step.ts [--rounds 3] [--steps 8] [--threads 1,2] [--relaxed 1,0] [--no-torch]
 *
 * --threads and --relaxed list the jax-js configurations to time (worker threads; relaxed
 * SIMD on/off, see src/model/jax/setup.ts); every combination runs.
 *
 * Each configuration runs in its own process (jax-js fixes its thread count at load), and
 * rounds alternate between them so that load from other processes hits all alike. PyTorch
 * runs with OPENBLAS_NUM_THREADS=2 and torch threads 1 (docs/STACK.md), /usr/bin/python3.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const B = 16;
const T = 256;
const I = 32;
const O = 4;

interface Timing {
  label: string;
  median_s: number;
  min_s: number;
  cpu_s?: number;
  /** The first step: compiling the jitted step for this shape, plus one step. */
  first_s?: number;
}

async function childJax(
  threads: number,
  relaxedSimd: boolean,
  steps: number,
  warmup: number,
): Promise<Timing> {
  const { loadJax } = await import("../src/model/jax/setup.ts");
  await loadJax({ threads, relaxedSimd });
  const { paramsFromWeights } = await import("../src/model/jax/executor.ts");
  const { createTrainStep } = await import("../src/train/step.ts");
  const { adamwInit, defaultAdamwConfig } = await import("../src/train/adamw.ts");
  const { oneHotTargets } = await import("../src/train/loss.ts");
  const { initWeights, TOKEN_QUERY } = await import("../src/model/spec.ts");
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
  let params = paramsFromWeights(spec, initWeights(rng, spec));
  let state = adamwInit(params);
  const tokens = Float32Array.from({ length: B * T * I }, () => (rng.next() < 0.3 ? 1 : 0));
  const kinds = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) kinds[b * T + T - 1] = TOKEN_QUERY;
  const labels = Array.from({ length: B }, () => rng.nextInt(O));
  const batch = { tokens, kinds, shape: [B, T, I] as const, targets: oneHotTargets(labels, O) };
  const step = await createTrainStep(spec, "cross-entropy", defaultAdamwConfig);
  const times: number[] = [];
  let cpu = 0;
  let first = 0;
  for (let i = 0; i < warmup + steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await step.step(params, state, batch, 1e-3);
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

function runTorch(steps: number, warmup: number, allRows: boolean): Timing {
  const script = fileURLToPath(new URL("./train_step_torch.py", import.meta.url));
  const args = [script, "--json", "--steps", String(steps), "--warmup", String(warmup)];
  const r = spawnSync("/usr/bin/python3", allRows ? [...args, "--all-rows"] : args, {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: "2" },
  });
  if (r.status !== 0) throw new Error(`PyTorch run failed (see docs/STACK.md):\n${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split("\n").pop()!) as { median_s: number; min_s: number };
  const label = allRows ? `${TORCH}, last layer on all rows` : TORCH;
  return { label, median_s: j.median_s, min_s: j.min_s };
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
    },
  });
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  if (values.child === "jax") {
    const t = await childJax(Number(values.threads), values.relaxed === "1", steps, warmup);
    console.log(JSON.stringify(t));
    return;
  }
  const threads = values.threads.split(",").map(Number);
  const results = new Map<string, Timing[]>();
  const add = (t: Timing) => results.set(t.label, [...(results.get(t.label) ?? []), t]);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const n of threads) {
      for (const relaxed of values.relaxed.split(",")) {
        const args = ["--child", "jax", "--threads", String(n), "--relaxed", relaxed];
        add(runChild([...args, "--steps", String(steps), "--warmup", String(warmup)]));
      }
    }
    if (!values["no-torch"]) {
      add(runTorch(steps, warmup, false));
      add(runTorch(steps, warmup, true));
    }
  }
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
  const torch = best.get(TORCH);
  if (torch !== undefined) {
    const jaxBest = Math.min(...[...best].filter(([l]) => l.startsWith("jax")).map(([, v]) => v));
    console.log(
      `ratio (best jax-js / PyTorch, same computation): ${(jaxBest / torch).toFixed(2)}x`,
    );
  }
}

await main();
