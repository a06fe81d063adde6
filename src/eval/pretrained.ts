/**
 * The evaluation of a family (network-agnostic) model against issue 9's targets:
 *   1. held-out random networks from the training distribution (`HELD_OUT_DISTRIBUTION`,
 *      CPTs from BROAD_PRIOR): node-averaged TV at most 1.10x the exact posterior mean's
 *      (the floor, told the true parents) at the `heldOutLengths`;
 *   2. length generalisation on the same networks: at most 1.15x the MLE's at `longLengths`;
 *   3. real networks, their own CPTs the truth: at most 1.15x the MLE's at the larger of
 *      `realLengths`, at most 1.00x at the smaller;
 *   4. generation: `generationRows` rows by Algorithm 1 from a `generationContext`-row context
 *      of the generation network; the exact joint TV of their empirical joint to the true
 *      joint within 1.10x of the MLE engine's (same context, same generator seed).
 * An episode draws a network (held-out only), a context of the longest length (shorter
 * lengths use its prefix) and one query row; its TV is the mean over nodes of the TV between
 * each method's conditional and the true CPT row at the query's parent configuration. A
 * point is one (target, network, length, method, seed): the mean over episodes. Across seeds
 * a point is summarised as mean ± sd, a ratio as the mean ± sd of the per-seed ratios on the
 * same episodes, and a check is met when that mean ratio is within the factor
 * (summary.ts `meetsTarget`). Every draw comes from createRng(evalSeed) forked by target,
 * network, seed and episode, so training seeds never meet evaluation seeds.
 */
import { BnformerError } from "../errors.ts";
import type { Network, Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import type { Rng } from "../bn/rng.ts";
import { createRng } from "../bn/rng.ts";
import type { ModularDagOptions } from "../bn/families.ts";
import { modularRandomDag } from "../bn/families.ts";
import type { CptPrior } from "../bn/priors.ts";
import { BROAD_PRIOR, DEFAULT_BINARY_PRIOR, priorLabel, sampleNetwork } from "../bn/priors.ts";
import { sampleRows } from "../bn/sample.ts";
import { cptRow, parentConfigIndex } from "../bn/cpt.ts";
import { posteriorMean } from "../estimate/posterior.ts";
import { queryCounts } from "../estimate/counts.ts";
import { generateRows, networkConditional, tabulateConditional } from "../estimate/generate.ts";
import type { Engine } from "../model/engine.ts";
import { estimatorEngine, familyEngine } from "../model/engine.ts";
import type { LoadedFamilyModel } from "../train/pretrained.ts";
import { empiricalJoint, exactJoint, jointTvExact, tvDistance } from "./metrics.ts";
import { meanSd, meetsTarget } from "./summary.ts";
import { csv } from "./results-io.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "./baselines.ts";

/** The method name of the evaluated model. */
export const MODEL = "model";

/** The held-out networks: the training task's shape of random DAG. */
export const HELD_OUT_DISTRIBUTION: ModularDagOptions = {
  nodes: { min: 12, max: 12 },
  states: { min: 2, max: 4 },
  edgeProb: 0.35,
  maxParents: 3,
};

/** Evaluation settings; `defaultPretrainedOptions` gives the issue's. */
export interface PretrainedEvalOptions {
  readonly episodes: number;
  readonly seeds: number;
  readonly evalSeed: number;
  readonly distribution: ModularDagOptions;
  readonly prior: CptPrior;
  readonly heldOutLengths: readonly number[];
  readonly longLengths: readonly number[];
  /** Real networks (their CPTs are the truth), with the names the report uses. */
  readonly realNetworks: readonly Network[];
  /** Two lengths: at the larger the target is 1.15x the MLE, at the smaller 1.00x. */
  readonly realLengths: readonly number[];
  /**
   * Target 3's paper graphs: CPTs drawn from `paperPrior` per episode, compared with the
   * exact posterior mean under that prior at `paperLengths` (the per-graph models' protocol).
   */
  readonly paperGraphs: readonly Structure[];
  readonly paperPrior: CptPrior;
  readonly paperLengths: readonly number[];
  /** Target 4's network (exact joint); null skips target 4. */
  readonly generationNetwork: Network | null;
  readonly generationContext: number;
  readonly generationRows: number;
}

/** The issue's settings, given the real networks and the generation network. */
export function defaultPretrainedOptions(
  realNetworks: readonly Network[],
  generationNetwork: Network | null,
  paperGraphs: readonly Structure[] = [],
): PretrainedEvalOptions {
  return {
    episodes: 2000,
    seeds: 3,
    evalSeed: DEFAULT_EVAL_SEED,
    distribution: HELD_OUT_DISTRIBUTION,
    prior: BROAD_PRIOR,
    heldOutLengths: [1, 10, 50, 100, 200, 500],
    longLengths: [1000, 2000],
    realNetworks,
    realLengths: [50, 500],
    paperGraphs,
    paperPrior: DEFAULT_BINARY_PRIOR,
    paperLengths: [1, 10, 50, 100, 200],
    generationNetwork,
    generationContext: 500,
    generationRows: 10000,
  };
}

/** The evaluation seed (training runs default to small seeds; this is none of theirs). */
export const DEFAULT_EVAL_SEED = 90_009;

export type PretrainedTarget = "held-out" | "length" | "real" | "paper" | "generation";

/** One (target, network, length, method, seed): mean TV over the seed's episodes. */
export interface PretrainedPoint {
  readonly target: PretrainedTarget;
  readonly network: string;
  readonly length: number;
  readonly method: string;
  readonly seed: number;
  /** Node-averaged TV, or for generation the joint TV of the generated rows' empirical joint. */
  readonly tv: number;
  readonly episodes: number;
  /** Generation only: exact joint TV of the generator itself (its tabulated CPTs). */
  readonly generatorTv: number | null;
}

/** One check of the issue: a method's TV over a reference's, against a factor. */
export interface PretrainedCheck {
  readonly target: PretrainedTarget;
  readonly network: string;
  readonly length: number;
  readonly reference: string;
  readonly factor: number;
  readonly modelTv: { mean: number; sd: number | null };
  readonly referenceTv: { mean: number; sd: number | null };
  /** Mean over seeds of the per-seed ratio; null when a reference TV is 0. */
  readonly ratio: number | null;
  readonly ratioSd: number | null;
  readonly met: boolean;
}

/** Everything one evaluation produced. */
export interface PretrainedEvalResult {
  readonly model: string;
  readonly options: PretrainedEvalOptions;
  readonly points: PretrainedPoint[];
  readonly checks: PretrainedCheck[];
}

const TARGET_PART: Record<PretrainedTarget, number> = {
  "held-out": 1,
  length: 1,
  real: 2,
  generation: 3,
  paper: 4,
};

/** The random streams of one episode (see the module header). */
function episodeRng(
  evalSeed: number,
  target: PretrainedTarget,
  network: number,
  seed: number,
  episode: number,
): Rng {
  return createRng(evalSeed).fork(TARGET_PART[target]).fork(network).fork(seed).fork(episode);
}

/** A held-out episode: its network, its longest context and its query row. */
export interface HeldOutEpisode {
  readonly network: Network;
  readonly context: Dataset;
  readonly query: Uint8Array;
}

/** Episode `episode` of seed `seed` on the held-out networks, with a context of `rows` rows. */
export function heldOutEpisode(
  o: Pick<PretrainedEvalOptions, "evalSeed" | "distribution" | "prior">,
  seed: number,
  episode: number,
  rows: number,
): HeldOutEpisode {
  const rng = episodeRng(o.evalSeed, "held-out", 0, seed, episode);
  const structure = modularRandomDag(rng.fork(0), o.distribution);
  const network = sampleNetwork(rng.fork(1), structure, o.prior);
  return {
    network,
    context: sampleRows(rng.fork(2), network, rows),
    query: sampleRows(rng.fork(3), network, 1).data,
  };
}

/** The first `n` rows of `d`. */
function prefix(d: Dataset, n: number): Dataset {
  return { vars: d.vars, rows: n, data: d.data.subarray(0, n * d.vars) };
}

/**
 * Mean over nodes (every node, or the first `nodes`) of TV(conditional at the query, true
 * CPT row at the query's parents).
 */
export function nodeAveragedTv(
  net: Network,
  query: Uint8Array,
  conditional: (v: number) => ArrayLike<number>,
  nodes: number = net.variables.length,
): number {
  let sum = 0;
  for (let v = 0; v < nodes; v++) {
    const k = net.variables[v]!.states.length;
    const truth = cptRow(net.cpts[v]!, k, parentConfigIndex(net, v, query));
    sum += tvDistance(conditional(v), truth);
  }
  return sum / nodes;
}

/** Node-averaged TV of the exact posterior mean under `prior`, told the true parents. */
function posteriorMeanTv(
  prior: CptPrior,
  net: Network,
  context: Dataset,
  query: Uint8Array,
): number {
  return nodeAveragedTv(net, query, (v) =>
    posteriorMean(prior, queryCounts(net, context, v, net.parents[v]!, query)),
  );
}

/** The baselines every episode runs besides the model (posterior mean: held-out only). */
const MLE_ENGINE = estimatorEngine({ estimator: "mle" });
const NAIVE_ENGINE = estimatorEngine({ estimator: "naive" });

/** Accumulates episode TVs into points. */
class PointSums {
  private readonly sums = new Map<string, { p: Omit<PretrainedPoint, "tv">; sum: number }>();
  add(
    target: PretrainedTarget,
    network: string,
    length: number,
    method: string,
    seed: number,
    tv: number,
  ): void {
    const key = JSON.stringify([target, network, length, method, seed]);
    let s = this.sums.get(key);
    if (!s) {
      s = {
        p: { target, network, length, method, seed, episodes: 0, generatorTv: null },
        sum: 0,
      };
      this.sums.set(key, s);
    }
    s.sum += tv;
    s.p = { ...s.p, episodes: s.p.episodes + 1 };
  }
  points(): PretrainedPoint[] {
    return [...this.sums.values()].map(({ p, sum }) => ({ ...p, tv: sum / p.episodes }));
  }
}

/** The node-averaged TV of the model, the MLE and naive on one context and query. */
function engineTvs(
  model: Engine,
  net: Network,
  context: Dataset,
  query: Uint8Array,
  add: (method: string, tv: number) => void,
): void {
  for (const [method, eng] of [
    [MODEL, model],
    [MLE, MLE_ENGINE],
    [NAIVE, NAIVE_ENGINE],
  ] as const) {
    const cond = eng.bind(net, context);
    add(
      method,
      nodeAveragedTv(net, query, (v) => cond(v, query)),
    );
  }
}

/** Runs every target on `engine` (a family model); deterministic given the options. */
export function evaluatePretrained(
  engine: Engine,
  o: PretrainedEvalOptions,
  modelLabel: string,
): PretrainedEvalResult {
  checkOptions(o);
  const sums = new PointSums();
  // Targets 1 and 2: the same held-out episodes, one context prefix per length.
  const heldOut = [
    ...o.heldOutLengths.map((n) => ({ n, target: "held-out" as const })),
    ...o.longLengths.map((n) => ({ n, target: "length" as const })),
  ];
  const longest = Math.max(0, ...heldOut.map((x) => x.n));
  for (let seed = 0; seed < o.seeds && heldOut.length > 0; seed++) {
    for (let e = 0; e < o.episodes; e++) {
      const ep = heldOutEpisode(o, seed, e, longest);
      const net = ep.network;
      for (const { n, target } of heldOut) {
        const context = prefix(ep.context, n);
        const add = (method: string, tv: number) =>
          sums.add(target, HELD_OUT_NAME, n, method, seed, tv);
        engineTvs(engine, net, context, ep.query, add);
        add(POSTERIOR_MEAN, posteriorMeanTv(o.prior, net, context, ep.query));
      }
    }
  }
  // Target 3: each real network is its own truth.
  const realLongest = Math.max(0, ...o.realLengths);
  o.realNetworks.forEach((net, i) => {
    for (let seed = 0; seed < o.seeds; seed++) {
      for (let e = 0; e < o.episodes; e++) {
        const rng = episodeRng(o.evalSeed, "real", i, seed, e);
        const longContext = sampleRows(rng.fork(2), net, realLongest);
        const query = sampleRows(rng.fork(3), net, 1).data;
        for (const n of o.realLengths) {
          const context = prefix(longContext, n);
          const add = (method: string, tv: number) =>
            sums.add("real", net.name, n, method, seed, tv);
          engineTvs(engine, net, context, query, add);
          // What the model imitates, on a network not drawn from its prior: where the model
          // and this agree, a miss against the MLE is the prior's, not the model's.
          add(POSTERIOR_MEAN, posteriorMeanTv(o.prior, net, context, query));
        }
      }
    }
  });
  // Target 3, paper graphs: a fresh CPT set per episode, the posterior mean under its prior.
  const paperLongest = Math.max(0, ...o.paperLengths);
  o.paperGraphs.forEach((structure, i) => {
    for (let seed = 0; seed < o.seeds; seed++) {
      for (let e = 0; e < o.episodes; e++) {
        const rng = episodeRng(o.evalSeed, "paper", i, seed, e);
        const net = sampleNetwork(rng.fork(1), structure, o.paperPrior);
        const longContext = sampleRows(rng.fork(2), net, paperLongest);
        const query = sampleRows(rng.fork(3), net, 1).data;
        for (const n of o.paperLengths) {
          const context = prefix(longContext, n);
          const add = (method: string, tv: number) =>
            sums.add("paper", structure.name, n, method, seed, tv);
          engineTvs(engine, net, context, query, add);
          add(POSTERIOR_MEAN, posteriorMeanTv(o.paperPrior, net, context, query));
        }
      }
    }
  });
  const points = sums.points();
  // Target 4: one generation per seed and engine, the same generator stream for both.
  const gen = o.generationNetwork;
  if (gen !== null) {
    const truth = exactJoint(gen);
    for (let seed = 0; seed < o.seeds; seed++) {
      const rng = episodeRng(o.evalSeed, "generation", 0, seed, 0);
      const context = sampleRows(rng.fork(2), gen, o.generationContext);
      for (const [method, eng] of [
        [MODEL, engine],
        [MLE, MLE_ENGINE],
      ] as const) {
        // Both engines read only the target's parents in a query row, so their conditionals
        // tabulated once per parent configuration are the very numbers Algorithm 1 would ask
        // for row by row (same draws, same rows), at a fraction of the model's forward passes.
        const tabulated = tabulateConditional(gen, eng.bind(gen, context));
        const rows = generateRows(
          rng.fork(4),
          gen,
          o.generationRows,
          networkConditional(tabulated),
        );
        points.push({
          target: "generation",
          network: gen.name,
          length: o.generationContext,
          method,
          seed,
          tv: tvDistance(empiricalJoint(gen, rows), truth),
          episodes: 1,
          generatorTv: jointTvExact(tabulated, gen),
        });
      }
    }
  }
  return { model: modelLabel, options: o, points, checks: pretrainedChecks(o, points) };
}

/** The network name of the held-out points. */
export const HELD_OUT_NAME = "held-out random";

/** Throws a "config" error naming `name` unless x is an integer >= 1. */
export function requirePositiveInteger(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 1)
    throw new BnformerError("config", `${name} must be an integer >= 1, got ${x}`, {
      path: [name],
    });
}

function checkOptions(o: PretrainedEvalOptions): void {
  const positive = requirePositiveInteger;
  positive("episodes", o.episodes);
  positive("seeds", o.seeds);
  for (const n of [...o.heldOutLengths, ...o.longLengths, ...o.realLengths, ...o.paperLengths])
    positive("length", n);
  if (o.realNetworks.length > 0 && o.realLengths.length !== 2)
    throw new BnformerError(
      "config",
      `real-network lengths must be two (small, large), got ${o.realLengths.join(",") || "none"}`,
      { path: ["realLengths"] },
    );
  const names = o.realNetworks.map((n) => n.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined)
    throw new BnformerError("config", `two real networks are both named "${twice}"`, {
      path: ["realNetworks"],
    });
  if (o.generationNetwork !== null) {
    positive("generationContext", o.generationContext);
    positive("generationRows", o.generationRows);
  }
}

/** The issue's checks on `points` (see the module header). */
export function pretrainedChecks(
  o: Pick<PretrainedEvalOptions, "heldOutLengths" | "longLengths" | "realLengths">,
  points: readonly PretrainedPoint[],
): PretrainedCheck[] {
  const checks: PretrainedCheck[] = [];
  const keys = new Map<string, { target: PretrainedTarget; network: string; length: number }>();
  for (const p of points) keys.set(JSON.stringify([p.target, p.network, p.length]), p);
  const [realSmall, realLarge] = [...o.realLengths].sort((a, b) => a - b);
  for (const { target, network, length } of keys.values()) {
    const [reference, factor] =
      target === "held-out" || target === "paper"
        ? [POSTERIOR_MEAN, 1.1]
        : target === "length"
          ? [MLE, 1.15]
          : target === "generation"
            ? [MLE, 1.1]
            : length === realLarge
              ? [MLE, 1.15]
              : length === realSmall
                ? [MLE, 1.0]
                : [MLE, NaN];
    if (Number.isNaN(factor)) continue;
    checks.push(checkOf(points, target, network, length, reference, factor));
  }
  return checks;
}

/** One check: per-seed ratio of the model to `reference`, then mean ± sd over seeds. */
export function checkOf(
  points: readonly PretrainedPoint[],
  target: PretrainedTarget,
  network: string,
  length: number,
  reference: string,
  factor: number,
): PretrainedCheck {
  const at = (method: string) =>
    points
      .filter(
        (p) =>
          p.target === target &&
          p.network === network &&
          p.length === length &&
          p.method === method,
      )
      .sort((a, b) => a.seed - b.seed);
  const model = at(MODEL);
  const ref = at(reference);
  const ratios = model.map((p, i) => p.tv / ref[i]!.tv);
  const finite = ratios.length > 0 && ratios.length === ref.length && ratios.every(Number.isFinite);
  const r = finite ? meanSd(ratios) : { mean: null, sd: null };
  return {
    target,
    network,
    length,
    reference,
    factor,
    modelTv: meanSd(model.map((p) => p.tv)),
    referenceTv: meanSd(ref.map((p) => p.tv)),
    ratio: r.mean,
    ratioSd: r.sd,
    met: meetsTarget(r.mean, factor),
  };
}

/** `familyEngine` of a loaded model (src/train/pretrained.ts), named "model". */
export function familyModelEngine(m: LoadedFamilyModel): Engine {
  return familyEngine(m.model, MODEL);
}

// ---- Outputs ----

const POINT_COLUMNS = [
  "target",
  "network",
  "length",
  "method",
  "seed",
  "tv",
  "episodes",
  "generator_tv",
] as const;

/** Every point, one CSV row each. */
export function pretrainedPointsCsv(r: PretrainedEvalResult): string {
  return csv(
    POINT_COLUMNS,
    r.points.map((p) => [
      p.target,
      p.network,
      p.length,
      p.method,
      p.seed,
      p.tv,
      p.episodes,
      p.generatorTv,
    ]),
  );
}

/** Every check, one CSV row each. */
export function pretrainedChecksCsv(r: PretrainedEvalResult): string {
  return csv(
    [
      "target",
      "network",
      "length",
      "reference",
      "factor",
      "model_tv",
      "reference_tv",
      "ratio",
      "ratio_sd",
      "met",
    ],
    r.checks.map((c) => [
      c.target,
      c.network,
      c.length,
      c.reference,
      c.factor,
      c.modelTv.mean,
      c.referenceTv.mean,
      c.ratio,
      c.ratioSd,
      c.met ? "met" : "missed",
    ]),
  );
}

/** The result as JSON (networks by name; their CPTs are in their files). */
export function pretrainedResultJson(r: PretrainedEvalResult): string {
  const { realNetworks, generationNetwork, ...rest } = r.options;
  return (
    JSON.stringify(
      {
        format: "bnformer-pretrained-eval/1",
        model: r.model,
        options: {
          ...rest,
          realNetworks: realNetworks.map((n) => n.name),
          generationNetwork: generationNetwork?.name ?? null,
        },
        points: r.points,
        checks: r.checks,
      },
      null,
      2,
    ) + "\n"
  );
}

// ---- The report section ----

const TARGET_TITLES: Record<PretrainedTarget, string> = {
  "held-out": "1. Held-out random networks (TV ÷ the exact posterior mean's)",
  length: "2. Length generalisation (TV ÷ the MLE's)",
  real: "3. Real networks, their own CPTs the truth (TV ÷ the MLE's)",
  paper:
    "3. The paper's graphs, CPTs from U(0.1, 0.9) (TV ÷ the exact posterior mean's; the per-graph models' target, 1.10)",
  generation: "4. Generation by Algorithm 1 (joint TV ÷ the MLE engine's)",
};

const fmt = (x: { mean: number; sd: number | null }) =>
  x.sd === null ? x.mean.toFixed(4) : `${x.mean.toFixed(4)} ± ${x.sd.toFixed(4)}`;

/** The markdown section: setup, one table per target with every method and the verdicts. */
export function renderPretrainedSection(
  r: PretrainedEvalResult,
  heading = "## Pretrained model: issue 9 targets",
): string {
  const o = r.options;
  const d = o.distribution;
  const out = [
    heading,
    "",
    `Model: ${r.model}. ${o.episodes} episodes per point, ${o.seeds} evaluation seed(s) ` +
      `(createRng(${o.evalSeed}) forked per target, network, seed and episode); numbers are mean ± sd over seeds, ` +
      `ratios the mean ± sd of the per-seed ratios. TV is node-averaged, to the true CPT row at one fresh query row's ` +
      `parent configuration.`,
    "",
    `Held-out networks: modularRandomDag with ${d.nodes.min === d.nodes.max ? d.nodes.min : `${d.nodes.min}..${d.nodes.max}`} nodes, ` +
      `${d.states.min}..${d.states.max} states, edge probability ${d.edgeProb}, at most ${d.maxParents} parents; ` +
      `CPTs from ${priorLabel(o.prior)}. Floor: the exact posterior mean under that prior with the true parents.`,
    "",
  ];
  const methods = [MODEL, POSTERIOR_MEAN, MLE, NAIVE];
  for (const target of ["held-out", "length", "real", "paper", "generation"] as const) {
    const checks = r.checks.filter((c) => c.target === target);
    if (checks.length === 0) continue;
    const shown = methods.filter((m) =>
      r.points.some((p) => p.target === target && p.method === m),
    );
    out.push(`### ${TARGET_TITLES[target]}`, "");
    if (target === "generation")
      out.push(
        `${o.generationRows} rows generated from a ${o.generationContext}-row context of ${checks[0]!.network}; ` +
          `TV between their empirical joint and the true joint, exact over the joint state space. ` +
          `(Generator: the exact joint TV of the engine's tabulated CPTs, without sampling noise.)`,
        "",
      );
    out.push(
      `| network | n | ${shown.join(" | ")} | ratio | target | verdict |`,
      `| --- | ---: | ${shown.map(() => "---:").join(" | ")} | ---: | ---: | --- |`,
    );
    for (const c of checks) {
      const tvs = shown.map((m) => {
        const ps = r.points.filter(
          (p) =>
            p.target === target &&
            p.network === c.network &&
            p.length === c.length &&
            p.method === m,
        );
        return ps.length === 0 ? "—" : fmt(meanSd(ps.map((p) => p.tv)));
      });
      const ratio =
        c.ratio === null
          ? "—"
          : fmt({ mean: c.ratio, sd: c.ratioSd }).replace(/(\d\.\d{3})\d/g, "$1");
      out.push(
        `| ${c.network} | ${c.length} | ${tvs.join(" | ")} | ${ratio} | ≤ ${c.factor.toFixed(2)} × ${c.reference} | ${c.met ? "met" : "missed"} |`,
      );
    }
    if (target === "generation") {
      const g = (m: string) =>
        r.points
          .filter((p) => p.target === "generation" && p.method === m)
          .map((p) => p.generatorTv!);
      out.push(
        "",
        `Generator joint TV: model ${fmt(meanSd(g(MODEL)))}, MLE ${fmt(meanSd(g(MLE)))}.`,
      );
    }
    out.push("");
  }
  const met = r.checks.filter((c) => c.met).length;
  out.push(
    `${met} of ${r.checks.length} checks met. Target 5 (speed, \`fit --engine pretrained\` on sachs) is a bench, not measured here: \`npx tsx bench/fit-pretrained.ts\` (bench/RESULTS.md).`,
    "",
  );
  return out.join("\n");
}
