/**
 * The markdown report of one or more evaluation results: a pure function from results
 * (plus the names of their figure and data files) to text. Per result (a structure with
 * its prior) it prints the setup and the unseen policy, then tables at chosen context
 * lengths: node-averaged TV for every method (mean ± band, summary.ts `band`), the ratios
 * to the posterior-mean and the MLE baselines (mean ± sd over seeds), the per-node TV at
 * one length, the fraction of episodes whose query parent configuration is unseen (and
 * where each method fell back), the figures, and how the run was made (wall time,
 * machine, command).
 */
import { BnformerError } from "../errors.ts";
import { edgeCount } from "../bn/network.ts";
import type { CptPrior } from "../bn/priors.ts";
import { priorLabel } from "../bn/priors.ts";
import type { EvalResult } from "./protocol.ts";
import { NODE_MEAN } from "./protocol.ts";
import type { RatioSummary, TvSummary } from "./summary.ts";
import { band } from "./summary.ts";
import { MLE, POSTERIOR_MEAN } from "./baselines.ts";

/** A figure as the report links it (what figures.ts `writeFigures` returns). */
export interface FigureLink {
  readonly title: string;
  readonly caption: string;
  readonly png: string;
  readonly svg: string;
}

/** One result and the files written for it (paths relative to the report). */
export interface ReportSection {
  readonly result: EvalResult;
  /** Heading; default: the structure name and the prior. */
  readonly heading?: string;
  readonly figures?: readonly FigureLink[];
  readonly files?: Readonly<Record<string, string>>;
}

/** Report options; every field has a default. */
export interface ReportOptions {
  readonly title?: string;
  /** Lengths shown in the tables; default `reportLengths` of each result. */
  readonly lengths?: readonly number[];
}

/** The tables' default lengths: the first, the powers of ten, the last (all if six or fewer). */
export function reportLengths(lengths: readonly number[]): number[] {
  if (lengths.length <= 6) return [...lengths];
  const last = lengths[lengths.length - 1]!;
  return lengths.filter((n, i) => i === 0 || n === last || Math.log10(n) % 1 === 0);
}

/** The whole report. */
export function renderReport(sections: readonly ReportSection[], opts: ReportOptions = {}): string {
  const out = [`# ${opts.title ?? "Evaluation: in-context estimation of conditionals"}`, ""];
  if (sections.length > 0) out.push(sections[0]!.result.unseenPolicy.statement, "");
  for (const s of sections) out.push(...renderSection(s, opts));
  return (
    out
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trimEnd() + "\n"
  );
}

/** "uniform(0.1, 0.9)", "beta(0.5)", "dirichlet(1)". */
export function describePrior(prior: CptPrior): string {
  return priorLabel(prior) + (prior.kind === "uniform" ? " on P(X=1 | parents)" : " per CPT row");
}

function renderSection(section: ReportSection, opts: ReportOptions): string[] {
  const r = section.result;
  const c = r.config;
  const lengths = opts.lengths ?? reportLengths(c.lengths);
  for (const n of lengths) {
    if (!c.lengths.includes(n)) {
      throw new BnformerError(
        "config",
        `report length ${n} was not evaluated for "${c.structure.name}" (lengths: ${c.lengths.join(", ")})`,
        { path: ["report", "lengths"] },
      );
    }
  }
  const heading = section.heading ?? `${c.structure.name}, ${describePrior(c.prior)}`;
  const seeds = c.seeds.length;
  const bandText = seeds >= 2 ? `± sd over ${seeds} seeds` : `± 2 SE over episodes (one seed)`;
  return [
    `## ${heading}`,
    "",
    `${r.nodes.length} nodes, ${edgeCount(c.structure)} edges; CPTs drawn from ${describePrior(c.prior)}; ` +
      `${c.episodes} episodes per seed, seeds ${c.seeds.join(", ")} (evaluation seed ${c.evalSeed}); ` +
      `context lengths ${c.lengths.join(", ")}. Unseen policy: "${r.unseenPolicy.name}".`,
    "",
    ...methodTable(r),
    `### TV to the true conditional, mean over nodes (${bandText})`,
    "",
    ...lengthTable(r, lengths, (m, n) => tvText(find(r.summary, m, n, NODE_MEAN))),
    ...ratioSection(r, lengths, POSTERIOR_MEAN),
    ...ratioSection(r, lengths, MLE),
    ...perNodeSection(r, lengths[lengths.length - 1]!, bandText),
    ...unseenSection(r, lengths),
    ...figureSection(section.figures ?? []),
    ...runSection(r, section.files),
  ];
}

function esc(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** A markdown table (cells' "|" escaped), then an empty line. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...rows.map((row) => `| ${row.map(esc).join(" | ")} |`),
    "",
  ];
}

function methodTable(r: EvalResult): string[] {
  return markdownTable(
    ["method", "what it is"],
    r.methods.map((m) => [m.name, m.description || "—"]),
  );
}

/** A table with one row per method and one column per length. */
function lengthTable(
  r: EvalResult,
  lengths: readonly number[],
  cell: (method: string, n: number) => string,
  methods: readonly string[] = r.methods.map((m) => m.name),
): string[] {
  return markdownTable(
    ["method", ...lengths.map((n) => `n = ${n}`)],
    methods.map((m) => [m, ...lengths.map((n) => cell(m, n))]),
  );
}

function find(summary: readonly TvSummary[], method: string, n: number, node: string): TvSummary {
  const s = summary.find((x) => x.method === method && x.length === n && x.node === node);
  if (s === undefined) throw new RangeError(`no summary for ${method}, n = ${n}, node ${node}`);
  return s;
}

function tvText(s: TvSummary): string {
  const b = band(s);
  return `${s.mean.toFixed(4)} ± ${(b.high - s.mean).toFixed(4)}`;
}

function ratioText(x: RatioSummary | undefined): string {
  if (x === undefined || x.mean === null) return "—";
  return x.sd === null ? x.mean.toFixed(3) : `${x.mean.toFixed(3)} ± ${x.sd.toFixed(3)}`;
}

function ratioSection(r: EvalResult, lengths: readonly number[], reference: string): string[] {
  const rows = r.ratios.filter((x) => x.reference === reference && x.node === NODE_MEAN);
  if (rows.length === 0) return [];
  const methods = r.methods.map((m) => m.name).filter((m) => m !== reference);
  const sd = r.config.seeds.length >= 2 ? " (mean ± sd over seeds of the per-seed ratio)" : "";
  return [
    `### Ratio to ${reference}: method TV ÷ ${reference} TV, mean over nodes${sd}`,
    "",
    ...lengthTable(
      r,
      lengths,
      (m, n) => ratioText(rows.find((x) => x.method === m && x.length === n)),
      methods,
    ),
  ];
}

function perNodeSection(r: EvalResult, n: number, bandText: string): string[] {
  const methods = r.methods.map((m) => m.name);
  const parents = r.config.structure.parents;
  return [
    `### TV per node at n = ${n} (${bandText})`,
    "",
    ...markdownTable(
      ["node", "parents", ...methods],
      r.nodes.map((node, v) => [
        node,
        parents[v]!.map((p) => r.nodes[p]!).join(", ") || "—",
        ...methods.map((m) => tvText(find(r.summary, m, n, node))),
      ]),
    ),
  ];
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function unseenSection(r: EvalResult, lengths: readonly number[]): string[] {
  const fallbackMethods = r.methods
    .map((m) => m.name)
    .filter((m) => find(r.summary, m, lengths[0]!, NODE_MEAN).fallbackFraction !== null);
  const out = [
    "### Unseen parent configurations",
    "",
    "Share of episodes whose query parent configuration occurs in none of the first n " +
      "context rows (the same episodes for every method):",
    "",
    ...markdownTable(
      ["node", ...lengths.map((n) => `n = ${n}`)],
      [...r.nodes, NODE_MEAN].map((node) => [
        node,
        ...lengths.map((n) => pct(find(r.summary, r.methods[0]!.name, n, node).unseenFraction)),
      ]),
    ),
  ];
  if (fallbackMethods.length === 0) return out;
  return [
    ...out,
    `Share of (episode, node) pairs where a method used the unseen policy (its own ` +
      `conditioning set; naive conditions on every earlier node), mean over nodes:`,
    "",
    ...lengthTable(
      r,
      lengths,
      (m, n) => pct(find(r.summary, m, n, NODE_MEAN).fallbackFraction!),
      fallbackMethods,
    ),
  ];
}

/** The "### Figures" section: each figure's PNG, then its title, caption and SVG link. */
export function figureSection(figures: readonly FigureLink[]): string[] {
  if (figures.length === 0) return [];
  return [
    "### Figures",
    "",
    ...figures.flatMap((f) => [
      `![${f.title}](${encodeURI(f.png)})`,
      "",
      `${f.title}. ${f.caption} [SVG](${encodeURI(f.svg)})`,
      "",
    ]),
  ];
}

function runSection(r: EvalResult, files?: Readonly<Record<string, string>>): string[] {
  const secs = r.run.wallSeconds;
  const wall = secs < 120 ? `${secs.toFixed(1)} s` : `${(secs / 60).toFixed(1)} min`;
  const out = [
    "### Run",
    "",
    `- wall time: ${wall} (started ${r.run.startedAt})`,
    `- machine: ${r.run.machine}`,
    `- command: ${r.run.command === null ? "(not recorded)" : "`" + r.run.command + "`"}`,
  ];
  for (const [what, path] of Object.entries(files ?? {})) {
    out.push(`- ${what}: [${path}](${encodeURI(path)})`);
  }
  return [...out, ""];
}
