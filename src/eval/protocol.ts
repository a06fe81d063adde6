/**
 * The evaluation protocol of PAPER.md §3, with one stated unseen-configuration policy.
 *
 * For each replicate seed s (a training seed; baselines ignore it) and each batch of
 * episodes from `episodeStream(evalSeed, s)` (episodes.ts), every method predicts, at every
 * context length n, every node's distribution at the query's parent configuration; the
 * score of node v in episode e is TV(prediction, true CPT row) = 1/2 sum |p - q|
 * (tvDistance, metrics.ts). Per (method, seed, length, node) the protocol reports the mean
 * TV over episodes and its standard error, and the same for the node average (the mean
 * over nodes of each episode's TVs; node NODE_MEAN). Across seeds, summary.ts gives
 * mean ± sd.
 *
 * Unseen policy: every method's prediction is scored as it is. A method that cannot
 * condition on an unseen configuration (the MLEs) answers with the run's policy, the same
 * for every such method; a transformer always answers. The protocol records, per (seed,
 * length, node), the fraction of episodes whose query parent configuration occurs in none
 * of the first n rows (`unseenFraction`, the same for every method), and per method the
 * fraction where the method itself fell back (`fallbackFraction`, when it reports one).
 * Policy "error" is refused: an evaluation needs every method to answer.
 */
import { cpus } from "node:os";
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { validateStructure } from "../bn/network.ts";
import type { CptPrior } from "../bn/priors.ts";
import { DEFAULT_BINARY_PRIOR, validatePrior } from "../bn/priors.ts";
import { MAX_SEED } from "../bn/rng.ts";
import type { UnseenPolicy } from "../estimate/policy.ts";
import { DEFAULT_UNSEEN_POLICY, isUnseenPolicy } from "../estimate/policy.ts";
import type { Method } from "./episodes.ts";
import type { TvCell } from "./scoring.ts";
import { runSeed } from "./scoring.ts";
import type { RatioSummary, TvSummary } from "./summary.ts";
import { summarizeRatios, summarizeSeeds } from "./summary.ts";
import { MLE, POSTERIOR_MEAN } from "./baselines.ts";

export type { TvCell } from "./scoring.ts";
export { NODE_MEAN, PREDICTION_TOLERANCE } from "./scoring.ts";

/** The context lengths of the paper's evaluation. */
export const PAPER_LENGTHS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500];

/**
 * The longest context evaluated: a transformer attends over every token of it at once
 * (length^2 scores per head), and far beyond this the process is killed for memory.
 */
export const MAX_EVAL_LENGTH = 10_000;

/** What to evaluate: the structure, the prior of the evaluation CPTs, lengths and seeds. */
export interface ProtocolConfig {
  readonly structure: Structure;
  readonly prior: CptPrior;
  /** Context lengths, strictly increasing, >= 1. */
  readonly lengths: readonly number[];
  /** Episodes per replicate (each scored at every length). */
  readonly episodes: number;
  /** Seed of the evaluation episodes (keep it apart from training seeds). */
  readonly evalSeed: number;
  /** Replicate (training) seeds; each gets its own episodes and its own methods. */
  readonly seeds: readonly number[];
  /** Episodes per batch handed to a method (memory vs call overhead; no effect on results). */
  readonly batchSize: number;
  /** How methods that cannot condition on an unseen configuration answer. */
  readonly unseen: UnseenPolicy;
}

/** Defaults of everything but the structure: the paper's lengths and episode count. */
export const defaultProtocolConfig: Omit<ProtocolConfig, "structure"> = {
  prior: DEFAULT_BINARY_PRIOR,
  lengths: PAPER_LENGTHS,
  episodes: 5000,
  evalSeed: 20250105,
  seeds: [0],
  batchSize: 250,
  unseen: DEFAULT_UNSEEN_POLICY,
};

/** Everything a run produced: config, numbers, and how it was run. */
export interface EvalResult {
  readonly format: "bnformer-eval/1";
  readonly config: ProtocolConfig;
  readonly nodes: readonly string[];
  readonly methods: readonly { readonly name: string; readonly description: string }[];
  readonly unseenPolicy: { readonly name: UnseenPolicy; readonly statement: string };
  readonly cells: readonly TvCell[];
  /** Mean ± sd over seeds per (method, length, node). */
  readonly summary: readonly TvSummary[];
  /** Method TV / reference TV per seed, then mean ± sd (references: posterior mean, MLE). */
  readonly ratios: readonly RatioSummary[];
  readonly run: RunInfo;
}

/** How and where a run happened (for the report). */
export interface RunInfo {
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly machine: string;
  readonly command: string | null;
}

/** Progress after each batch. */
export interface ProtocolProgress {
  readonly seed: number;
  readonly done: number;
  readonly total: number;
}

/** Builds the methods of one replicate seed (e.g. baselines plus the model trained with it). */
export type MethodFactory = (
  seed: number,
  config: ProtocolConfig,
) => readonly Method[] | Promise<readonly Method[]>;

/** One sentence stating what the policy does, for outputs and the report. */
export function unseenPolicyStatement(policy: UnseenPolicy): string {
  const how =
    policy === "marginal"
      ? "the context marginal of the node (uniform when the node is never observed)"
      : policy === "uniform"
        ? "the uniform distribution over the node's states"
        : "an error";
  return (
    `Unseen policy "${policy}": a method that cannot condition on a parent configuration ` +
    `absent from the context answers with ${how}; every method's answer is scored as it is, ` +
    `no TV is replaced or dropped, and the same policy applies to every method.`
  );
}

/** Fills defaults and checks the config; throws BnformerError("config") naming the field. */
export function resolveProtocolConfig(
  partial: Partial<ProtocolConfig> & Pick<ProtocolConfig, "structure">,
): ProtocolConfig {
  const c: ProtocolConfig = { ...defaultProtocolConfig, ...partial };
  const bad = (field: string, msg: string): never => {
    throw new BnformerError("config", msg, { path: ["eval", field] });
  };
  validateStructure(c.structure);
  validatePrior(c.structure, c.prior);
  if (c.lengths.length === 0) bad("lengths", "at least one context length is needed");
  c.lengths.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1) bad("lengths", `context length ${n} is not an integer >= 1`);
    if (n > MAX_EVAL_LENGTH)
      bad(
        "lengths",
        `context length ${n} is above ${MAX_EVAL_LENGTH}, more than a transformer's attention fits in memory`,
      );
    if (i > 0 && n <= c.lengths[i - 1]!)
      bad("lengths", `context lengths must increase strictly; ${n} follows ${c.lengths[i - 1]}`);
  });
  for (const [field, x] of [
    ["episodes", c.episodes],
    ["batchSize", c.batchSize],
  ] as const) {
    if (!Number.isInteger(x) || x < 1) bad(field, `${field} must be an integer >= 1, got ${x}`);
  }
  const isSeed = (x: number) => Number.isInteger(x) && x >= 0 && x <= MAX_SEED;
  if (!isSeed(c.evalSeed)) bad("evalSeed", `evalSeed must be an integer in 0..${MAX_SEED}`);
  if (c.seeds.length === 0 || !c.seeds.every(isSeed) || new Set(c.seeds).size < c.seeds.length)
    bad(
      "seeds",
      `seeds must be distinct integers in 0..${MAX_SEED}, at least one; got [${c.seeds.join(", ")}]`,
    );
  if (!isUnseenPolicy(c.unseen) || c.unseen === "error") {
    bad(
      "unseen",
      `unseen policy must be "marginal" or "uniform" for evaluation, got "${c.unseen}"`,
    );
  }
  return c;
}

/**
 * Runs the protocol: for every seed, builds its methods, scores them on the seed's
 * episodes at every length, and returns cells, summaries and ratios.
 */
export async function runProtocol(
  partial: Partial<ProtocolConfig> & Pick<ProtocolConfig, "structure">,
  methodsFor: MethodFactory,
  opts: { command?: string; onProgress?: (p: ProtocolProgress) => void } = {},
): Promise<EvalResult> {
  const config = resolveProtocolConfig(partial);
  const started = new Date();
  const t0 = performance.now();
  const cells: TvCell[] = [];
  let described: { name: string; description: string }[] | null = null;
  for (const seed of config.seeds) {
    const methods = await methodsFor(seed, config);
    described ??= checkMethods(methods);
    if (methods.map((m) => m.name).join("\n") !== described.map((m) => m.name).join("\n")) {
      bad(`seed ${seed} built methods [${methods.map((m) => m.name)}]; every seed needs the same`);
    }
    cells.push(...(await runSeed(config, seed, methods, opts.onProgress)));
  }
  const summary = summarizeSeeds(cells);
  const ratios = [POSTERIOR_MEAN, MLE].flatMap((ref) => summarizeRatios(cells, ref));
  return {
    format: "bnformer-eval/1",
    config,
    nodes: config.structure.variables.map((v) => v.name),
    methods: described!,
    unseenPolicy: { name: config.unseen, statement: unseenPolicyStatement(config.unseen) },
    cells,
    summary,
    ratios,
    run: {
      startedAt: started.toISOString(),
      wallSeconds: (performance.now() - t0) / 1000,
      machine: machineDescription(),
      command: opts.command ?? null,
    },
  };
}

function bad(msg: string): never {
  throw new BnformerError("config", msg, { path: ["eval", "methods"] });
}

function checkMethods(methods: readonly Method[]): { name: string; description: string }[] {
  if (methods.length === 0) bad("no methods to evaluate");
  const names = new Set<string>();
  for (const m of methods) {
    if (m.name.length === 0 || names.has(m.name))
      bad(`method names must be unique and non-empty; "${m.name}"`);
    names.add(m.name);
  }
  return methods.map((m) => ({ name: m.name, description: m.description ?? "" }));
}

/** "CPU model, cores, platform, Node version". */
function machineDescription(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? "unknown CPU"}, ${cores.length} cores, ${process.platform}-${process.arch}, Node ${process.version}`;
}
