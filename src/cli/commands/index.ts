/**
 * Every CLI command, in the order `bnformer --help` lists them: its name and summary here,
 * its module loaded only when the command runs, so `--help`, `--version` and the light
 * commands never load the training, evaluation or figure code (jax-js, vega). The summary
 * repeats the module's `def.summary`; test/cli/commands.test.ts checks that the two agree.
 */
import type { Command } from "../command.ts";

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  {
    name: "demo",
    summary:
      "sample a context, estimate in context (counting and the constructed transformer), generate",
    load: async () => (await import("./demo.ts")).demo,
  },
  {
    name: "info",
    summary: "describe a network: variables, states, edges, in-degrees, free parameters",
    load: async () => (await import("./info.ts")).info,
  },
  {
    name: "sample",
    summary: "draw rows from a network (ancestral sampling) into a CSV or TSV file",
    load: async () => (await import("./sample.ts")).sample,
  },
  {
    name: "fit",
    summary: "estimate CPTs from data on a structure (the structure file's own CPTs are ignored)",
    load: async () => (await import("./fit.ts")).fit,
  },
  {
    name: "generate",
    summary: "generate new rows from conditionals estimated in context (the paper's Algorithm 1)",
    load: async () => (await import("./generate.ts")).generate,
  },
  {
    name: "predict",
    summary: "print the in-context conditional distribution of one variable at a query",
    load: async () => (await import("./predict.ts")).predict,
  },
  {
    name: "structure",
    summary: "print each edge's posterior probability given a context (exact BMA over parent sets)",
    load: async () => (await import("./structure.ts")).structure,
  },
  {
    name: "construct",
    summary:
      "build the 2-layer transformer that simulates in-context MLE and save it (safetensors + config.json)",
    load: async () => (await import("./construct.ts")).construct,
  },
  {
    name: "explain",
    summary:
      "show a transformer's attention for one query, every layer and head (text, and an SVG heatmap)",
    load: async () => (await import("./explain.ts")).explain,
  },
  {
    name: "probe",
    summary:
      "measure how a transformer computes its answer: attention on parent matches, interventions, ablations, training dynamics",
    load: async () => (await import("./probe.ts")).probe,
  },

  {
    name: "train",
    summary:
      "train a transformer to estimate conditionals in context (metrics.jsonl, checkpoint, model/)",
    load: async () => (await import("./train.ts")).train,
  },
  {
    name: "eval",
    summary:
      "evaluate trained models against the baselines (TV to the true CPTs; CSV, JSON, figures, report)",
    load: async () => (await import("./eval.ts")).evaluate,
  },
  {
    name: "eval-pretrained",
    summary:
      "evaluate a family (network-agnostic) model against the pretrained targets (CSV, JSON, figures, report)",
    load: async () => (await import("./eval-pretrained.ts")).evalPretrained,
  },
  {
    name: "eval-structure-free",
    summary:
      "evaluate a structure-free model against exact BMA and the baselines, with edge recovery (CSV, JSON, report, figure)",
    load: async () => (await import("./eval-structure-free.ts")).evalStructureFree,
  },
  {
    name: "experiment",
    summary:
      "run the paper's suite: train every graph x seed x target, evaluate with baselines, write report.md",
    load: async () => (await import("./experiment.ts")).experiment,
  },
  {
    name: "worker",
    summary: "train queued experiment runs (bnformer experiment --queue) until stopped",
    load: async () => (await import("./worker.ts")).worker,
  },
  {
    name: "convert",
    summary: "convert a network between BIF and JSON (format from each file's extension)",
    load: async () => (await import("./convert.ts")).convert,
  },
];
