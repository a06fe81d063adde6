/**
 * `bnformer probe --engine model:DIR --graph chain7 --out DIR`: does a transformer count
 * parent matches the way the construction does? Attention by parents agreeing, uniformity
 * within the matches, interventions and ablations, parents from layer-1 features, length,
 * and (with --snapshots) training dynamics (src/eval/probe.ts). Writes probe.json,
 * report.md and figures into --out.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "../command.ts";
import type { Parsed } from "../args.ts";
import { flag, num, parseLengths, str } from "../args.ts";
import type { CliIo } from "../io.ts";
import {
  checkedOutputFolder,
  loadStructureArg,
  priorFromFlags,
  priorParameterOptions,
  seedOption,
} from "../shared.ts";
import type { AttentionModel } from "../engine-args.ts";
import { DEFAULT_EPS, attentionModel, engineOptions } from "../engine-args.ts";
import { BnformerError } from "../../errors.ts";
import type { Structure } from "../../bn/network.ts";
import type { PaperGraphName } from "../../bn/families.ts";
import { PAPER_GRAPH_NAMES, paperGraph } from "../../bn/families.ts";
import type { SimplePriorKind } from "../../bn/priors.ts";
import { writeFileAtomic } from "../../files.ts";
import { loadSavedModel, trainedModelOf } from "../../train/saved-model.ts";
import type { TrainedModel } from "../../train/trained-model.ts";
import { buildTask } from "../../train/tasks.ts";
import type { DynamicsPoint, ProbeResult, ProbeSubject } from "../../eval/probe.ts";
import { familySubject, probeDynamics, rowSubject, runProbe } from "../../eval/probe.ts";
import {
  probeDynamicsFigureSpec,
  probeMassFigureSpec,
  renderProbeFigure,
  renderProbeReport,
} from "../../eval/probe-report.ts";

export const probe: Command = {
  def: {
    name: "probe",
    summary:
      "measure how a transformer computes its answer: attention on parent matches, interventions, ablations, training dynamics",
    usage:
      "bnformer probe --engine model:DIR|pretrained|pretrained-free|construction [--graph NAME | --structure NET] --out DIR " +
      "[--lengths 10,50,200,500,1000,2000] [--intervention-lengths 200] [--episodes N] [--snapshots DIR]",
    options: {
      engine: {
        kind: "string",
        placeholder: "model:DIR|pretrained|pretrained-free|construction",
        help: "the transformer to probe",
      },
      graph: {
        kind: "choice",
        choices: [...PAPER_GRAPH_NAMES],
        help: "the network whose CPTs the episodes draw (or --structure; default: the one a model:DIR was trained on)",
      },
      structure: {
        kind: "string",
        placeholder: "NET",
        help: "a structure file instead of --graph",
      },
      out: { kind: "string", required: true, placeholder: "DIR", help: "output directory" },
      lengths: {
        kind: "string",
        default: "10,50,200,500,1000,2000",
        placeholder: "N,N",
        help: "context lengths",
      },
      "intervention-lengths": {
        kind: "string",
        default: "200",
        placeholder: "N,N",
        help: "lengths (among --lengths) with interventions and structure scores ('' for none)",
      },
      episodes: { kind: "int", min: 1, default: 100, help: "episodes per length" },
      seed: seedOption("seed of the episodes", 1),
      prior: {
        kind: "choice",
        choices: ["uniform", "beta", "dirichlet"],
        default: "uniform",
        help: "CPT prior of the episodes",
      },
      ...priorParameterOptions,
      snapshots: {
        kind: "string",
        placeholder: "DIR",
        help: "a folder of models step-N/ (bnformer train --snapshot-steps): training dynamics",
      },
      "dynamics-lengths": {
        kind: "string",
        default: "50,200",
        placeholder: "N,N",
        help: "context lengths of the training dynamics",
      },
      "dynamics-episodes": {
        kind: "int",
        min: 1,
        default: 100,
        help: "episodes per length and snapshot",
      },
      "no-figures": { kind: "boolean", help: "write no figures" },
      "report-only": {
        kind: "boolean",
        help: "rewrite report.md and the figures from --out's probe.json, probing nothing",
      },
      eps: engineOptions.eps!,
    },
    examples: [
      "bnformer probe --engine model:models/per-graph/chain7 --graph chain7 --snapshots models/per-graph/chain7/snapshots --out probe/chain7",
      "bnformer probe --engine pretrained --graph tree7 --lengths 10,50,200 --out probe/pretrained-tree7",
      "bnformer probe --engine construction --graph general5 --episodes 20 --out probe/construction",
    ],
  },
  async run(args, io) {
    const out = checkedOutputFolder(str(args, "out")!);
    if (flag(args, "report-only")) {
      await writeReport(out, readStoredProbe(out), flag(args, "no-figures"));
      io.out(`wrote ${out}/report.md from ${out}/${PROBE_FILE}\n`);
      return 0;
    }
    if (str(args, "engine") === undefined)
      throw new BnformerError("config", "--engine is required (the transformer to probe)");
    const structure = structureOf(args, io);
    const lengths = parseLengths(str(args, "lengths")!);
    const ivText = str(args, "intervention-lengths")!;
    const interventionLengths =
      ivText.trim() === "" ? [] : parseLengths(ivText, "intervention-lengths");
    for (const n of lengths)
      if (n < 1) throw new BnformerError("config", `--lengths: ${n} is not a length >= 1`);
    const maxN = Math.max(...lengths);
    const engine = str(args, "engine")!;
    const subject = subjectOf(
      attentionModel(engine, structure, { eps: num(args, "eps")!, maxContext: maxN }),
      engine,
    );
    const prior = priorFromFlags(str(args, "prior") as SimplePriorKind, args);
    const snapshots = snapshotSubjects(args, structure);
    const bar = progressBar(io);
    const started = performance.now();
    const result = runProbe(subject, {
      structure,
      prior,
      lengths,
      episodes: num(args, "episodes")!,
      seed: num(args, "seed")!,
      interventionLengths,
      mechanism: true,
      onProgress: bar.update("probe"),
    });
    const dynamics =
      snapshots.length === 0
        ? []
        : probeDynamics(snapshots, {
            structure,
            prior,
            lengths: parseLengths(str(args, "dynamics-lengths")!, "dynamics-lengths"),
            episodes: num(args, "dynamics-episodes")!,
            seed: num(args, "seed")!,
            onProgress: bar.update("snapshots"),
          });
    bar.stop();
    const command = ["bnformer", "probe", ...process.argv.slice(3)].join(" ");
    const seconds = (performance.now() - started) / 1000;
    const stored: StoredProbe = { ...result, dynamics, command, seconds };
    writeFileAtomic(join(out, PROBE_FILE), JSON.stringify(stored, null, 1) + "\n");
    await writeReport(out, stored, flag(args, "no-figures"));
    io.out(
      `probed ${subject.name} on ${structure.name} in ${seconds.toFixed(1)} s; wrote ${out}/report.md\n`,
    );
    return 0;
  },
};

/**
 * --graph or --structure; by default the one structure a model:DIR was trained on. A model
 * trained on one structure and probed on another is allowed (a transfer study) with a warning.
 */
function structureOf(args: Parsed, io: CliIo): Structure {
  const graph = str(args, "graph");
  const path = str(args, "structure");
  const engine = str(args, "engine")!;
  const trained = engine.startsWith("model:") ? trainedStructureOf(engine.slice(6)) : null;
  if (graph !== undefined && path !== undefined)
    throw new BnformerError("config", "give one of --graph and --structure, not both");
  if (graph === undefined && path === undefined) {
    if (trained) return trained;
    throw new BnformerError(
      "config",
      "give --graph or --structure (the network whose CPTs the episodes draw)",
    );
  }
  const s = graph !== undefined ? paperGraph(graph as PaperGraphName) : loadStructureArg(path!);
  if (trained && JSON.stringify(trained.parents) !== JSON.stringify(s.parents))
    io.err(
      `warning: the model was trained on "${trained.name}", whose parents differ from "${s.name}"'s\n`,
    );
  return s;
}

/** The one structure the model in `dir` was trained on, or null (several, random, family). */
function trainedStructureOf(dir: string): Structure | null {
  const task = trainedModelIn(dir)?.config.task;
  return task?.kind === "single" && task.structures.length === 1
    ? buildTask(task).structures[0]!
    : null;
}

/** The trained model in `dir` (a model or a finished run), or null when it holds another kind. */
function trainedModelIn(dir: string): TrainedModel | null {
  if (dir === "") return null;
  const saved = loadSavedModel(dir);
  if (saved.kind !== "trained" && !(saved.kind === "run" && saved.model !== null)) return null;
  return trainedModelOf(saved);
}

function subjectOf(m: AttentionModel, name: string): ProbeSubject {
  return m.kind === "family" ? familySubject(m.model, name) : rowSubject(m.model, name);
}

/** Every step-N/ model in --snapshots, by step. */
function snapshotSubjects(
  args: Parsed,
  structure: Structure,
): { step: number; subject: ProbeSubject }[] {
  const dir = str(args, "snapshots");
  if (dir === undefined) return [];
  if (!existsSync(dir)) throw new BnformerError("io", "no such folder", { file: dir });
  const steps = readdirSync(dir)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (steps.length === 0)
    throw new BnformerError("io", "holds no step-N/ model (bnformer train --snapshot-steps)", {
      file: dir,
    });
  const load = (engine: string) => ({
    engine,
    subject: subjectOf(
      attentionModel(engine, structure, { eps: DEFAULT_EPS, maxContext: 1 }),
      engine,
    ),
  });
  const out = steps.map((step) => ({ step, ...load(`model:${join(dir, `step-${step}`)}`) }));
  // The probed model itself ends the curve when it is a later step of the same run.
  const engine = str(args, "engine")!;
  const final = engine.startsWith("model:")
    ? (trainedModelIn(engine.slice(6))?.config.step ?? null)
    : null;
  if (final !== null && final > steps[steps.length - 1]!)
    out.push({ step: final, ...load(engine) });
  return out.map(({ step, subject }) => ({ step, subject }));
}

/** A progress bar on an interactive stderr (one per phase), else nothing. */
function progressBar(io: CliIo): {
  update: (phase: string) => (done: number, total: number) => void;
  stop: () => void;
} {
  if (!io.interactive) {
    // A log gets a line at every tenth of each phase.
    let last = "";
    return {
      update: (phase) => (done, total) => {
        const tenth = `${phase} ${Math.floor((10 * done) / total)}`;
        if (tenth === last) return;
        last = tenth;
        io.err(`${phase}: ${done}/${total}\n`);
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar({
    format: "{phase} {bar} {value}/{total} | ETA {eta_formatted}",
    stream: process.stderr,
    hideCursor: false,
  });
  let phase = "";
  return {
    update: (p) => (done, total) => {
      if (p !== phase) {
        if (phase !== "") bar.stop();
        phase = p;
        bar.start(total, 0, { phase });
      }
      bar.update(done, { phase });
    },
    stop: () => {
      if (phase !== "") bar.stop();
    },
  };
}

const PROBE_FILE = "probe.json";

/** What probe.json holds: the result, the dynamics, and how they were made. */
type StoredProbe = ProbeResult & { dynamics: DynamicsPoint[]; command: string; seconds: number };

function readStoredProbe(out: string): StoredProbe {
  const path = join(out, PROBE_FILE);
  if (!existsSync(path))
    throw new BnformerError("io", "no probe.json to report from (run bnformer probe first)", {
      file: path,
    });
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new BnformerError("parse", `not JSON: ${(e as Error).message}`, { file: path });
  }
  const ok =
    typeof j === "object" &&
    j !== null &&
    ["attention", "distances", "structure", "dynamics"].every((k) =>
      Array.isArray((j as Record<string, unknown>)[k]),
    ) &&
    typeof (j as Record<string, unknown>).options === "object";
  if (!ok)
    throw new BnformerError("parse", "not a probe.json written by bnformer probe", { file: path });
  return j as StoredProbe;
}

/** report.md and (unless `noFigures`) the figures of a stored probe. */
async function writeReport(out: string, p: StoredProbe, noFigures: boolean): Promise<void> {
  const figures: string[] = [];
  if (!noFigures) {
    const specs = [
      ["attention-mass", probeMassFigureSpec(p)],
      ...(p.dynamics.length > 0
        ? [["dynamics", probeDynamicsFigureSpec(p.subject, p.dynamics)] as const]
        : []),
    ] as const;
    for (const [name, spec] of specs) {
      const { svg, png } = await renderProbeFigure(spec);
      writeFileAtomic(join(out, `${name}.svg`), svg);
      writeFileAtomic(join(out, `${name}.png`), png);
      figures.push(`${name}.png`);
    }
  }
  writeFileAtomic(
    join(out, "report.md"),
    renderProbeReport(p, p.dynamics, figures) +
      `\nCommand: \`${p.command}\` (${p.seconds.toFixed(0)} s). Every number is in probe.json.\n`,
  );
}
