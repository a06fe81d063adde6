/**
 * One query's attention over the context rows, as a text table and as an SVG heatmap:
 * one line per context row with its attention weight, whether the row agrees with the
 * query on each parent of the target (= match, x differs, ? missing in the row or the
 * query) and the row's target value. For the construction this shows the counter at work:
 * the weight sits, uniformly, on the rows that agree on the most parents.
 *
 * Long contexts show the `maxRows` heaviest rows (ties: earlier rows), in context order,
 * and one line summarising the rest. Heat colours are relative to the heaviest row.
 * Pure functions: strings in, strings out; the caller writes the file.
 */
import type { Structure } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";

/** What to draw. */
export interface AttentionView {
  structure: Structure;
  context: Dataset;
  target: number;
  /** The query row (state indices or MISSING; only the target's parents are read). */
  query: ArrayLike<number>;
  /** Attention on each context row (length N). */
  weights: ArrayLike<number>;
  /** Attention of the query on itself. */
  selfWeight: number;
  /** The model's distribution over the target's states, shown in the caption when given. */
  distribution?: ArrayLike<number>;
}

/** Rendering options. */
export interface AttentionRenderOptions {
  /** Most context rows drawn (default 30). */
  maxRows?: number;
}

type Match = "=" | "x" | "?";

interface Layout {
  rows: number[];
  restCount: number;
  restWeight: number;
  parents: readonly number[];
  maxWeight: number;
}

/** The rows drawn (heaviest `maxRows`, in context order) and the summary of the others. */
function selectRows(view: AttentionView, opts: AttentionRenderOptions): Layout {
  const N = view.context.rows;
  const max = opts.maxRows ?? 30;
  const byWeight = Array.from({ length: N }, (_, r) => r).sort(
    (a, b) => view.weights[b]! - view.weights[a]! || a - b,
  );
  const rows = byWeight.slice(0, max).sort((a, b) => a - b);
  let restWeight = 0;
  for (const r of byWeight.slice(max)) restWeight += view.weights[r]!;
  let maxWeight = view.selfWeight;
  for (let r = 0; r < N; r++) maxWeight = Math.max(maxWeight, view.weights[r]!);
  return {
    rows,
    restCount: Math.max(0, N - max),
    restWeight,
    parents: view.structure.parents[view.target]!,
    maxWeight,
  };
}

function cell(view: AttentionView, r: number, v: number): number {
  return view.context.data[r * view.context.vars + v]!;
}

function match(view: AttentionView, r: number, p: number): Match {
  const x = cell(view, r, p);
  const q = view.query[p]!;
  if (x === MISSING || q === MISSING) return "?";
  return x === q ? "=" : "x";
}

function stateName(s: Structure, v: number, x: number): string {
  return x === MISSING ? "?" : s.variables[v]!.states[x]!;
}

function caption(view: AttentionView): string {
  const s = view.structure;
  const t = s.variables[view.target]!;
  const ps = s.parents[view.target]!;
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

/** The attention as a text table (one line per drawn row, then self and the rest). */
export function attentionTable(view: AttentionView, opts: AttentionRenderOptions = {}): string {
  const L = selectRows(view, opts);
  const s = view.structure;
  const head = [
    "row",
    "weight",
    ...L.parents.map((p) => s.variables[p]!.name),
    s.variables[view.target]!.name,
  ];
  const lines = [head];
  for (const r of L.rows) {
    lines.push([
      String(r),
      fmt(view.weights[r]!),
      ...L.parents.map((p) => match(view, r, p)),
      stateName(s, view.target, cell(view, r, view.target)),
    ]);
  }
  lines.push(["self", fmt(view.selfWeight), ...L.parents.map(() => ""), ""]);
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const body = lines.map((l) =>
    l
      .map((x, c) => x.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
  const out = [caption(view), "(= agrees with the query, x differs, ? missing)", ...body];
  if (L.restCount > 0) out.push(`... ${L.restCount} more rows, total weight ${fmt(L.restWeight)}`);
  out.push(...agreementSummary(view, L.parents));
  return out.join("\n");
}

/** One line per number of agreeing parents: how many rows, and their total attention. */
function agreementSummary(view: AttentionView, parents: readonly number[]): string[] {
  if (parents.length === 0) return [];
  const rows = new Array<number>(parents.length + 1).fill(0);
  const weight = new Array<number>(parents.length + 1).fill(0);
  for (let r = 0; r < view.context.rows; r++) {
    const agree = parents.filter((p) => match(view, r, p) === "=").length;
    rows[agree]!++;
    weight[agree]! += view.weights[r]!;
  }
  const lines = ["rows by number of parents agreeing with the query:"];
  for (let a = parents.length; a >= 0; a--) {
    if (rows[a]! > 0)
      lines.push(`  ${a} of ${parents.length}: ${rows[a]} rows, total weight ${fmt(weight[a]!)}`);
  }
  return lines;
}

function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** White to dark blue by t in [0, 1]. */
function heat(t: number): string {
  const mix = (a: number, b: number) => Math.round(a + (b - a) * Math.min(1, Math.max(0, t)));
  return `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`;
}

const MATCH_FILL: Record<Match, string> = { "=": "#7fc97f", x: "#eeeeee", "?": "#ffffff" };

/** The attention as a standalone SVG heatmap (rows = context rows). */
export function attentionSvg(view: AttentionView, opts: AttentionRenderOptions = {}): string {
  const L = selectRows(view, opts);
  const s = view.structure;
  const rowH = 18;
  const colW = [56, 96, ...L.parents.map(() => 64), 80];
  const x0 = colW.map((_, i) => 8 + colW.slice(0, i).reduce((a, b) => a + b, 0));
  // Monospace 11px is about 6.7px a character: wide enough for the caption too.
  const width = Math.max(
    x0[x0.length - 1]! + colW[colW.length - 1]! + 8,
    Math.ceil(caption(view).length * 6.7) + 16,
  );
  const lines = L.rows.length + 2 + (L.restCount > 0 ? 1 : 0);
  const height = 44 + lines * rowH + 8;
  const out: string[] = [];
  const text = (x: number, y: number, t: string, extra = "") =>
    out.push(`<text x="${x}" y="${y}"${extra}>${esc(t)}</text>`);
  const rect = (x: number, y: number, w: number, fill: string) =>
    out.push(`<rect x="${x}" y="${y}" width="${w - 2}" height="${rowH - 2}" fill="${fill}"/>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="11">`,
  );
  text(8, 16, caption(view));
  const head = [
    "row",
    "weight",
    ...L.parents.map((p) => s.variables[p]!.name),
    s.variables[view.target]!.name,
  ];
  head.forEach((h, c) => text(x0[c]! + 4, 36, h, ' font-weight="bold"'));
  const drawRow = (i: number, label: string, w: number, marks: Match[], value: string) => {
    const y = 44 + i * rowH;
    text(x0[0]! + 4, y + 12, label);
    rect(x0[1]!, y, colW[1]!, heat(L.maxWeight > 0 ? w / L.maxWeight : 0));
    text(x0[1]! + 4, y + 12, fmt(w), w / L.maxWeight > 0.5 ? ' fill="white"' : "");
    marks.forEach((m, c) => {
      rect(x0[2 + c]!, y, colW[2 + c]!, MATCH_FILL[m]);
      text(x0[2 + c]! + 4, y + 12, m);
    });
    text(x0[x0.length - 1]! + 4, y + 12, value);
  };
  L.rows.forEach((r, i) =>
    drawRow(
      i,
      String(r),
      view.weights[r]!,
      L.parents.map((p) => match(view, r, p)),
      stateName(s, view.target, cell(view, r, view.target)),
    ),
  );
  drawRow(L.rows.length, "self", view.selfWeight, [], "");
  if (L.restCount > 0) {
    text(
      8,
      44 + (L.rows.length + 1) * rowH + 12,
      `... ${L.restCount} more rows, total weight ${fmt(L.restWeight)}`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
