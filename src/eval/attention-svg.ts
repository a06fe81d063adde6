/**
 * One query's attention over the context rows, as a text table and as an SVG heatmap.
 *
 * The rows listed are those of one head (`shown`): one line per context row with its
 * attention weight, whether the row agrees with the query on each parent of the target
 * (= match, x differs, ? missing in the row or the query) and the row's target value.
 * Long contexts show the `maxRows` heaviest rows (ties: earlier rows), in context order,
 * and one line summarising the rest. Then, for every layer and head, the attention mass
 * on the rows agreeing with the query on a, a = |parents| .. 0, parents, on the query
 * itself, and how far the weights within the full matches are from uniform (total
 * variation). For the construction this shows the counter at work: layer 2 puts its
 * weight, uniformly, on the rows that agree on the most parents.
 *
 * The SVG shows every head side by side (a column each) on logarithmic colour scales
 * with legends, so that a near-uniform weight over many rows and a near-zero weight
 * elsewhere are both visible. Pure functions: strings in, strings out; the caller writes
 * the file.
 */
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import type { HeadAttention } from "../model/engine.ts";

/** What to draw. */
export interface AttentionView {
  structure: Structure;
  context: Dataset;
  target: number;
  /** The query row (state indices or MISSING; only the target's parents are read). */
  query: ArrayLike<number>;
  /** Every layer's and head's attention of the query (at least one). */
  heads: readonly HeadAttention[];
  /** Index in `heads` of the head whose rows are listed. */
  shown: number;
  /** The model's distribution over the target's states, shown in the caption when given. */
  distribution?: ArrayLike<number>;
}

/** Rendering options. */
export interface AttentionRenderOptions {
  /** Most context rows drawn (default 30). */
  maxRows?: number;
}

/** One head's attention mass by the number of parents agreeing with the query. */
export interface AgreementSummary {
  layer: number;
  head: number;
  /** rows[a]: context rows agreeing with the query on exactly a parents (a = 0..|parents|). */
  rows: number[];
  /** mass[a]: their total attention weight. */
  mass: number[];
  /** Weight of the query on itself (the masses and this sum to 1). */
  self: number;
  /**
   * Total variation between the weights on the rows agreeing on every parent (normalised)
   * and the uniform distribution over those rows; NaN when they carry no weight.
   */
  fullMatchTv: number;
}

type Match = "=" | "x" | "?";

function cell(view: AttentionView, r: number, v: number): number {
  return view.context.data[r * view.context.vars + v]!;
}

function match(view: AttentionView, r: number, p: number): Match {
  const x = cell(view, r, p);
  const q = view.query[p]!;
  if (x === MISSING || q === MISSING) return "?";
  return x === q ? "=" : "x";
}

function parentsOf(view: AttentionView): readonly number[] {
  return view.structure.parents[view.target]!;
}

/**
 * Number of parents of `target` on which each context row agrees with `query` (a MISSING
 * cell, in the row or the query, agrees with nothing).
 */
export function parentAgreements(
  structure: Structure,
  context: Dataset,
  target: number,
  query: ArrayLike<number>,
): Int32Array {
  const ps = structure.parents[target]!;
  const M = context.vars;
  const out = new Int32Array(context.rows);
  for (let r = 0; r < context.rows; r++) {
    let a = 0;
    for (const p of ps) {
      const x = context.data[r * M + p]!;
      if (x !== MISSING && x === query[p]) a++;
    }
    out[r] = a;
  }
  return out;
}

function agreements(view: AttentionView): Int32Array {
  return parentAgreements(view.structure, view.context, view.target, view.query);
}

/** Every head's attention mass by number of agreeing parents, in `view.heads` order. */
export function agreementSummaries(view: AttentionView): AgreementSummary[] {
  const full = parentsOf(view).length;
  const agree = agreements(view);
  return view.heads.map((h) => {
    const rows = new Array<number>(full + 1).fill(0);
    const mass = new Array<number>(full + 1).fill(0);
    for (let r = 0; r < agree.length; r++) {
      rows[agree[r]!]!++;
      mass[agree[r]!]! += h.weights[r]!;
    }
    let tv = 0;
    if (mass[full]! > 0) {
      for (let r = 0; r < agree.length; r++)
        if (agree[r] === full) tv += Math.abs(h.weights[r]! / mass[full]! - 1 / rows[full]!);
      tv /= 2;
    } else tv = NaN;
    return { layer: h.layer, head: h.head, rows, mass, self: h.selfWeight, fullMatchTv: tv };
  });
}

/**
 * The head to list by default: in the last layer, the one with the most mass on the rows
 * agreeing on every parent (ties: the first).
 */
export function defaultShownHead(view: Omit<AttentionView, "shown">): number {
  const summaries = agreementSummaries({ ...view, shown: 0 });
  const lastLayer = Math.max(...view.heads.map((h) => h.layer));
  let best = -1;
  summaries.forEach((s, i) => {
    if (s.layer !== lastLayer) return;
    const full = s.mass[s.mass.length - 1]!;
    if (best < 0 || full > summaries[best]!.mass[summaries[best]!.mass.length - 1]!) best = i;
  });
  return best;
}

interface Selection {
  rows: number[];
  restCount: number;
}

/** The rows drawn: the shown head's heaviest `maxRows`, in context order. */
function selectRows(view: AttentionView, opts: AttentionRenderOptions): Selection {
  const N = view.context.rows;
  const w = view.heads[view.shown]!.weights;
  const max = opts.maxRows ?? 30;
  const byWeight = Array.from({ length: N }, (_, r) => r).sort((a, b) => w[b]! - w[a]! || a - b);
  return {
    rows: byWeight.slice(0, max).sort((a, b) => a - b),
    restCount: Math.max(0, N - max),
  };
}

/** Total weight of `head` on the rows not in `sel`. */
function restWeight(head: HeadAttention, sel: Selection): number {
  const drawn = new Set(sel.rows);
  let sum = 0;
  for (let r = 0; r < head.weights.length; r++) if (!drawn.has(r)) sum += head.weights[r]!;
  return sum;
}

function stateName(s: Structure, v: number, x: number): string {
  return x === MISSING ? "?" : s.variables[v]!.states[x]!;
}

function headName(h: HeadAttention): string {
  return `layer ${h.layer}, head ${h.head}`;
}

function caption(view: AttentionView): string {
  const s = view.structure;
  const t = s.variables[view.target]!;
  const ps = parentsOf(view);
  const q = ps.map((p) => `${s.variables[p]!.name}=${stateName(s, p, view.query[p]!)}`);
  let text = `attention of the query on the context, target ${t.name}`;
  text += ps.length > 0 ? `; query parents ${q.join(" ")}` : " (a root: no parents)";
  if (view.distribution) {
    const d = Array.from(view.distribution, (x, i) => `${t.states[i]}: ${fmt(x)}`);
    text += `; output ${d.join(", ")}`;
  }
  return text;
}

function fmt(x: number): string {
  return x === 0 ? "0" : x >= 1e-4 ? x.toFixed(6) : x.toExponential(2);
}

/** Tick labels: "0.1", "0.042", "1e-3", "1.7e-3". */
function tickLabel(x: number): string {
  if (x >= 0.01) return String(Number(x.toPrecision(2)));
  return x.toExponential(1).replace(".0e", "e");
}

/** Short form for heat cells: 3 decimals, or 2 significant digits below 0.01. */
function short(x: number): string {
  return x === 0 ? "0" : x >= 0.01 ? x.toFixed(3) : x.toExponential(1);
}

function levelName(a: number, full: number): string {
  return `${a} of ${full}`;
}

function padTable(lines: string[][]): string[] {
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines.map((l) =>
    l
      .map((x, c) => x.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
}

/** The attention as text: the shown head's rows, then the summary of every head. */
export function attentionTable(view: AttentionView, opts: AttentionRenderOptions = {}): string {
  const sel = selectRows(view, opts);
  const s = view.structure;
  const shown = view.heads[view.shown]!;
  const parents = parentsOf(view);
  const head = ["row", "weight", ...parents.map((p) => s.variables[p]!.name)];
  head.push(s.variables[view.target]!.name);
  const lines = [head];
  for (const r of sel.rows) {
    lines.push([
      String(r),
      fmt(shown.weights[r]!),
      ...parents.map((p) => match(view, r, p)),
      stateName(s, view.target, cell(view, r, view.target)),
    ]);
  }
  lines.push(["self", fmt(shown.selfWeight), ...parents.map(() => ""), ""]);
  const out = [
    caption(view),
    `rows listed: ${headName(shown)} (= agrees with the query, x differs, ? missing)`,
    ...padTable(lines),
  ];
  if (sel.restCount > 0)
    out.push(`... ${sel.restCount} more rows, total weight ${fmt(restWeight(shown, sel))}`);
  out.push(...summaryTable(view));
  return out.join("\n");
}

/** One line per layer and head: attention mass by number of agreeing parents. */
function summaryTable(view: AttentionView): string[] {
  const summaries = agreementSummaries(view);
  const full = parentsOf(view).length;
  const levels = Array.from({ length: full + 1 }, (_, i) => full - i);
  const first = summaries[0]!;
  const head = [
    "layer",
    "head",
    ...levels.map((a) => `${levelName(a, full)} (${first.rows[a]} rows)`),
    "self",
    `TV to uniform on ${levelName(full, full)}`,
  ];
  const lines = [head];
  for (const x of summaries) {
    lines.push([
      String(x.layer),
      String(x.head),
      ...levels.map((a) => fmt(x.mass[a]!)),
      fmt(x.self),
      Number.isNaN(x.fullMatchTv) ? "-" : fmt(x.fullMatchTv),
    ]);
  }
  // What attention spread evenly over the context and the query itself would give.
  const even = 1 / (view.context.rows + 1);
  lines.push(["uniform", "", ...levels.map((a) => fmt(first.rows[a]! * even)), fmt(even), ""]);
  return ["attention mass by number of parents agreeing with the query:", ...padTable(lines)];
}

function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** ColorBrewer YlGnBu (9 classes): a sequential scale, pale yellow (low) to dark blue (high). */
const RAMP = [
  [255, 255, 217],
  [237, 248, 177],
  [199, 233, 180],
  [127, 205, 187],
  [65, 182, 196],
  [29, 145, 192],
  [34, 94, 168],
  [37, 52, 148],
  [8, 29, 88],
] as const;

/** The ramp's colour at t in [0, 1] (linear in RGB between its classes). */
function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const c = RAMP[i]!.map((a, k) => Math.round(a + (RAMP[i + 1]![k]! - a) * f));
  return `rgb(${c.join(",")})`;
}

/** Most decades a colour scale spans: values below max / 10^6 share the palest colour. */
const SCALE_DECADES = 6;

/** A logarithmic colour scale from `lo` (and below) to `hi`. */
interface LogScale {
  lo: number;
  hi: number;
  /** Position of x on the scale, in [0, 1]. */
  at(x: number): number;
}

/**
 * The scale of `values`: from the smallest positive one (at most 6 decades below the
 * largest, at least 1) to the largest, so near-equal weights read as near-equal.
 */
function logScale(values: readonly number[]): LogScale {
  const positive = values.filter((x) => x > 0);
  const hi = positive.length > 0 ? Math.max(...positive) : 1;
  const lo = Math.min(Math.max(Math.min(...positive, hi), hi / 10 ** SCALE_DECADES), hi / 10);
  const span = Math.log10(hi / lo);
  return { lo, hi, at: (x) => (x <= lo ? 0 : Math.min(1, Math.log10(x / lo) / span)) };
}

/** Orange for agreement: no hue of the heat scale, so the two never read as one. */
const MATCH_FILL: Record<Match, string> = { "=": "#fdd0a2", x: "#eeeeee", "?": "#ffffff" };

const ROW_H = 18;
const CHAR_W = 6.7; // DejaVu Sans Mono 11px is 6.6px a character
const HEAD_W = 60;
const MATCH_W = 56;
const BAR_W = 240;

/**
 * The attention as a standalone SVG: a legend, then one column per layer and head with the
 * weights of the shown head's heaviest rows (and self, and the rest), the parent matches
 * and target values of those rows, and below, every head's mass by agreeing parents. The
 * weights and the masses have a colour scale each (log, legend above each).
 */
export function attentionSvg(view: AttentionView, opts: AttentionRenderOptions = {}): string {
  const sel = selectRows(view, opts);
  const s = view.structure;
  const parents = parentsOf(view);
  const full = parents.length;
  const N = view.context.rows;
  const summaries = agreementSummaries(view);
  const levels = Array.from({ length: full + 1 }, (_, i) => full - i);
  const rows = logScale(
    view.heads.flatMap((h) => [...sel.rows.map((r) => h.weights[r]!), h.selfWeight]),
  );
  const masses = logScale([
    ...summaries.flatMap((x) => [...x.mass, x.self]),
    ...summaries[0]!.rows.map((n) => n / (N + 1)), // the uniform column
    1 / (N + 1),
  ]);

  const levelLabels = levels.map((a) => `${levelName(a, full)} (${summaries[0]!.rows[a]} rows)`);
  const labelW = Math.max(
    56,
    ...[...levelLabels, "TV to uniform"].map((l) => l.length * CHAR_W + 12),
  );
  const headX = (i: number) => 8 + labelW + i * HEAD_W;
  const matchX = headX(view.heads.length) + 8;
  const targetX = matchX + full * MATCH_W;

  const out: string[] = [];
  let right = 0; // the right edge of the widest text so far (start-anchored, estimated)
  const text = (x: number, y: number, t: string, extra = "") => {
    right = Math.max(right, x + t.length * CHAR_W);
    out.push(`<text x="${x}" y="${y}"${extra}>${esc(t)}</text>`);
  };
  const rect = (x: number, y: number, w: number, h: number, fill: string, extra = "") =>
    out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}"${extra}/>`);
  const heatCell = (scale: LogScale, x: number, y: number, w: number) => {
    const t = scale.at(w);
    rect(x, y, HEAD_W - 2, ROW_H - 2, rampColor(t));
    text(x + 4, y + 12, short(w), t > 0.55 ? ' fill="white"' : "");
  };
  const thin = ' stroke="#999" stroke-width="0.5"';
  /** A colour bar at (x, y) with ticks at its ends and decades, and one at `mark` if given. */
  const legendBar = (scale: LogScale, x: number, y: number, mark?: [number, string]) => {
    rect(x, y, BAR_W, 12, "url(#heat)", thin);
    const ticks = new Map<number, string>([
      [scale.lo, `≤${tickLabel(scale.lo)}`],
      [scale.hi, tickLabel(scale.hi)],
    ]);
    for (let e = Math.ceil(Math.log10(scale.lo)); 10 ** e < scale.hi; e++)
      ticks.set(10 ** e, tickLabel(10 ** e));
    const placed: [number, number][] = []; // the labels' extents
    const tick = (v: number, label: string, color = "#555") => {
      const tx = x + scale.at(v) * BAR_W;
      const w = label.length * 5.5; // 9px monospace
      const anchor = tx <= x + 10 ? "start" : tx >= x + BAR_W - 10 ? "end" : "middle";
      const from = anchor === "start" ? tx : anchor === "end" ? tx - w : tx - w / 2;
      if (placed.some(([a, b]) => from < b + 6 && from + w > a - 6)) return; // would overlap
      placed.push([from, from + w]);
      out.push(`<line x1="${tx}" x2="${tx}" y1="${y + 12}" y2="${y + 16}" stroke="${color}"/>`);
      text(tx, y + 26, label, ` text-anchor="${anchor}" font-size="9" fill="${color}"`);
    };
    // Ends first, then the mark, then the decades that still fit.
    tick(scale.lo, ticks.get(scale.lo)!);
    tick(scale.hi, ticks.get(scale.hi)!);
    if (mark && mark[0] > scale.lo && mark[0] < scale.hi) tick(mark[0], mark[1], "#b2182b");
    for (const [v, label] of ticks) tick(v, label);
  };

  // Caption and legend.
  let y = 16;
  text(8, y, caption(view));
  y += 18;
  const listed = view.heads[view.shown]!;
  const scope =
    sel.restCount > 0
      ? `the ${sel.rows.length} heaviest of ${N} rows under ${headName(listed)} (framed)`
      : `all ${N} rows`;
  const rowsLine = `rows: ${scope}, in context order; columns: every layer's heads`;
  text(8, y, rowsLine);
  y += 18;
  const stops = RAMP.map((_, i) => {
    const t = i / (RAMP.length - 1);
    return `<stop offset="${t}" stop-color="${rampColor(t)}"/>`;
  });
  out.push(
    `<defs><linearGradient id="heat" x1="0" x2="1" y1="0" y2="0">${stops.join("")}</linearGradient></defs>`,
  );
  text(8, y, "colour: attention weight, log scale (uniform over the context: 1/(N+1))");
  y += 8;
  legendBar(rows, 8, y, [1 / (N + 1), "uniform"]);
  let mx = 8 + BAR_W + 32;
  for (const [m, what] of [
    ["=", "agrees with the query"],
    ["x", "differs"],
    ["?", "missing"],
  ] as const) {
    rect(mx, y, 14, 14, MATCH_FILL[m], thin);
    text(mx + 4, y + 11, m);
    text(mx + 20, y + 11, what);
    mx += 30 + what.length * CHAR_W;
  }
  y += 40;

  // Column headers.
  const bold = ' font-weight="bold"';
  text(12, y + 12, "row", bold);
  view.heads.forEach((h, i) => {
    text(headX(i) + 4, y + 5, `layer ${h.layer}`, i === view.shown ? bold : "");
    text(headX(i) + 4, y + 17, `head ${h.head}`, i === view.shown ? bold : "");
  });
  parents.forEach((p, c) => text(matchX + c * MATCH_W + 4, y + 12, s.variables[p]!.name, bold));
  text(targetX + 4, y + 12, s.variables[view.target]!.name, bold);
  y += 24;
  const shownTop = y;

  // The rows, self and the rest.
  for (const r of sel.rows) {
    text(12, y + 12, String(r));
    view.heads.forEach((h, i) => heatCell(rows, headX(i), y, h.weights[r]!));
    parents.forEach((p, c) => {
      const m = match(view, r, p);
      rect(matchX + c * MATCH_W, y, MATCH_W - 2, ROW_H - 2, MATCH_FILL[m]);
      text(matchX + c * MATCH_W + 4, y + 12, m);
    });
    text(targetX + 4, y + 12, stateName(s, view.target, cell(view, r, view.target)));
    y += ROW_H;
  }
  text(12, y + 12, "self");
  view.heads.forEach((h, i) => heatCell(rows, headX(i), y, h.selfWeight));
  y += ROW_H;
  if (sel.restCount > 0) {
    text(12, y + 12, `+${sel.restCount} rows`);
    view.heads.forEach((h, i) => text(headX(i) + 4, y + 12, short(restWeight(h, sel))));
    text(matchX + 4, y + 12, "(total weight of the rows not drawn)", ' fill="#555"');
    y += ROW_H;
  }
  out.push(
    `<rect x="${headX(view.shown) - 1}" y="${shownTop - 1}" width="${HEAD_W}" height="${y - shownTop}" fill="none" stroke="#d6604d" stroke-width="1.5"/>`,
  );

  // The summary: mass by number of agreeing parents, per head, on its own scale.
  y += 14;
  text(8, y + 12, "attention mass by number of parents agreeing with the query", bold);
  y += 30;
  text(8, y, "colour: mass, log scale");
  y += 8;
  legendBar(masses, 8, y);
  y += 30;
  // Beside the heads, what attention spread evenly over the context and the query gives.
  const evenX = headX(view.heads.length) + 8;
  const even = 1 / (N + 1);
  text(evenX + 4, y + 10, "uniform", ' fill="#555"');
  y += 14;
  levels.forEach((a, k) => {
    text(12, y + 12, levelLabels[k]!);
    summaries.forEach((x, i) => heatCell(masses, headX(i), y, x.mass[a]!));
    heatCell(masses, evenX, y, summaries[0]!.rows[a]! * even);
    y += ROW_H;
  });
  text(12, y + 12, "self");
  summaries.forEach((x, i) => heatCell(masses, headX(i), y, x.self));
  heatCell(masses, evenX, y, even);
  y += ROW_H;
  text(12, y + 12, "TV to uniform");
  summaries.forEach((x, i) =>
    text(headX(i) + 4, y + 12, Number.isNaN(x.fullMatchTv) ? "-" : short(x.fullMatchTv)),
  );
  text(evenX + HEAD_W + 4, y + 12, `(within the ${levelName(full, full)} rows)`, ' fill="#555"');
  y += ROW_H + 8;

  const width = Math.ceil(Math.max(targetX + 80, right + 12, mx));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="DejaVu Sans Mono, monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
