/**
 * Row-token encoding (the paper's layout: one token per sample row), defined once.
 *
 * Token layout for a structure with M variables of cardinalities d_0..d_{M-1}
 * (S = sum d_m, I = S + 2M + 1), blocks in this order:
 *   [valueOffset[m], +d_m)   one-hot value of variable m (all zero when m is hidden)
 *   hiddenOffset + m         1 when variable m is hidden in this token (a separate channel,
 *                            never a value code), else 0
 *   targetOffset + m         one-hot of the target variable m0
 *   queryFlag                1 on a query token, 0 on a context token
 * Variables keep the structure's index order; "before / after the target" means the
 * structure's stable topological order (`topologicalOrder`), the generation order.
 *
 * Visibility:
 * - query rows show the variables strictly before the target; the target and every later
 *   variable are hidden;
 * - context rows show every variable ("all", the paper's layout and the default) or the
 *   variables up to and including the target ("throughTarget", the authors' trained models);
 * - a MISSING cell is always hidden.
 * The target block of a query token is always set. A context token carries the target
 * one-hot only when every query of the episode has the same target; a context shared by
 * several targets carries none (its tokens then do not depend on the target at all).
 * See docs/encoding.md for a worked example.
 */
import { BnformerError } from "../errors.ts";
import type { Structure } from "../bn/network.ts";
import { cardinalities, topologicalOrder } from "../bn/network.ts";
import type { Dataset } from "../bn/dataset.ts";
import { MISSING } from "../bn/dataset.ts";
import { TOKEN_CONTEXT, TOKEN_PAD, TOKEN_QUERY } from "./spec.ts";

/** Offsets of every block of a token; see the module header. */
export interface TokenLayout {
  /** M: number of variables. */
  readonly vars: number;
  /** d_m: cardinality of each variable. */
  readonly cards: readonly number[];
  /** max_m d_m. */
  readonly maxCard: number;
  /** The topological order that defines "before the target". */
  readonly order: readonly number[];
  /** rank[m]: position of variable m in `order`. */
  readonly rank: readonly number[];
  /** Start of variable m's one-hot value block. */
  readonly valueOffset: readonly number[];
  /** S: total width of the value blocks (they start at 0). */
  readonly valueWidth: number;
  /** Hidden-mask channel of m: hiddenOffset + m. */
  readonly hiddenOffset: number;
  /** Target one-hot channel of m: targetOffset + m. */
  readonly targetOffset: number;
  /** Index of the query flag channel. */
  readonly queryFlag: number;
  /** I: token width. */
  readonly width: number;
}

/** Which variables of a context row are visible (MISSING cells are always hidden). */
export type ContextVisibility = "all" | "throughTarget";

/** Encoding options. */
export interface EncodingOptions {
  /** Default "all": the paper's layout. "throughTarget" needs a single target per episode. */
  contextVisible?: ContextVisibility;
}

/** Defaults of `EncodingOptions`. */
export const defaultEncodingOptions: Required<EncodingOptions> = { contextVisible: "all" };

/** One query: a row (a state index or MISSING per variable) and the variable to predict. */
export interface Query {
  readonly row: ArrayLike<number>;
  readonly target: number;
}

/** Context tokens first (rows in order), then the queries (in order). */
export interface EncodedEpisode {
  /** (T, I) row-major, T = contextTokens + queryTokens. */
  tokens: Float64Array;
  /** (T): TOKEN_CONTEXT or TOKEN_QUERY. */
  kinds: Uint8Array;
  contextTokens: number;
  queryTokens: number;
}

/** Many episodes padded to one length T for training: context, queries, then PAD tokens. */
export interface EncodedBatch {
  /** [B, T, I] row-major. */
  tokens: Float32Array;
  /** [B, T]: TOKEN_CONTEXT, TOKEN_QUERY or TOKEN_PAD. */
  kinds: Uint8Array;
  shape: [number, number, number];
}

/** The token layout of a structure. */
export function tokenLayout(structure: Structure): TokenLayout {
  const cards = cardinalities(structure);
  const M = cards.length;
  const order = topologicalOrder(structure);
  const rank = new Array<number>(M);
  order.forEach((v, i) => (rank[v] = i));
  const valueOffset: number[] = [];
  let S = 0;
  for (const d of cards) {
    valueOffset.push(S);
    S += d;
  }
  return {
    vars: M,
    cards,
    maxCard: Math.max(...cards),
    order,
    rank,
    valueOffset,
    valueWidth: S,
    hiddenOffset: S,
    targetOffset: S + M,
    queryFlag: S + 2 * M,
    width: S + 2 * M + 1,
  };
}

function checkTarget(layout: TokenLayout, target: number, path: string[]): void {
  if (!Number.isInteger(target) || target < 0 || target >= layout.vars) {
    throw new BnformerError(
      "config",
      `target ${target} is not a variable index (expected 0..${layout.vars - 1})`,
      { path },
    );
  }
}

function checkValue(layout: TokenLayout, m: number, x: number, path: string[]): void {
  if (x === MISSING) return;
  if (!Number.isInteger(x) || x < 0 || x >= layout.cards[m]!) {
    throw new BnformerError(
      "data",
      `state ${x} of variable ${m} is out of range (expected 0..${layout.cards[m]! - 1} or MISSING)`,
      { path },
    );
  }
}

/**
 * Writes one token at out[offset .. offset + I): variable m is visible when `visible(m)`
 * and its value is not MISSING. `target` < 0 leaves the target block zero.
 */
function writeToken(
  layout: TokenLayout,
  out: Float64Array | Float32Array,
  offset: number,
  row: ArrayLike<number>,
  visible: (m: number) => boolean,
  target: number,
  isQuery: boolean,
): void {
  for (let m = 0; m < layout.vars; m++) {
    const x = row[m]!;
    if (visible(m) && x !== MISSING) out[offset + layout.valueOffset[m]! + x] = 1;
    else out[offset + layout.hiddenOffset + m] = 1;
  }
  if (target >= 0) out[offset + layout.targetOffset + target] = 1;
  if (isQuery) out[offset + layout.queryFlag] = 1;
}

/** The one target shared by every query, or -1 when they differ (or there are none). */
function sharedTarget(queries: readonly Query[]): number {
  if (queries.length === 0) return -1;
  const t = queries[0]!.target;
  return queries.every((q) => q.target === t) ? t : -1;
}

/**
 * Context rows as tokens (N, I). `target` >= 0 marks the target in every token (and is
 * needed by "throughTarget"); -1 leaves the target block zero. `firstRow`: the number of
 * the context's first row in error messages (a chunk of a longer context).
 */
export function encodeContext(
  layout: TokenLayout,
  context: Dataset,
  opts: EncodingOptions = {},
  target = -1,
  firstRow = 0,
): Float64Array {
  const out = new Float64Array(context.rows * layout.width);
  writeContext(layout, context, opts, target, out, 0, firstRow);
  return out;
}

/** Query tokens (Q, I): the variables before each query's target (in topological order) visible. */
export function encodeQueries(layout: TokenLayout, queries: readonly Query[]): Float64Array {
  const out = new Float64Array(queries.length * layout.width);
  writeQueries(layout, queries, out, 0);
  return out;
}

function writeContext(
  layout: TokenLayout,
  context: Dataset,
  opts: EncodingOptions,
  target: number,
  buf: Float64Array | Float32Array,
  offset: number,
  firstRow = 0,
): void {
  const vis = opts.contextVisible ?? defaultEncodingOptions.contextVisible;
  if (context.vars !== layout.vars) {
    throw new BnformerError(
      "data",
      `context has ${context.vars} columns; the structure has ${layout.vars} variables`,
      { path: ["context"] },
    );
  }
  if (vis === "throughTarget" && target < 0) {
    throw new BnformerError(
      "config",
      'contextVisible "throughTarget" needs one target shared by every query of the episode',
      { path: ["contextVisible"] },
    );
  }
  if (target >= 0) checkTarget(layout, target, ["target"]);
  const I = layout.width;
  const limit = target >= 0 ? layout.rank[target]! : layout.vars;
  const visible = vis === "all" ? () => true : (m: number) => layout.rank[m]! <= limit;
  for (let r = 0; r < context.rows; r++) {
    const row = context.data.subarray(r * context.vars, (r + 1) * context.vars);
    for (let m = 0; m < layout.vars; m++) {
      checkValue(layout, m, row[m]!, ["context", `row ${firstRow + r}`]);
    }
    writeToken(layout, buf, offset + r * I, row, visible, target, false);
  }
}

function writeQueries(
  layout: TokenLayout,
  queries: readonly Query[],
  buf: Float64Array | Float32Array,
  offset: number,
): void {
  const I = layout.width;
  queries.forEach((q, i) => {
    checkTarget(layout, q.target, ["queries", `query ${i}`]);
    if (q.row.length < layout.vars) {
      throw new BnformerError(
        "data",
        `query row has ${q.row.length} entries; expected ${layout.vars}`,
        { path: ["queries", `query ${i}`] },
      );
    }
    const limit = layout.rank[q.target]!;
    const visible = (m: number) => layout.rank[m]! < limit;
    for (let m = 0; m < layout.vars; m++) {
      if (visible(m)) checkValue(layout, m, q.row[m]!, ["queries", `query ${i}`]);
    }
    writeToken(layout, buf, offset + i * I, q.row, visible, q.target, true);
  });
}

/** One episode: context tokens, then one query token per query (several may share the context). */
export function encodeEpisode(
  layout: TokenLayout,
  context: Dataset,
  queries: readonly Query[],
  opts: EncodingOptions = {},
): EncodedEpisode {
  const N = context.rows;
  const Q = queries.length;
  const I = layout.width;
  const tokens = new Float64Array((N + Q) * I);
  writeContext(layout, context, opts, sharedTarget(queries), tokens, 0);
  writeQueries(layout, queries, tokens, N * I);
  const kinds = new Uint8Array(N + Q).fill(TOKEN_CONTEXT);
  kinds.fill(TOKEN_QUERY, N);
  return { tokens, kinds, contextTokens: N, queryTokens: Q };
}

/** Every (row, target) pair, rows outer and targets inner: Q = rows x targets.length. */
export function queriesForTargets(rows: Dataset, targets: readonly number[]): Query[] {
  const out: Query[] = [];
  for (let r = 0; r < rows.rows; r++) {
    const row = rows.data.subarray(r * rows.vars, (r + 1) * rows.vars);
    for (const target of targets) out.push({ row, target });
  }
  return out;
}

/**
 * Episodes encoded into one float32 batch [B, T, I] with kinds [B, T], each padded with
 * PAD tokens (all-zero) to T = `tokens` (default: the longest episode).
 */
export function encodeBatch(
  layout: TokenLayout,
  episodes: readonly { context: Dataset; queries: readonly Query[] }[],
  opts: EncodingOptions & { tokens?: number } = {},
): EncodedBatch {
  const B = episodes.length;
  const longest = episodes.reduce((n, e) => Math.max(n, e.context.rows + e.queries.length), 0);
  const T = opts.tokens ?? longest;
  if (!Number.isInteger(T) || T < longest) {
    throw new BnformerError(
      "config",
      `batch length ${T} is shorter than the longest episode (${longest} tokens)`,
      { path: ["tokens"] },
    );
  }
  const I = layout.width;
  const tokens = new Float32Array(B * T * I);
  const kinds = new Uint8Array(B * T).fill(TOKEN_PAD);
  episodes.forEach((e, b) => {
    const N = e.context.rows;
    writeContext(layout, e.context, opts, sharedTarget(e.queries), tokens, b * T * I);
    writeQueries(layout, e.queries, tokens, (b * T + N) * I);
    kinds.fill(TOKEN_CONTEXT, b * T, b * T + N);
    kinds.fill(TOKEN_QUERY, b * T + N, b * T + N + e.queries.length);
  });
  return { tokens, kinds, shape: [B, T, I] };
}

/** Channel names of a layout, e.g. "A=yes", "hidden A", "target A", "query". */
export function channelNames(structure: Structure, layout: TokenLayout): string[] {
  const names: string[] = [];
  structure.variables.forEach((v) => v.states.forEach((s) => names.push(`${v.name}=${s}`)));
  structure.variables.forEach((v) => names.push(`hidden ${v.name}`));
  structure.variables.forEach((v) => names.push(`target ${v.name}`));
  names.push("query");
  if (names.length !== layout.width) throw new Error("channelNames: layout/structure mismatch");
  return names;
}

/** A text table of tokens: one line per channel, one column per token (for docs and debugging). */
export function formatTokens(
  structure: Structure,
  layout: TokenLayout,
  tokens: ArrayLike<number>,
  kinds: ArrayLike<number>,
): string {
  const names = channelNames(structure, layout);
  const kindName = ["context", "query", "pad"];
  const lines = [["channel", ...Array.from(kinds, (k, t) => `${t}:${kindName[k]!}`)]];
  names.forEach((name, c) => {
    const cells = [name];
    for (let t = 0; t < kinds.length; t++) cells.push(String(tokens[t * layout.width + c]!));
    lines.push(cells);
  });
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines
    .map((l) =>
      l.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  "),
    )
    .join("\n");
}
