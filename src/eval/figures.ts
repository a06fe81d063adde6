/**
 * Figures of an evaluation result, as Vega-Lite specs rendered to SVG (vega, no browser)
 * and PNG (resvg):
 * - "tv": TV vs context length, node average, every method, log x axis, a shaded band;
 * - "tv-per-node": the same per node, one small panel per node, shared axes;
 * - "ratio": method TV / posterior-mean TV (node average), with a rule at 1.
 * Bands follow summary.ts `band`: ± sd over seeds, or ± 2 SE over episodes with one seed;
 * the caption under each figure says which. Colours come from the Okabe–Ito palette
 * (colour-blind safe), each method also gets its own dash pattern, and a method keeps its
 * colour in every figure: the baselines have fixed colours, other methods take the rest in
 * the result's order.
 */
import type { TopLevelSpec } from "vega-lite";
import { join } from "node:path";
import { writeFileAtomic } from "../files.ts";
import type { EvalResult } from "./protocol.ts";
import { NODE_MEAN } from "./protocol.ts";
import { band } from "./summary.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "./baselines.ts";

/** Okabe & Ito (2008) colours, black first; all distinguishable with common colour blindness. */
export const OKABE_ITO: readonly string[] = [
  "#000000",
  "#E69F00",
  "#56B4E9",
  "#009E73",
  "#0072B2",
  "#D55E00",
  "#CC79A7",
  "#F0E442",
];
const FIXED_COLORS: Record<string, string> = {
  [POSTERIOR_MEAN]: "#000000",
  [MLE]: "#0072B2",
  [NAIVE]: "#D55E00",
};
const DASHES: readonly number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [4, 4],
  [1, 3],
];
/** Font family for all text; resvg falls back to a system sans-serif without it. */
export const FIGURE_FONT = "DejaVu Sans";

/** The figure kinds, in the order they are written. */
export type FigureKind = "tv" | "tv-per-node" | "ratio";

/** One rendered figure. */
export interface Figure {
  readonly kind: FigureKind;
  readonly title: string;
  /** One sentence for the report: what the band is. */
  readonly caption: string;
  readonly svg: string;
  readonly png: Uint8Array;
}

/** A stable colour per method: baselines fixed, other methods the unused colours in order. */
export function methodColors(methods: readonly string[]): Map<string, string> {
  const free = OKABE_ITO.filter((c) => !Object.values(FIXED_COLORS).includes(c));
  const out = new Map<string, string>();
  let next = 0;
  for (const m of methods) {
    out.set(m, FIXED_COLORS[m] ?? free[next++ % free.length]!);
  }
  return out;
}

function methodScales(result: EvalResult) {
  const names = result.methods.map((m) => m.name);
  const colors = methodColors(names);
  return {
    color: { domain: names, range: names.map((n) => colors.get(n)!) },
    dash: { domain: names, range: names.map((_, i) => DASHES[i % DASHES.length]!) },
  };
}

/** What the bands of a result's TV figures are, as one sentence. */
export function bandCaption(result: EvalResult): string {
  const seeds = result.config.seeds.length;
  return seeds >= 2
    ? `Bands: ± 1 sd over ${seeds} seeds (${result.config.episodes} episodes each).`
    : `Bands: ± 2 standard errors over ${result.config.episodes} episodes (one seed).`;
}

const X_TITLE = "Context length n (rows, log scale)";

/** The lengths' range widened by a little on the log scale, so end points are not clipped. */
function xDomain(lengths: readonly number[]): [number, number] {
  const pad = 1.15;
  return [lengths[0]! / pad, lengths[lengths.length - 1]! * pad];
}

/** Tick values for small panels: all of up to 5 lengths, else the ends and powers of ten. */
function sparseTicks(lengths: readonly number[]): number[] {
  if (lengths.length <= 5) return [...lengths];
  const last = lengths[lengths.length - 1]!;
  return lengths.filter((n, i) => i === 0 || n === last || Math.log10(n) % 1 === 0);
}

interface LayerOptions {
  readonly yTitle: string;
  readonly band: boolean;
  /** Facet panels: a short x title and fewer ticks. */
  readonly small?: boolean;
  /** Methods listed in the legend (default: all); the scales keep every method. */
  readonly legendMethods?: readonly string[];
}

/** The line + band layers shared by the TV figures. */
function tvLayers(result: EvalResult, opts: LayerOptions) {
  const { color, dash } = methodScales(result);
  const { small = false, yTitle } = opts;
  const legend = { ...LEGEND, values: opts.legendMethods ?? color.domain };
  const lengths = result.config.lengths;
  const x = {
    field: "length",
    type: "quantitative",
    scale: { type: "log", domain: xDomain(lengths), nice: false },
    axis: small
      ? { title: "n (rows, log scale)", values: sparseTicks(lengths) }
      : { title: X_TITLE, values: lengths },
  } as const;
  const colorEnc = { field: "method", type: "nominal", scale: color, title: "Method" } as const;
  const layers: unknown[] = [];
  if (opts.band) {
    layers.push({
      mark: { type: "area", opacity: 0.18 },
      encoding: {
        x,
        y: { field: "low", type: "quantitative" },
        y2: { field: "high" },
        color: colorEnc,
      },
    });
  }
  layers.push({
    mark: { type: "line", point: { size: 28 }, strokeWidth: 2 },
    encoding: {
      x,
      y: { field: "mean", type: "quantitative", title: yTitle },
      color: { ...colorEnc, legend },
      strokeDash: { field: "method", type: "nominal", scale: dash, title: "Method" },
      tooltip: [{ field: "method" }, { field: "length" }, { field: "mean", format: ".4f" }],
    },
  });
  return layers;
}

// The band layer's opacity would otherwise leak into the legend symbols.
const LEGEND = {
  symbolType: "stroke",
  symbolStrokeWidth: 2.5,
  encode: { symbols: { update: { opacity: { value: 1 } } } },
} as const;

const CONFIG = {
  font: FIGURE_FONT,
  axis: { labelFontSize: 12, titleFontSize: 13, gridColor: "#e6e6e6" },
  legend: {
    labelFontSize: 12,
    titleFontSize: 13,
    symbolStrokeWidth: 2,
    symbolSize: 200,
    labelLimit: 320,
  },
  title: { fontSize: 15, anchor: "start" },
  header: { labelFontSize: 13, titleFontSize: 13 },
  view: { stroke: "#bbbbbb" },
} as const;

/** Rows of the summary for `node`, with the band ends. */
function tvRows(result: EvalResult, node: string | null) {
  return result.summary
    .filter((s) => (node === null ? s.node !== NODE_MEAN : s.node === node))
    .map((s) => ({ method: s.method, length: s.length, node: s.node, mean: s.mean, ...band(s) }));
}

/** Vega-Lite spec of node-averaged TV vs context length. */
export function tvFigureSpec(result: EvalResult): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${result.config.structure.name}: TV to the true conditional vs context length`,
    width: 520,
    height: 320,
    data: { values: tvRows(result, NODE_MEAN) },
    layer: tvLayers(result, { yTitle: "TV distance (mean over nodes)", band: true }),
    config: CONFIG,
  } as TopLevelSpec;
}

/** Vega-Lite spec of TV vs context length, one panel per node. */
export function perNodeFigureSpec(result: EvalResult): TopLevelSpec {
  const columns = Math.min(4, result.nodes.length);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${result.config.structure.name}: TV per node vs context length`,
    data: { values: tvRows(result, null) },
    facet: {
      field: "node",
      type: "nominal",
      sort: [...result.nodes],
      title: "Node",
    },
    columns,
    spec: {
      width: 210,
      height: 150,
      layer: tvLayers(result, { yTitle: "TV distance", band: true, small: true }),
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** Vega-Lite spec of each method's node-averaged TV over `reference`'s, null if absent. */
export function ratioFigureSpec(
  result: EvalResult,
  reference: string = POSTERIOR_MEAN,
): TopLevelSpec | null {
  const rows = result.ratios
    .filter((r) => r.reference === reference && r.node === NODE_MEAN && r.mean !== null)
    .map((r) => ({
      method: r.method,
      length: r.length,
      mean: r.mean!,
      low: r.mean! - (r.sd ?? 0),
      high: r.mean! + (r.sd ?? 0),
    }));
  if (rows.length === 0) return null;
  const seeds = result.config.seeds.length;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${result.config.structure.name}: TV relative to the ${reference} baseline`,
    width: 520,
    height: 320,
    data: { values: rows },
    layer: [
      ...tvLayers(result, {
        yTitle: `TV ÷ TV of ${reference}`,
        band: seeds >= 2,
        legendMethods: result.methods.map((m) => m.name).filter((m) => m !== reference),
      }),
      {
        mark: { type: "rule", color: "#555555", strokeDash: [3, 3] },
        encoding: { y: { datum: 1 } },
      },
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

// For the pretrained evaluation's figures (pretrained-figures.ts), which share this look.
export {
  CONFIG as FIGURE_CONFIG,
  LEGEND as LINE_LEGEND,
  DASHES as METHOD_DASHES,
  X_TITLE as LENGTH_AXIS_TITLE,
  xDomain as logLengthDomain,
};

/** SVG text of a Vega-Lite spec (headless vega, estimated text widths). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded here, not at the top: `eval --help` and the other commands should not pay for vega.
  const [{ compile }, { parse, View }] = await Promise.all([import("vega-lite"), import("vega")]);
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG at `scale` x its size (2 gives print-ready resolution). */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: FIGURE_FONT, sansSerifFamily: FIGURE_FONT },
  });
  return resvg.render().asPng();
}

/** Every figure of a result as SVG: what `renderFigures` rasterises, free of system fonts. */
export async function renderFigureSvgs(result: EvalResult): Promise<Omit<Figure, "png">[]> {
  const caption = bandCaption(result);
  const specs: [FigureKind, TopLevelSpec | null, string][] = [
    ["tv", tvFigureSpec(result), caption],
    ["tv-per-node", perNodeFigureSpec(result), caption],
    [
      "ratio",
      ratioFigureSpec(result),
      result.config.seeds.length >= 2
        ? caption.replace("Bands", "Ratio bands")
        : "No band (one seed).",
    ],
  ];
  const out: Omit<Figure, "png">[] = [];
  for (const [kind, spec, cap] of specs) {
    if (spec === null) continue;
    const svg = await renderSvg(spec);
    const title = (spec as { title: string }).title;
    out.push({ kind, title, caption: cap, svg });
  }
  return out;
}

/** Every figure of a result, rendered. */
export async function renderFigures(result: EvalResult, scale = 2): Promise<Figure[]> {
  const svgs = await renderFigureSvgs(result);
  return Promise.all(svgs.map(async (f) => ({ ...f, png: await svgToPng(f.svg, scale) })));
}

/** File names (SVG and PNG) of each figure kind written by `writeFigures`. */
export interface FigureFiles {
  readonly kind: FigureKind;
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
  readonly png: string;
}

/** Writes `${prefix}${kind}.svg/.png` into `dir` (atomically); returns the file names. */
export async function writeFigures(
  result: EvalResult,
  dir: string,
  prefix = "",
): Promise<FigureFiles[]> {
  const figures = await renderFigures(result);
  return figures.map((f) => {
    const svg = `${prefix}${f.kind}.svg`;
    const png = `${prefix}${f.kind}.png`;
    writeFileAtomic(join(dir, svg), f.svg);
    writeFileAtomic(join(dir, png), f.png);
    return { kind: f.kind, title: f.title, caption: f.caption, svg, png };
  });
}
