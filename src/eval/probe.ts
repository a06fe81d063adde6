/**
 * The mechanism probe (`bnformer probe`, docs/mechanism.md): does a trained transformer
 * compute the in-context MLE the way the construction does, by attending to the context
 * rows that agree with the query on the target's parents and counting them?
 *
 * Episodes are the evaluation protocol's (episodes.ts): CPTs from the prior, a context, one
 * complete query row asked for every node. Every number is a mean over episodes; a query
 * "of node i" is the query row with target i. Measured per context length n:
 * - attention: per layer and head, the query's attention mass on the rows agreeing with the
 *   query on a = 0..|Pa(i)| parents of i, on itself, and the total variation between its
 *   weights within the full matches and uniform over them (uniform = counting); with the
 *   share of rows that fully match (what uniform attention over all rows would put there).
 *   Nodes without parents are left out of the node averages (every row matches);
 * - distances: TV from the model's output to the truth and to the marginal, naive, MLE and
 *   posterior-mean estimators on the same context;
 * - interventions (at the lengths asked): a head's query attention replaced by the
 *   construction's pattern (uniform over the back-off rows: the full matches when there are
 *   any, nothing on the query itself), or made uniform within the full matches keeping the
 *   model's mass on each group; for each head, and for each query's counting head (the
 *   head whose own attention puts the most mass on that query's full matches, in any
 *   layer); each layer's attention or MLP ablated (zero, at every token). Each with TV to
 *   the truth and to each estimator;
 * - structure (row-token models; a family model is given the parents): how well layer-1 features pick out the parents, as an
 *   AUROC over the pairs (p, i), p before i, against the true edges. Scores: each head's
 *   attention lift (mass on the rows agreeing with the query on p, minus the share of such
 *   rows) and the sensitivity of layer 1's MLP output at the query to flipping p's value.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { cardinalities, topologicalOrder } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { sliceRows } from "../bn/dataset.ts";
import type { CptPrior } from "../bn/priors.ts";
import { backoffSupport } from "../estimate/backoff.ts";
import { estimateConditional } from "../estimate/estimators.ts";
import { queryCounts } from "../estimate/counts.ts";
import { posteriorMean } from "../estimate/posterior.ts";
import type {
  FamilyModel,
  ModelExplanation,
  QueryIntervention,
  TargetQuery,
  TransformerModel,
} from "../model/engine.ts";
import { explainFamilyQueries, explainModelQueries } from "../model/engine.ts";
import { drawEpisodes, episodeStream, maxStates } from "./episodes.ts";
import { tvDistance } from "./metrics.ts";
import { agreementSummaries, parentAgreements } from "./attention-svg.ts";
import { auroc } from "./structure-free.ts";

/** The estimators a model's output is compared with, and the truth. */
export const PROBE_REFERENCES = ["truth", "marginal", "naive", "mle", "posterior-mean"] as const;
export type ProbeReference = (typeof PROBE_REFERENCES)[number];

/** A model to probe: row-token (one structure baked in) or family (any structure). */
export interface ProbeSubject {
  readonly name: string;
  readonly kind: "row" | "family";
  /** Heads per layer. */
  readonly heads: readonly number[];
  explain(
    structure: Structure,
    context: Dataset,
    queries: readonly TargetQuery[],
    intervention?: QueryIntervention,
  ): ModelExplanation[];
}

/** A row-token model as a probe subject. */
export function rowSubject(model: TransformerModel, name: string): ProbeSubject {
  return {
    name,
    kind: "row",
    heads: model.spec.layers.map((l) => l.heads),
    explain: (s, c, q, iv) => explainModelQueries(model, s, c, q, iv),
  };
}

/** A family model as a probe subject. */
export function familySubject(model: FamilyModel, name: string): ProbeSubject {
  return {
    name,
    kind: "family",
    heads: model.spec.layers.map((l) => l.heads),
    explain: (s, c, q, iv) => explainFamilyQueries(model, s, c, q, iv),
  };
}

/** What to measure. */
export interface ProbeOptions {
  /** The network whose CPTs the episodes draw (its parents are the truth). */
  structure: Structure;
  prior: CptPrior;
  lengths: number[];
  episodes: number;
  seed: number;
  /** Lengths at which interventions and structure scores are measured (a subset of lengths). */
  interventionLengths: number[];
  /** Measure attention, interventions and structure (false: distances only, e.g. snapshots). */
  mechanism: boolean;
  /** Called after each episode and length. */
  onProgress?: (done: number, total: number) => void;
}

/** Attention of one layer and head at one length, for one node or averaged ("all"). */
export interface AttentionPoint {
  n: number;
  layer: number;
  head: number;
  /** Node name, or "all" (the mean over nodes with parents). */
  node: string;
  /** Mass on the rows agreeing on every parent. */
  fullMass: number;
  /** massByAgree[a]: mass on the rows agreeing on exactly a parents (per node only). */
  massByAgree: number[];
  /** Weight of the query on itself. */
  self: number;
  /** TV between the weights within the full matches and uniform (queries with >= 2 of them). */
  withinTv: number | null;
  /** Share of rows fully matching: the mass uniform attention over all rows would put there. */
  chance: number;
  queries: number;
}

/** TV from a variant's output to a reference, node-averaged over nodes and episodes. */
export interface DistancePoint {
  n: number;
  /** "model", an intervention's name, or an estimator (its TV to the truth). */
  variant: string;
  to: ProbeReference;
  tv: number;
}

/** A structure score's AUROC at one length. */
export interface StructurePoint {
  n: number;
  /** e.g. "attention lift L1H2" or "MLP 1 sensitivity". */
  score: string;
  auroc: number | null;
  pairs: number;
  edges: number;
}

/** Everything one probe measured. */
export interface ProbeResult {
  subject: string;
  network: string;
  options: Omit<ProbeOptions, "structure" | "onProgress" | "prior"> & { prior: CptPrior };
  attention: AttentionPoint[];
  distances: DistancePoint[];
  structure: StructurePoint[];
}

/** The interventions measured: name and what it changes. */
export interface InterventionDef {
  name: string;
  intervention: (ctx: ProbeQueryContext) => QueryIntervention;
}

/** What an intervention may read about the queries of one episode. */
export interface ProbeQueryContext {
  structure: Structure;
  context: Dataset;
  queries: readonly TargetQuery[];
  /** The unchanged model's explanation of each query. */
  base: readonly ModelExplanation[];
}

/**
 * The construction's layer-2 pattern for each query: uniform over the back-off rows (the
 * rows agreeing with the query on the most parents; every row for a node without parents),
 * nothing on the query itself.
 */
export function constructionPatterns(c: ProbeQueryContext): Float64Array[] {
  const N = c.context.rows;
  return c.queries.map((q) => {
    const w = new Float64Array(N + 1);
    const rows = backoffSupport(c.structure, c.context, q.target, q.row).rows;
    if (rows.length === 0) w[N] = 1;
    for (const r of rows) w[r] = 1 / rows.length;
    return w;
  });
}

/** Number of the target's parents on which each context row agrees with the query. */
function agreementCounts(structure: Structure, context: Dataset, q: TargetQuery): Int32Array {
  return parentAgreements(structure, context, q.target, q.row);
}

/** `w` (length N + 1) made uniform within the full matches, each group keeping its mass. */
function uniformWithinFullMatches(w: Float64Array, agree: Int32Array, full: number): Float64Array {
  const out = Float64Array.from(w);
  let mass = 0;
  let count = 0;
  for (let r = 0; r < agree.length; r++)
    if (agree[r] === full) {
      mass += w[r]!;
      count++;
    }
  for (let r = 0; r < agree.length; r++) if (agree[r] === full) out[r] = mass / count;
  return out;
}

/**
 * Per query, the (0-based) layer and head whose unchanged attention puts the most mass on
 * the rows agreeing with the query on every parent: that query's counting head.
 */
function countingHeads(c: ProbeQueryContext): { layer: number; head: number }[] {
  return c.queries.map((q, i) => {
    const agree = agreementCounts(c.structure, c.context, q);
    const full = c.structure.parents[q.target]!.length;
    let best = { layer: 0, head: 0, mass: -1 };
    for (const h of c.base[i]!.heads) {
      let mass = 0;
      for (let r = 0; r < agree.length; r++) if (agree[r] === full) mass += h.weights[r]!;
      if (mass > best.mass) best = { layer: h.layer - 1, head: h.head - 1, mass };
    }
    return best;
  });
}

/** Rewrites each query's counting head (`countingHeads`) with `pattern`. */
function countingHeadIntervention(
  c: ProbeQueryContext,
  pattern: (query: number, w: Float64Array) => Float64Array,
): QueryIntervention {
  const heads = countingHeads(c);
  return {
    queryAttention: (layer, head, query, w) =>
      heads[query]!.layer === layer && heads[query]!.head === head ? pattern(query, w) : null,
  };
}

/** The interventions for a model with `heads` heads per layer. */
export function probeInterventions(heads: readonly number[]): InterventionDef[] {
  const out: InterventionDef[] = [
    {
      name: "counting head := construction",
      intervention: (c) => {
        const patterns = constructionPatterns(c);
        return countingHeadIntervention(c, (q) => patterns[q]!);
      },
    },
    {
      name: "counting head uniform within matches",
      intervention: (c) =>
        countingHeadIntervention(c, (q, w) =>
          uniformWithinFullMatches(
            w,
            agreementCounts(c.structure, c.context, c.queries[q]!),
            c.structure.parents[c.queries[q]!.target]!.length,
          ),
        ),
    },
  ];
  heads.forEach((H, l) => {
    for (let h = 0; h < H; h++) {
      const tag = `L${l + 1}H${h + 1}`;
      out.push({
        name: `${tag} := construction`,
        intervention: (c) => {
          const patterns = constructionPatterns(c);
          return {
            queryAttention: (layer, head, query) =>
              layer === l && head === h ? patterns[query]! : null,
          };
        },
      });
      out.push({
        name: `${tag} uniform within matches`,
        intervention: (c) => {
          const agree = c.queries.map((q) => agreementCounts(c.structure, c.context, q));
          return {
            queryAttention: (layer, head, query, w) =>
              layer === l && head === h
                ? uniformWithinFullMatches(
                    w,
                    agree[query]!,
                    c.structure.parents[c.queries[query]!.target]!.length,
                  )
                : null,
          };
        },
      });
    }
  });
  heads.forEach((_, l) => {
    out.push({
      name: `no attention ${l + 1}`,
      intervention: () => ({ ablateAttention: new Set([l]) }),
    });
    out.push({ name: `no MLP ${l + 1}`, intervention: () => ({ ablateMlp: new Set([l]) }) });
  });
  return out;
}

/** The reference distributions of every node at the query, from the context. */
function referenceDistributions(
  structure: Structure,
  prior: CptPrior,
  context: Dataset,
  row: ArrayLike<number>,
  truth: (v: number) => Float64Array,
): Map<ProbeReference, Float64Array[]> {
  const M = structure.variables.length;
  const nodes = Array.from({ length: M }, (_, v) => v);
  const est = (estimator: "marginal" | "naive" | "mle") =>
    nodes.map((v) => estimateConditional(structure, context, v, row, { estimator }));
  return new Map<ProbeReference, Float64Array[]>([
    ["truth", nodes.map(truth)],
    ["marginal", est("marginal")],
    ["naive", est("naive")],
    ["mle", est("mle")],
    [
      "posterior-mean",
      nodes.map((v) =>
        posteriorMean(prior, queryCounts(structure, context, v, structure.parents[v]!, row)),
      ),
    ],
  ]);
}

/** Running means keyed by string. */
class Means {
  private readonly sums = new Map<string, { sum: number; count: number }>();
  add(key: string, x: number): void {
    const s = this.sums.get(key) ?? { sum: 0, count: 0 };
    s.sum += x;
    s.count++;
    this.sums.set(key, s);
  }
  mean(key: string): number | null {
    const s = this.sums.get(key);
    return s && s.count > 0 ? s.sum / s.count : null;
  }
  count(key: string): number {
    return this.sums.get(key)?.count ?? 0;
  }
}

/** Pairs (p, i) with p before i in the topological order: the candidate edges. */
function candidatePairs(structure: Structure): [number, number][] {
  const order = topologicalOrder(structure);
  const out: [number, number][] = [];
  order.forEach((i, b) => {
    for (let a = 0; a < b; a++) out.push([order[a]!, i]);
  });
  return out;
}

/** Runs the probe; see the module header. */
export function runProbe(subject: ProbeSubject, o: ProbeOptions): ProbeResult {
  const { structure } = o;
  const M = structure.variables.length;
  const K = maxStates(structure);
  const cards = cardinalities(structure);
  const maxN = Math.max(...o.lengths);
  for (const n of o.interventionLengths)
    if (!o.lengths.includes(n))
      throw new BnformerError("config", `intervention length ${n} is not one of the lengths`, {
        path: ["interventionLengths"],
      });
  const draw = drawEpisodes(
    episodeStream(o.seed, 0),
    structure,
    o.prior,
    0,
    o.episodes,
    maxN,
    o.lengths,
  );
  const interventions = o.mechanism ? probeInterventions(subject.heads) : [];
  const pairs = candidatePairs(structure);
  const att = new Means();
  const dist = new Means();
  const structScores = new Map<string, { scores: number[]; labels: number[] }>();
  const addScore = (key: string, score: number, label: number) => {
    const s = structScores.get(key) ?? { scores: [], labels: [] };
    s.scores.push(score);
    s.labels.push(label);
    structScores.set(key, s);
  };
  const total = o.episodes * o.lengths.length;
  let done = 0;
  for (let e = 0; e < o.episodes; e++) {
    const full = {
      vars: M,
      rows: maxN,
      data: draw.batch.contexts.subarray(e * maxN * M, (e + 1) * maxN * M),
    };
    const row = draw.batch.queries.subarray(e * M, (e + 1) * M);
    const truth = (v: number) => draw.truth.slice((e * M + v) * K, (e * M + v) * K + cards[v]!);
    const queries: TargetQuery[] = Array.from({ length: M }, (_, target) => ({ row, target }));
    for (const n of o.lengths) {
      const context = sliceRows(full, 0, n);
      const refs = referenceDistributions(structure, o.prior, context, row, truth);
      const addDistances = (variant: string, out: ModelExplanation[]) => {
        for (const to of PROBE_REFERENCES) {
          let s = 0;
          for (let v = 0; v < M; v++) s += tvDistance(out[v]!.distribution, refs.get(to)![v]!);
          dist.add(`${n}|${variant}|${to}`, s / M);
        }
      };
      const base = subject.explain(structure, context, queries);
      addDistances("model", base);
      for (const ref of PROBE_REFERENCES.slice(1)) {
        let s = 0;
        for (let v = 0; v < M; v++) s += tvDistance(refs.get(ref)![v]!, refs.get("truth")![v]!);
        dist.add(`${n}|${ref}|truth`, s / M);
      }
      if (o.mechanism) {
        for (let v = 0; v < M; v++) {
          const full = structure.parents[v]!.length;
          const view = { structure, context, target: v, query: row, heads: base[v]!.heads };
          for (const sm of agreementSummaries({ ...view, shown: 0 })) {
            const fm = sm.mass[full]!;
            const fullRows = sm.rows[full]!;
            const keys = [
              `${sm.layer}|${sm.head}|${v}`,
              ...(full > 0 ? [`${sm.layer}|${sm.head}|all`] : []),
            ];
            for (const k of keys) {
              att.add(`${n}|${k}|full`, fm);
              att.add(`${n}|${k}|self`, sm.self);
              att.add(`${n}|${k}|chance`, fullRows / n);
              // Uniformity means something with two full matches or more.
              if (fullRows >= 2 && fm > 0) att.add(`${n}|${k}|within`, sm.fullMatchTv);
            }
            sm.mass.forEach((m, a) => att.add(`${n}|${sm.layer}|${sm.head}|${v}|agree${a}`, m));
          }
        }
      }
      if (o.mechanism && o.interventionLengths.includes(n)) {
        const c: ProbeQueryContext = { structure, context, queries, base };
        for (const d of interventions)
          addDistances(d.name, subject.explain(structure, context, queries, d.intervention(c)));
        structureScores(subject, structure, context, queries, base, pairs, (key, s, l) =>
          addScore(`${n}|${key}`, s, l),
        );
      }
      o.onProgress?.(++done, total);
    }
  }
  return summarise(subject, o, att, dist, structScores);
}

/** Per-pair structure scores of one episode (see the module header). */
function structureScores(
  subject: ProbeSubject,
  structure: Structure,
  context: Dataset,
  queries: readonly TargetQuery[],
  base: readonly ModelExplanation[],
  pairs: readonly [number, number][],
  add: (score: string, value: number, label: number) => void,
): void {
  // Family tokens hold only the target's family: the parents are given, not found.
  if (subject.kind !== "row") return;
  const M = context.vars;
  const n = context.rows;
  const isEdge = (p: number, i: number) => (structure.parents[i]!.includes(p) ? 1 : 0);
  for (const [p, i] of pairs) {
    const q = queries[i]!;
    let agreeShare = 0;
    const agreeing: number[] = [];
    for (let r = 0; r < n; r++)
      if (context.data[r * M + p] === q.row[p]) {
        agreeShare++;
        agreeing.push(r);
      }
    agreeShare /= n;
    for (const h of base[i]!.heads) {
      let mass = 0;
      for (const r of agreeing) mass += h.weights[r]!;
      add(`attention lift L${h.layer}H${h.head}`, mass - agreeShare, isEdge(p, i));
    }
  }
  const cards = cardinalities(structure);
  const flipped: TargetQuery[] = pairs.map(([p, i]) => {
    const row = Uint8Array.from(queries[i]!.row as ArrayLike<number>);
    row[p] = (row[p]! + 1) % cards[p]!;
    return { row, target: i };
  });
  const all = [...queries, ...flipped];
  const mlp = new Map<number, Float64Array>();
  subject.explain(structure, context, all, {
    onQueryMlp: (layer, query, out) => {
      if (layer === 0) mlp.set(query, Float64Array.from(out));
    },
  });
  if (mlp.size === 0) return; // no MLP in layer 1
  pairs.forEach(([p, i], k) => {
    const a = mlp.get(i)!;
    const b = mlp.get(queries.length + k)!;
    let s = 0;
    for (let d = 0; d < a.length; d++) s += (a[d]! - b[d]!) ** 2;
    add("MLP 1 sensitivity", Math.sqrt(s), isEdge(p, i));
  });
}

function summarise(
  subject: ProbeSubject,
  o: ProbeOptions,
  att: Means,
  dist: Means,
  structScores: Map<string, { scores: number[]; labels: number[] }>,
): ProbeResult {
  const { structure } = o;
  const M = structure.variables.length;
  const attention: AttentionPoint[] = [];
  const distances: DistancePoint[] = [];
  const structurePoints: StructurePoint[] = [];
  const variants = [
    "model",
    ...PROBE_REFERENCES.slice(1),
    ...(o.mechanism ? probeInterventions(subject.heads).map((d) => d.name) : []),
  ];
  for (const n of o.lengths) {
    if (o.mechanism)
      subject.heads.forEach((H, l) => {
        for (let h = 1; h <= H; h++) {
          for (const node of ["all", ...Array.from({ length: M }, (_, v) => String(v))]) {
            const k = `${n}|${l + 1}|${h}|${node}`;
            if (att.count(`${k}|full`) === 0) continue;
            const v = node === "all" ? -1 : Number(node);
            attention.push({
              n,
              layer: l + 1,
              head: h,
              node: v < 0 ? "all" : structure.variables[v]!.name,
              fullMass: att.mean(`${k}|full`)!,
              massByAgree:
                v < 0
                  ? []
                  : Array.from({ length: structure.parents[v]!.length + 1 }, (_, a) =>
                      att.mean(`${k}|agree${a}`)!,
                    ),
              self: att.mean(`${k}|self`)!,
              withinTv: att.mean(`${k}|within`),
              chance: att.mean(`${k}|chance`)!,
              queries: att.count(`${k}|full`),
            });
          }
        }
      });
    for (const variant of variants)
      for (const to of PROBE_REFERENCES) {
        const tv = dist.mean(`${n}|${variant}|${to}`);
        if (tv !== null) distances.push({ n, variant, to, tv });
      }
  }
  for (const [key, s] of structScores) {
    const [n, score] = [Number(key.split("|")[0]), key.slice(key.indexOf("|") + 1)];
    structurePoints.push({
      n,
      score,
      auroc: auroc(s.scores, s.labels),
      pairs: s.labels.length,
      edges: s.labels.reduce((a, b) => a + b, 0),
    });
  }
  const { structure: _s, onProgress: _p, ...rest } = o;
  return {
    subject: subject.name,
    network: structure.name,
    options: rest,
    attention,
    distances,
    structure: structurePoints,
  };
}

/** The distance of `variant` to `to` at n, or null. */
export function distanceOf(
  r: ProbeResult,
  n: number,
  variant: string,
  to: ProbeReference,
): number | null {
  return r.distances.find((d) => d.n === n && d.variant === variant && d.to === to)?.tv ?? null;
}

/**
 * The counting head: in the last layer, the head with the most mass on full matches at the
 * largest intervention length (or the largest length), averaged over nodes with parents.
 */
export function countingHead(r: ProbeResult): { layer: number; head: number } | null {
  const n = Math.max(
    ...(r.options.interventionLengths.length > 0
      ? r.options.interventionLengths
      : r.options.lengths),
  );
  const pts = r.attention.filter((a) => a.node === "all" && a.n === n);
  if (pts.length === 0) return null;
  const last = Math.max(...pts.map((a) => a.layer));
  const best = pts.filter((a) => a.layer === last).sort((a, b) => b.fullMass - a.fullMass)[0]!;
  return { layer: best.layer, head: best.head };
}

/** TV from a model snapshot's output to each reference, by training step. */
export interface DynamicsPoint {
  step: number;
  n: number;
  to: ProbeReference;
  tv: number;
}

/**
 * Training dynamics: each snapshot's distances to the truth and the estimators (runProbe
 * without the mechanism parts), on the same episodes.
 */
export function probeDynamics(
  snapshots: readonly { step: number; subject: ProbeSubject }[],
  o: Omit<ProbeOptions, "mechanism" | "interventionLengths">,
): DynamicsPoint[] {
  return snapshots.flatMap(({ step, subject }, i) => {
    const r = runProbe(subject, {
      ...o,
      mechanism: false,
      interventionLengths: [],
      onProgress: (d, t) => o.onProgress?.(i * t + d, snapshots.length * t),
    });
    return r.distances
      .filter((d) => d.variant === "model")
      .map((d) => ({ step, n: d.n, to: d.to, tv: d.tv }));
  });
}
