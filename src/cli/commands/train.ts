/**
 * `bnformer train`: train a transformer on a task (src/train/tasks.ts) into a run directory
 * (src/train/run.ts): run.json (the resolved config and command), metrics.jsonl, a
 * checkpoint for --resume, and model/ (the trained model for --engine model:DIR and eval).
 * Ctrl-C stops after the current step and saves a checkpoint.
 */
import type { Command } from "../command.ts";
import type { CliIo } from "../io.ts";
import { onFirstInterrupt } from "../interrupt.ts";
import type { OptionDef, Parsed } from "../args.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import {
  loadStructureArg,
  priorFromFlags,
  priorParameterOptions,
  seedOption,
  checkedOutputFolder,
} from "../shared.ts";
import { BnformerError } from "../../errors.ts";
import { readText } from "../../files.ts";
import type { Structure } from "../../bn/network.ts";
import type { CptPrior, SimplePriorKind } from "../../bn/priors.ts";
import { BROAD_PRIOR } from "../../bn/priors.ts";
import { defaultFamilyTask } from "../../train/family-task.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import { PAPER_GRAPH_NAMES, paperGraph, sachsGraph } from "../../bn/families.ts";
import type { TrainSettings } from "../../train/config.ts";
import { defaultTrainSettings } from "../../train/config.ts";
import type { LossKind } from "../../train/loss.ts";
import type { LengthSampling, ModularDagTask, TaskConfig, TaskKind } from "../../train/tasks.ts";
import {
  DEFAULT_MODULAR_EDGE_PROB,
  DEFAULT_MODULAR_MAX_PARENTS,
  defaultTaskConfig,
  structureToJson,
} from "../../train/tasks.ts";
import type { TargetKind } from "../../train/targets.ts";
import { TARGET_KINDS, defaultLossFor } from "../../train/targets.ts";
import type { ModelSize } from "../../train/trained-model.ts";
import type { ContextAttention } from "../../model/spec.ts";
import { MODEL_DIR, defaultModelSize } from "../../train/trained-model.ts";
import type { RunConfig } from "../../train/run.ts";
import type { StepMetrics } from "../../train/progress.ts";
import { buildRunConfig, initFromModel, runTraining } from "../../train/run.ts";
import { PRESETS } from "../../experiment/config.ts";

const OPT = PRESETS.cpu.optimiser;

/** Flags that size the model and the optimiser (shared with `experiment`). */
export const modelOptions: Record<string, OptionDef> = {
  "d-model": { kind: "int", min: 1, default: defaultModelSize.dModel, help: "model width D" },
  layers: { kind: "int", min: 1, default: defaultModelSize.layers, help: "transformer layers" },
  heads: {
    kind: "int",
    min: 1,
    default: defaultModelSize.heads,
    help: "attention heads per layer",
  },
  mlp: {
    kind: "int",
    min: 0,
    default: defaultModelSize.mlpHidden,
    help: "MLP hidden width (0: none)",
  },
  "context-attention": {
    kind: "choice",
    choices: ["context", "self"],
    help: "what a context token attends to: every context token, or only itself (O(n), length-free; default for --task family)",
  },
  lr: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    default: OPT.peakLr,
    help: "peak learning rate",
  },
  warmup: { kind: "int", min: 0, default: OPT.warmupSteps, help: "linear warmup steps" },
  "weight-decay": { kind: "number", min: 0, default: OPT.weightDecay, help: "AdamW weight decay" },
};

const options: Record<string, OptionDef> = {
  task: {
    kind: "choice",
    choices: ["single", "mixed", "random-dag", "categorical", "family"],
    default: "single",
    help: "what to train on (family: the network-agnostic model, one random family per context)",
  },
  graph: {
    kind: "string",
    placeholder: "NAME[,NAME]",
    help: `paper graph(s): ${PAPER_GRAPH_NAMES.join(", ")} (default chain7; mixed: chain7,tree7,general7)`,
  },
  structure: {
    kind: "string",
    placeholder: "NET",
    help: "a structure file (.bif/.json) instead of --graph",
  },
  edges: {
    kind: "string",
    placeholder: "FILE",
    help: "categorical: the Sachs edge list (GroundTruth.csv)",
  },
  nodes: { kind: "int", min: 2, default: 7, help: "random-dag: nodes" },
  "p-min": {
    kind: "number",
    min: 0,
    help: "random-dag: edge probability range (default 0.7..1; 0.1..0.8 for <= 5 nodes)",
  },
  "p-max": { kind: "number", min: 0, help: "random-dag: upper end of the edge probability" },
  "dag-prior": {
    kind: "choice",
    choices: ["edge-range", "modular"],
    default: "edge-range",
    help: "random-dag: DAGs with p ~ U(p-min, p-max), or the modular prior BMA averages over (--edge-prob, --max-parents)",
  },
  "edge-prob": {
    kind: "number",
    min: 0,
    help: `random-dag --dag-prior modular: probability that an earlier node is a parent (default ${DEFAULT_MODULAR_EDGE_PROB})`,
  },
  "max-parents": {
    kind: "int",
    min: 0,
    help: `random-dag --dag-prior modular: most parents per node (default ${DEFAULT_MODULAR_MAX_PARENTS})`,
  },
  "k-max": {
    kind: "int",
    min: 0,
    default: defaultFamilyTask.kMax,
    help: "family: most parents a family may have",
  },
  "d-min": {
    kind: "int",
    min: 2,
    default: defaultFamilyTask.dMin,
    help: "family: fewest states of a family member",
  },
  "d-max": {
    kind: "int",
    min: 2,
    default: defaultFamilyTask.dMax,
    help: "family: most states of a family member",
  },
  prior: {
    kind: "choice",
    choices: ["uniform", "beta", "dirichlet", "broad"],
    help: "CPT prior (default uniform; dirichlet for categorical; broad, a dirichlet-mixture, for family)",
  },
  ...priorParameterOptions,
  target: {
    kind: "choice",
    choices: TARGET_KINDS,
    default: "posterior-mean",
    help: "training target",
  },
  loss: {
    kind: "choice",
    choices: ["cross-entropy", "l1"],
    help: "loss (default: cross-entropy, l1 for mle)",
  },
  steps: { kind: "int", min: 1, help: "updates (default 1000 unless --minutes)" },
  minutes: {
    kind: "number",
    min: 0,
    exclusiveMin: true,
    help: "time budget: steps calibrated at the start, refitted to the run's pace a tenth in; also a hard cap",
  },
  batch: { kind: "int", min: 1, default: defaultTaskConfig.batchSize, help: "contexts per batch" },
  "query-rows": {
    kind: "int",
    min: 1,
    default: defaultTaskConfig.queryRows,
    help: "query rows per context (x variables = query tokens)",
  },
  "context-min": {
    kind: "int",
    min: 1,
    default: defaultTaskConfig.contextMin,
    help: "shortest context",
  },
  "context-max": {
    kind: "int",
    min: 1,
    default: defaultTaskConfig.contextMax,
    help: "longest context",
  },
  "length-sampling": {
    kind: "choice",
    choices: ["uniform", "log-uniform", "mixed"],
    default: defaultTaskConfig.lengthSampling,
    help: "how the context length is drawn per batch",
  },
  ...modelOptions,
  seed: seedOption("seed of the weights and the data stream", 0),
  out: { kind: "string", required: true, placeholder: "DIR", help: "run directory" },
  resume: {
    kind: "boolean",
    help: "continue the run in --out with its stored configuration (other flags are ignored)",
  },
  "init-from": {
    kind: "string",
    placeholder: "DIR",
    help: "start from this trained model's weights (fine-tuning; same task and model size), not fresh ones",
  },
  "checkpoint-every": {
    kind: "int",
    min: 0,
    default: 200,
    help: "save a checkpoint every this many steps",
  },
  "snapshot-steps": {
    kind: "string",
    help: "keep the model after these updates in snapshots/step-N/ (e.g. 100,500,2000), for studying training dynamics",
  },
};

export const train: Command = {
  def: {
    name: "train",
    summary:
      "train a transformer to estimate conditionals in context (metrics.jsonl, checkpoint, model/)",
    usage:
      "bnformer train [--task single|mixed|random-dag|categorical|family] [--graph chain7] [--target posterior-mean] (--steps N | --minutes M) --out DIR [--resume]",
    options,
    examples: [
      "bnformer train --graph chain7 --target posterior-mean --minutes 25 --out runs/chain7-pm",
      "bnformer train --task categorical --edges data/sachs/GroundTruth.csv --steps 3000 --out runs/sachs",
      "bnformer train --task family --k-max 4 --d-max 6 --minutes 240 --out runs/family",
      "bnformer train --task random-dag --dag-prior modular --edge-prob 0.35 --max-parents 3 --minutes 55 --out runs/free",
      "bnformer train --out runs/chain7-pm --resume",
    ],
  },
  async run(args, io) {
    const out = checkedOutputFolder(str(args, "out")!);
    const resume = flag(args, "resume");
    const config = resume ? undefined : runConfigFromArgs(args);
    const stop = new AbortController();
    const onInt = () => {
      io.err(
        "\nstopping after this step (a checkpoint will be saved; Ctrl-C again quits now) ...\n",
      );
      stop.abort();
    };
    const release = onFirstInterrupt(onInt);
    try {
      const r = await runTraining({
        outDir: out,
        ...(config ? { config } : {}),
        resume,
        progress: io.interactive,
        signal: stop.signal,
        log: (l) => io.err(`${l}\n`),
        ...(io.interactive ? {} : { onStep: (m: StepMetrics) => statusLine(io, m) }),
        command: ["bnformer", "train", ...process.argv.slice(3)].join(" "),
      });
      if (r.model === null) {
        io.err(
          `interrupted at step ${r.step}; continue with: bnformer train --out ${out} --resume\n`,
        );
        return 130;
      }
      const evaluate =
        r.config.task.kind === "family"
          ? `bnformer eval-pretrained --model ${out}`
          : r.config.task.randomDag !== null
            ? `bnformer eval-structure-free --model ${out}`
            : `bnformer eval --checkpoint ${out}`;
      io.out(
        `trained ${r.step} steps; model in ${out}/${MODEL_DIR} (use --engine model:${out} or ${evaluate})\n`,
      );
      return 0;
    } finally {
      release();
    }
  },
};

/** Without a terminal (no progress bar): one line every STATUS_EVERY steps. */
export const STATUS_EVERY = 250;

/** Writes a status line on the steps that are multiples of STATUS_EVERY. */
export function statusLine(io: CliIo, m: StepMetrics): void {
  if (m.step % STATUS_EVERY !== 0) return;
  io.err(
    `step ${m.step}: loss ${m.loss.toFixed(4)}, ${m.stepsPerSec.toFixed(2)} steps/s, ${(m.elapsedSec / 60).toFixed(1)} min\n`,
  );
}

/** The RunConfig the flags describe. */
export function runConfigFromArgs(args: Parsed): RunConfig {
  const target = str(args, "target") as TargetKind;
  const minutes = num(args, "minutes") ?? null;
  const steps = num(args, "steps") ?? (minutes === null ? 1000 : null);
  const task: TaskConfig = {
    ...taskStructures(args),
    prior: priorFromArgs(args),
    target,
    batchSize: num(args, "batch")!,
    contextMin: num(args, "context-min")!,
    contextMax: num(args, "context-max")!,
    lengthSampling: str(args, "length-sampling") as LengthSampling,
    queryRows: num(args, "query-rows")!,
  };
  const lr = num(args, "lr")!;
  const train: TrainSettings = {
    ...defaultTrainSettings,
    seed: num(args, "seed")!,
    loss: (str(args, "loss") as LossKind | undefined) ?? defaultLossFor(target),
    logEvery: 10,
    checkpointEvery: num(args, "checkpoint-every")!,
    adamw: { ...defaultTrainSettings.adamw, weightDecay: num(args, "weight-decay")! },
    schedule: { peakLr: lr, minLr: lr / 100, warmupSteps: num(args, "warmup")! },
    ...(str(args, "snapshot-steps") !== undefined
      ? { snapshotSteps: parseLengths(str(args, "snapshot-steps")!, "snapshot-steps") }
      : {}),
  };
  const initFrom = str(args, "init-from");
  return buildRunConfig({
    task,
    model: modelSizeFromArgs(args),
    train,
    steps,
    minutes,
    ...(initFrom !== undefined ? { initFrom: initFromModel(initFrom) } : {}),
  });
}

/** The model size the flags describe. */
export function modelSizeFromArgs(args: Parsed): ModelSize {
  return {
    dModel: num(args, "d-model")!,
    layers: num(args, "layers")!,
    heads: num(args, "heads")!,
    mlpHidden: num(args, "mlp")!,
    activation: "gelu",
    // Absent means "context", so row-token runs keep the run.json they always had.
    ...(contextAttentionFromArgs(args) === "self" ? { contextAttention: "self" as const } : {}),
  };
}

/** --context-attention, by default "self" for the family task and "context" otherwise. */
function contextAttentionFromArgs(args: Parsed): ContextAttention {
  const given = str(args, "context-attention");
  if (given !== undefined) return given as ContextAttention;
  return args.values.task === "family" ? "self" : "context";
}

function taskStructures(
  args: Parsed,
): Pick<TaskConfig, "kind" | "structures" | "randomDag" | "family"> {
  const kind = str(args, "task") as TaskKind;
  if (kind === "family") {
    const family = {
      kMax: num(args, "k-max")!,
      dMin: num(args, "d-min")!,
      dMax: num(args, "d-max")!,
    };
    return { kind, structures: [], randomDag: null, family };
  }
  const modularOnly = ["edge-prob", "max-parents"].find((f) => args.values[f] !== undefined);
  const modular = kind === "random-dag" && str(args, "dag-prior") === "modular";
  if (modularOnly !== undefined && !modular)
    throw new BnformerError(
      "config",
      `--${modularOnly} applies only to --task random-dag --dag-prior modular`,
    );
  if (modular) {
    for (const f of ["p-min", "p-max"])
      if (args.values[f] !== undefined)
        throw new BnformerError(
          "config",
          `--${f} applies only to --dag-prior edge-range; the modular prior takes --edge-prob`,
        );
    const randomDag: ModularDagTask = {
      dagPrior: "modular",
      nodes: num(args, "nodes")!,
      states: 2,
      edgeProb: num(args, "edge-prob") ?? DEFAULT_MODULAR_EDGE_PROB,
      maxParents: num(args, "max-parents") ?? DEFAULT_MODULAR_MAX_PARENTS,
    };
    return { kind, structures: [], randomDag };
  }
  if (kind === "random-dag") {
    const nodes = num(args, "nodes")!;
    const [lo, hi] = nodes <= 5 ? [0.1, 0.8] : [0.7, 1];
    const randomDag = {
      nodes,
      pMin: num(args, "p-min") ?? lo,
      pMax: num(args, "p-max") ?? hi,
      states: 2,
    };
    return { kind, structures: [], randomDag };
  }
  const file = str(args, "structure");
  const edges = str(args, "edges");
  let structures: Structure[];
  if (file !== undefined) structures = [loadStructureArg(file)];
  else if (edges !== undefined) structures = [sachsGraph(readText(edges), { file: edges })];
  else if (kind === "categorical")
    throw new BnformerError(
      "config",
      "--task categorical needs --edges FILE (the Sachs edge list) or --structure NET",
    );
  else {
    const names = (
      str(args, "graph") ?? (kind === "mixed" ? "chain7,tree7,general7" : "chain7")
    ).split(",");
    structures = names.map((n) => paperGraph(n.trim() as PaperGraphName));
  }
  if (kind !== "mixed" && structures.length > 1)
    throw new BnformerError(
      "config",
      `--task ${kind} takes one structure; use --task mixed for several`,
    );
  return { kind, structures: structures.map(structureToJson), randomDag: null };
}

function priorFromArgs(args: Parsed): CptPrior {
  const task = str(args, "task");
  const kind =
    str(args, "prior") ??
    (task === "categorical" ? "dirichlet" : task === "family" ? "broad" : "uniform");
  if (kind === "broad") return BROAD_PRIOR;
  return priorFromFlags(kind as SimplePriorKind, args);
}
