/**
 * docs/results.md, its data and figures, and the README's experiment table, rebuilt from
 * the committed data in docs/results/ alone (no runs/): experiment.json (the settings),
 * experiment-run.json (each training run's steps and time) and <graph>-results.json (every
 * per-seed cell). Summaries and ratios are recomputed from the cells (src/eval/summary.ts), so a
 * change to how they are computed shows up as a difference in the page.
 *
 * docs/results.md is a hand-written preamble, a line "---", then the report that
 * `bnformer experiment paper` writes (`experimentReport`), without its title and with file
 * links under results/. The README's table sits between README_TABLE_BEGIN and
 * README_TABLE_END. `npx tsx scripts/results-page.ts` checks all of it byte for byte,
 * `--update` rewrites it; test/experiment/results-page.test.ts runs the check.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BnformerError } from "../errors.ts";
import type { TargetKind } from "../train/targets.ts";
import type { EvalResult } from "../eval/protocol.ts";
import { NODE_MEAN } from "../eval/protocol.ts";
import { MLE, POSTERIOR_MEAN } from "../eval/baselines.ts";
import { summarizeRatios, summarizeSeeds } from "../eval/summary.ts";
import { cellsToCsv, parseEvalResult, summaryToCsv } from "../eval/results-io.ts";
import { renderFigureSvgs } from "../eval/figures.ts";
import type { ReportSection } from "../eval/report.ts";
import type { ExperimentConfig } from "./config.ts";
import { validateExperiment } from "./config.ts";
import type { ExperimentRunRecord } from "./report.ts";
import { experimentReport, modelName } from "./report.ts";

/** The page, its data folder and the README, relative to the repository root. */
export const RESULTS_PAGE = "docs/results.md";
export const RESULTS_DIR = "docs/results";
export const README = "README.md";
/** Where the results page links its files from. */
const LINK_DIR = "results/";

export const README_TABLE_BEGIN =
  "<!-- results-table: generated from docs/results/ by `npx tsx scripts/results-page.ts --update` -->";
export const README_TABLE_END = "<!-- /results-table -->";

/** The README table's rows: each graph's posterior-mean model, and general5's paper task. */
const README_ROWS: readonly [string, TargetKind][] = [
  ["chain7", "posterior-mean"],
  ["tree7", "posterior-mean"],
  ["general5", "posterior-mean"],
  ["general5", "prediction"],
];
const TRAINED_ON: Partial<Record<TargetKind, string>> = {
  "posterior-mean": "posterior mean",
  prediction: "observed value (the paper's task)",
};

/** The committed data, read and checked. */
export interface CommittedResults {
  readonly exp: ExperimentConfig;
  readonly record: ExperimentRunRecord;
  /** One per graph of `exp`, summaries and ratios recomputed from the cells. */
  readonly results: readonly EvalResult[];
  /** The same as stored, for comparison. */
  readonly stored: readonly EvalResult[];
}

function readJson(root: string, file: string): unknown {
  const path = join(root, file);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new BnformerError("parse", `cannot read ${file}: ${(e as Error).message}`, {
      file: path,
    });
  }
}

/** Reads experiment.json, experiment-run.json and every graph's results.json under `root`. */
export function readCommittedResults(root: string): CommittedResults {
  const exp = readJson(root, join(RESULTS_DIR, "experiment.json")) as ExperimentConfig;
  validateExperiment(exp);
  const record = readJson(root, join(RESULTS_DIR, "experiment-run.json")) as ExperimentRunRecord;
  if (record.format !== "bnformer-experiment-run/1") {
    throw new BnformerError(
      "parse",
      `expected format "bnformer-experiment-run/1", found ${JSON.stringify(record.format)}`,
      { file: join(root, RESULTS_DIR, "experiment-run.json") },
    );
  }
  const stored = exp.graphs.map((g) => {
    const file = join(root, RESULTS_DIR, `${g}-results.json`);
    return parseEvalResult(readFileSync(file, "utf8"), file);
  });
  const results = stored.map((r) => ({
    ...r,
    summary: summarizeSeeds(r.cells),
    ratios: [POSTERIOR_MEAN, MLE].flatMap((ref) => summarizeRatios(r.cells, ref)),
  }));
  return { exp, record, results, stored };
}

type FigureSvgs = Awaited<ReturnType<typeof renderFigureSvgs>>;

/** The report sections with the file names `bnformer experiment paper` gives them. */
function sections(data: CommittedResults, figures: readonly FigureSvgs[]): ReportSection[] {
  return data.results.map((r, i) => {
    const g = r.config.structure.name;
    return {
      result: r,
      figures: figures[i]!.map((f) => ({
        title: f.title,
        caption: f.caption,
        png: `${LINK_DIR}${g}-${f.kind}.png`,
        svg: `${LINK_DIR}${g}-${f.kind}.svg`,
      })),
      files: {
        "per-seed CSV": `${LINK_DIR}${g}-tv.csv`,
        "summary CSV": `${LINK_DIR}${g}-tv-summary.csv`,
        JSON: `${LINK_DIR}${g}-results.json`,
      },
    };
  });
}

/** The README's table: node-averaged TV ÷ the posterior mean's at the target lengths. */
export function readmeTable(data: CommittedResults): string {
  const lengths = data.exp.eval.targetLengths;
  const rows = README_ROWS.map(([graph, target]) => {
    const r = data.results.find((x) => x.config.structure.name === graph);
    if (r === undefined) throw new RangeError(`no results for ${graph}`);
    const cells = lengths.map((n) => {
      const x = r.ratios.find(
        (y) =>
          y.method === modelName(target) &&
          y.reference === POSTERIOR_MEAN &&
          y.length === n &&
          y.node === NODE_MEAN,
      );
      return x?.mean == null ? "—" : x.mean.toFixed(3);
    });
    return `| ${graph} | ${TRAINED_ON[target] ?? target} | ${cells.join(" | ")} |`;
  });
  return [
    `| graph | trained on | ${lengths.map((n) => `n = ${n}`).join(" | ")} |`,
    `|---|---|${lengths.map(() => "---:").join("|")}|`,
    ...rows,
  ].join("\n");
}

/** The text between the markers replaced by `table` (throws if the markers are missing). */
export function withReadmeTable(readme: string, table: string): string {
  const begin = readme.indexOf(README_TABLE_BEGIN);
  const end = readme.indexOf(README_TABLE_END);
  if (begin < 0 || end < begin) {
    throw new BnformerError(
      "parse",
      `README.md lacks the lines ${README_TABLE_BEGIN} and ${README_TABLE_END}`,
    );
  }
  return (
    readme.slice(0, begin + README_TABLE_BEGIN.length) + "\n" + table + "\n" + readme.slice(end)
  );
}

/** docs/results.md: the preamble of `current` (up to its "---" line), then the report. */
export function withReport(current: string, report: string): string {
  const cut = current.indexOf("\n---\n");
  if (cut < 0) throw new BnformerError("parse", `${RESULTS_PAGE} lacks its "---" line`);
  const body = report.replace(/^# .*\n+/, "");
  return current.slice(0, cut + "\n---\n".length) + "\n" + body;
}

/** One generated file: where it goes and what it should hold. */
export interface GeneratedFile {
  readonly path: string;
  readonly text: string;
}

/**
 * Every file rebuilt from the committed data: the page, the README, each graph's CSVs and
 * SVG figures. PNGs are not among them: they depend on the system's fonts (figures.ts).
 */
export async function generatedFiles(root: string): Promise<GeneratedFile[]> {
  const data = readCommittedResults(root);
  const figures: FigureSvgs[] = [];
  for (const r of data.results) figures.push(await renderFigureSvgs(r));
  const report = experimentReport(data.exp, data.record, sections(data, figures));
  const read = (p: string) => readFileSync(join(root, p), "utf8");
  const out: GeneratedFile[] = [
    { path: RESULTS_PAGE, text: withReport(read(RESULTS_PAGE), report) },
    { path: README, text: withReadmeTable(read(README), readmeTable(data)) },
  ];
  data.results.forEach((r, i) => {
    const g = r.config.structure.name;
    out.push({ path: join(RESULTS_DIR, `${g}-tv.csv`), text: cellsToCsv(r) });
    out.push({ path: join(RESULTS_DIR, `${g}-tv-summary.csv`), text: summaryToCsv(r) });
    for (const f of figures[i]!) {
      out.push({ path: join(RESULTS_DIR, `${g}-${f.kind}.svg`), text: f.svg });
    }
  });
  return out;
}
