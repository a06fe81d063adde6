/**
 * Figures of a pretrained (family model) evaluation, src/eval/pretrained.ts, drawn with the
 * renderer, palette and font of figures.ts:
 * - "pretrained-tv": node-averaged TV vs context length on the held-out random networks
 *   (targets 1 and 2 on one log-log plot), model, posterior mean, MLE and naive;
 * - "pretrained-ratio": the model's TV over the posterior mean's and over the MLE's vs length,
 *   with the targets (1.10 × posterior mean over target 1's lengths, 1.15 × MLE over target 2's);
 * - "pretrained-real": per real network, the model's TV over the MLE's at the two real lengths,
 *   with each length's target (1.00 at the smaller, 1.15 at the larger).
 * Bands and error bars are ± 1 sd over seeds (ratios: of the per-seed ratios, as the checks
 * compute them), drawn only with two seeds or more.
 */
import type { TopLevelSpec } from "vega-lite";
import { join } from "node:path";
import { writeFileAtomic } from "../files.ts";
import {
  FIGURE_CONFIG,
  LENGTH_AXIS_TITLE,
  LINE_LEGEND,
  METHOD_DASHES,
  OKABE_ITO,
  logLengthDomain,
  methodColors,
  renderSvg,
  svgToPng,
} from "./figures.ts";
import type { FigureLink } from "./report.ts";
import { meanSd } from "./summary.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "./baselines.ts";
import type { PretrainedEvalResult, PretrainedPoint } from "./pretrained.ts";
import { HELD_OUT_NAME, MODEL, checkOf } from "./pretrained.ts";

/** The figure kinds, in the order they are written (also their file names). */
export type PretrainedFigureKind = "pretrained-tv" | "pretrained-ratio" | "pretrained-real";

/** The methods of the TV figure, in legend order. */
const TV_METHODS = [MODEL, POSTERIOR_MEAN, MLE, NAIVE] as const;
/** Targets 1 and 2: the model against these references, at most these factors. */
const HELD_OUT_FACTOR = 1.1;
const LENGTH_FACTOR = 1.15;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** A mean and its band ends (± 1 sd over seeds; the mean itself with one seed). */
interface Banded {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

function banded(xs: readonly number[]): Banded {
  const { mean, sd } = meanSd(xs);
  return { mean, low: mean - (sd ?? 0), high: mean + (sd ?? 0) };
}

/** The held-out network's lengths of target 1 and target 2, each ascending. */
function heldOutLengths(r: PretrainedEvalResult) {
  const of = (target: PretrainedPoint["target"]) =>
    [
      ...new Set(
        r.points
          .filter((p) => p.target === target && p.network === HELD_OUT_NAME)
          .map((p) => p.length),
      ),
    ].sort((a, b) => a - b);
  const heldOut = of("held-out");
  const long = of("length");
  return { heldOut, long, all: [...heldOut, ...long] };
}

const targetOf = (r: PretrainedEvalResult, n: number) =>
  heldOutLengths(r).heldOut.includes(n) ? ("held-out" as const) : ("length" as const);

function lengthAxis(lengths: readonly number[]) {
  return {
    field: "length",
    type: "quantitative",
    scale: { type: "log", domain: logLengthDomain(lengths), nice: false },
    // Every length labelled, without thousands commas (1000 and 2000 sit close on a log axis).
    axis: { title: LENGTH_AXIS_TITLE, values: lengths, format: "d", labelOverlap: false },
  } as const;
}

/** A dotted vertical rule between target 1's and target 2's lengths, labelled; or nothing. */
function targetBoundary(heldOut: readonly number[], long: readonly number[]): unknown[] {
  if (heldOut.length === 0 || long.length === 0) return [];
  const x = Math.sqrt(heldOut[heldOut.length - 1]! * long[0]!);
  const label = (text: string, align: "left" | "right") => ({
    mark: {
      type: "text",
      align,
      baseline: "top",
      dx: align === "left" ? 4 : -4,
      dy: 4,
      fontSize: 11,
      color: "#555555",
    },
    encoding: {
      x: { field: "x", type: "quantitative" },
      y: { value: 0 },
      text: { value: text },
    },
  });
  return [
    {
      data: { values: [{ x }] },
      layer: [
        {
          mark: { type: "rule", color: "#888888", strokeDash: [2, 3] },
          encoding: { x: { field: "x", type: "quantitative" } },
        },
        label("← target 1", "right"),
        label("target 2 →", "left"),
      ],
    },
  ];
}

/** Node-averaged TV of each method on the held-out networks, mean ± sd over seeds per length. */
export function pretrainedTvFigureSpec(r: PretrainedEvalResult): TopLevelSpec | null {
  const { heldOut, long, all } = heldOutLengths(r);
  const methods = TV_METHODS.filter((m) =>
    r.points.some((p) => p.network === HELD_OUT_NAME && p.method === m),
  );
  const rows = all.flatMap((length) =>
    methods.flatMap((method) => {
      const tvs = r.points
        .filter(
          (p) =>
            p.target === targetOf(r, length) &&
            p.network === HELD_OUT_NAME &&
            p.length === length &&
            p.method === method,
        )
        .map((p) => p.tv);
      if (tvs.length === 0) return [];
      const b = banded(tvs);
      // A log axis cannot draw 0 or less: a band reaching there stops at a tenth of the mean.
      return [{ method, length, ...b, low: Math.max(b.low, b.mean / 10) }];
    }),
  );
  if (rows.length === 0) return null;
  const colors = methodColors(TV_METHODS);
  const color = {
    field: "method",
    type: "nominal",
    title: "Method",
    scale: { domain: methods, range: methods.map((m) => colors.get(m)!) },
  } as const;
  const x = lengthAxis(all);
  const layers: unknown[] = [];
  if (r.options.seeds >= 2)
    layers.push({
      mark: { type: "area", opacity: 0.18 },
      encoding: {
        x,
        y: { field: "low", type: "quantitative", scale: { type: "log" } },
        y2: { field: "high" },
        color,
      },
    });
  layers.push({
    mark: { type: "line", point: { size: 28 }, strokeWidth: 2 },
    encoding: {
      x,
      y: {
        field: "mean",
        type: "quantitative",
        scale: { type: "log" },
        title: "TV distance (mean over nodes, log scale)",
      },
      color: { ...color, legend: LINE_LEGEND },
      strokeDash: {
        field: "method",
        type: "nominal",
        title: "Method",
        scale: { domain: methods, range: methods.map((_, i) => METHOD_DASHES[i]!) },
      },
      tooltip: [{ field: "method" }, { field: "length" }, { field: "mean", format: ".4f" }],
    },
  });
  return {
    $schema: SCHEMA,
    title: `Held-out random networks: TV to the true conditional vs context length`,
    width: 520,
    height: 320,
    data: { values: rows },
    layer: [...layers, ...targetBoundary(heldOut, long)],
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}

/** The ratio series of the ratio figure: the model over each reference. */
const RATIO_REFERENCES = [POSTERIOR_MEAN, MLE] as const;
const ratioLabel = (reference: string) => `${MODEL} ÷ ${reference}`;

/** The model's TV over the posterior mean's and the MLE's, with targets 1 and 2 as rules. */
export function pretrainedRatioFigureSpec(r: PretrainedEvalResult): TopLevelSpec | null {
  const { heldOut, long, all } = heldOutLengths(r);
  const rows = all.flatMap((length) =>
    RATIO_REFERENCES.flatMap((reference) => {
      // checkOf's ratio is the one the report's verdicts use: per seed, then mean ± sd.
      const c = checkOf(r.points, targetOf(r, length), HELD_OUT_NAME, length, reference, 1);
      if (c.ratio === null) return [];
      const sd = c.ratioSd ?? 0;
      return [
        {
          series: ratioLabel(reference),
          length,
          mean: c.ratio,
          low: c.ratio - sd,
          high: c.ratio + sd,
        },
      ];
    }),
  );
  if (rows.length === 0) return null;
  const colors = methodColors(TV_METHODS);
  const series = RATIO_REFERENCES.map(ratioLabel);
  const color = {
    field: "series",
    type: "nominal",
    title: "Ratio",
    scale: { domain: series, range: RATIO_REFERENCES.map((m) => colors.get(m)!) },
  } as const;
  const x = lengthAxis(all);
  const layers: unknown[] = [];
  if (r.options.seeds >= 2)
    layers.push({
      mark: { type: "area", opacity: 0.18 },
      encoding: { x, y: { field: "low", type: "quantitative" }, y2: { field: "high" }, color },
    });
  layers.push({
    mark: { type: "line", point: { size: 28 }, strokeWidth: 2 },
    encoding: {
      x,
      y: {
        field: "mean",
        type: "quantitative",
        scale: { zero: false },
        title: "Model TV ÷ reference TV",
      },
      color: { ...color, legend: LINE_LEGEND },
      tooltip: [{ field: "series" }, { field: "length" }, { field: "mean", format: ".3f" }],
    },
  });
  // Each target's rule spans its own lengths, in its reference's colour.
  const pad = (n: number, f: number) => n * f;
  const rules = [
    ...(heldOut.length > 0
      ? [
          {
            y: HELD_OUT_FACTOR,
            x: pad(heldOut[0]!, 1 / 1.15),
            x2: pad(heldOut[heldOut.length - 1]!, 1.15),
            label: `target 1: ${HELD_OUT_FACTOR.toFixed(2)} × ${POSTERIOR_MEAN}`,
            color: colors.get(POSTERIOR_MEAN)!,
          },
        ]
      : []),
    ...(long.length > 0
      ? [
          {
            y: LENGTH_FACTOR,
            x: pad(long[0]!, 1 / 1.15),
            x2: pad(long[long.length - 1]!, 1.15),
            label: `target 2: ${LENGTH_FACTOR.toFixed(2)} × ${MLE}`,
            color: colors.get(MLE)!,
          },
        ]
      : []),
  ];
  return {
    $schema: SCHEMA,
    title: `Held-out random networks: the model's TV relative to the references`,
    width: 520,
    height: 320,
    data: { values: rows },
    layer: [
      ...layers,
      {
        data: { values: [{ y: 1 }] },
        mark: { type: "rule", color: "#bbbbbb" },
        encoding: { y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values: rules },
        layer: [
          {
            mark: { type: "rule", strokeDash: [5, 3], strokeWidth: 1.5 },
            encoding: {
              x: { field: "x", type: "quantitative" },
              x2: { field: "x2" },
              y: { field: "y", type: "quantitative" },
              color: { field: "color", type: "nominal", scale: null },
            },
          },
          {
            // Right-aligned at the rule's end, so a label stays inside the plot.
            mark: { type: "text", align: "right", baseline: "bottom", dy: -3, fontSize: 11 },
            encoding: {
              x: { field: "x2", type: "quantitative" },
              y: { field: "y", type: "quantitative" },
              text: { field: "label" },
              color: { field: "color", type: "nominal", scale: null },
            },
          },
        ],
      },
      ...targetBoundary(heldOut, long),
    ],
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}

/** Colours of the real networks' two lengths: neither a method's colour nor black. */
const REAL_LENGTH_COLORS = [OKABE_ITO[2]!, OKABE_ITO[3]!];

/** Per real network, the model's TV over the MLE's at each real length, with its target. */
export function pretrainedRealFigureSpec(r: PretrainedEvalResult): TopLevelSpec | null {
  const checks = r.checks.filter((c) => c.target === "real" && c.ratio !== null);
  if (checks.length === 0) return null;
  const networks = [...new Set(r.checks.filter((c) => c.target === "real").map((c) => c.network))];
  const lengths = [...new Set(checks.map((c) => c.length))].sort((a, b) => a - b);
  // Each length's target comes from the checks themselves (1.00 at the smaller, 1.15 the
  // larger) and is named in the legend, next to the colour of its bars and its rule.
  const factorAt = (n: number) => checks.find((c) => c.length === n)!.factor;
  const lengthLabel = (n: number) => `n = ${n} (target ≤ ${factorAt(n).toFixed(2)})`;
  const rows = checks.map((c) => {
    const sd = c.ratioSd ?? 0;
    return {
      network: c.network,
      length: lengthLabel(c.length),
      ratio: c.ratio!,
      low: c.ratio! - sd,
      high: c.ratio! + sd,
    };
  });
  const colorScale = {
    domain: lengths.map(lengthLabel),
    range: lengths.map((_, i) => REAL_LENGTH_COLORS[i % REAL_LENGTH_COLORS.length]!),
  };
  const targets = lengths.map((n) => ({ length: lengthLabel(n), factor: factorAt(n) }));
  const x = {
    field: "network",
    type: "nominal",
    sort: networks,
    title: "Network (its own CPTs the truth)",
    axis: { labelAngle: 0 },
  } as const;
  const color = {
    field: "length",
    type: "nominal",
    scale: colorScale,
    title: "Context",
  } as const;
  const layers: unknown[] = [
    {
      mark: { type: "bar", opacity: 0.85 },
      encoding: {
        x,
        xOffset: { field: "length", type: "nominal", sort: colorScale.domain },
        y: { field: "ratio", type: "quantitative", title: "Model TV ÷ MLE TV" },
        color,
        tooltip: [{ field: "network" }, { field: "length" }, { field: "ratio", format: ".3f" }],
      },
    },
  ];
  if (r.options.seeds >= 2)
    layers.push({
      mark: { type: "rule", color: "#333333", strokeWidth: 1.5 },
      encoding: {
        x,
        xOffset: { field: "length", type: "nominal", sort: colorScale.domain },
        y: { field: "low", type: "quantitative" },
        y2: { field: "high" },
      },
    });
  return {
    $schema: SCHEMA,
    title: `Real networks: the model's TV relative to the MLE's`,
    width: Math.max(360, 110 * networks.length),
    height: 300,
    data: { values: rows },
    layer: [
      ...layers,
      {
        data: { values: targets },
        mark: { type: "rule", strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { y: { field: "factor", type: "quantitative" }, color },
      },
    ],
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}

/** One rendered figure of a pretrained evaluation. */
export interface PretrainedFigure {
  readonly kind: PretrainedFigureKind;
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
  readonly png: Uint8Array;
}

function captions(r: PretrainedEvalResult): Record<PretrainedFigureKind, string> {
  const seeds = r.options.seeds;
  const spread =
    seeds >= 2
      ? `± 1 sd over ${seeds} seeds (${r.options.episodes} episodes each)`
      : `none (one seed, ${r.options.episodes} episodes)`;
  return {
    "pretrained-tv":
      `Targets 1 and 2 on the same held-out networks; the dotted rule separates target 2's lengths. ` +
      `Bands: ${spread}.`,
    "pretrained-ratio":
      `Per-seed ratios on the same episodes, then their mean; dashed: target 1 (at most ` +
      `${HELD_OUT_FACTOR.toFixed(2)} × the posterior mean) and target 2 (at most ` +
      `${LENGTH_FACTOR.toFixed(2)} × the MLE) over their lengths. Bands: ${spread}.`,
    "pretrained-real": `Target 3; dashed: each length's target, in its bars' colour. Error bars: ${spread}.`,
  };
}

/** Every figure the result has data for, as SVG (what `renderPretrainedFigures` rasterises). */
export async function renderPretrainedFigureSvgs(
  r: PretrainedEvalResult,
): Promise<Omit<PretrainedFigure, "png">[]> {
  const caption = captions(r);
  const specs: [PretrainedFigureKind, TopLevelSpec | null][] = [
    ["pretrained-tv", pretrainedTvFigureSpec(r)],
    ["pretrained-ratio", pretrainedRatioFigureSpec(r)],
    ["pretrained-real", pretrainedRealFigureSpec(r)],
  ];
  const out: Omit<PretrainedFigure, "png">[] = [];
  for (const [kind, spec] of specs) {
    if (spec === null) continue;
    const title = (spec as { title: string }).title;
    out.push({ kind, title, caption: caption[kind], svg: await renderSvg(spec) });
  }
  return out;
}

/** Every figure the result has data for, rendered (PNG at `scale` x the SVG's size). */
export async function renderPretrainedFigures(
  r: PretrainedEvalResult,
  scale = 2,
): Promise<PretrainedFigure[]> {
  const svgs = await renderPretrainedFigureSvgs(r);
  return Promise.all(svgs.map(async (f) => ({ ...f, png: await svgToPng(f.svg, scale) })));
}

/** Writes `${kind}.svg` and `${kind}.png` into `dir` (atomically); returns the report's links. */
export async function writePretrainedFigures(
  r: PretrainedEvalResult,
  dir: string,
): Promise<(FigureLink & { kind: PretrainedFigureKind })[]> {
  const figures = await renderPretrainedFigures(r);
  return figures.map((f) => {
    const svg = `${f.kind}.svg`;
    const png = `${f.kind}.png`;
    writeFileAtomic(join(dir, svg), f.svg);
    writeFileAtomic(join(dir, png), f.png);
    return { kind: f.kind, title: f.title, caption: f.caption, svg, png };
  });
}
