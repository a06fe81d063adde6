/**
 * The counting loop of batched estimation (batch.ts): an EpisodeCounter adds runs of one
 * episode's context rows to running counts and reads them out at each prefix length. Two
 * implementations, one contract, bit-identical (integer) counts:
 *
 * - `interpretedCounter`: per row, the equality of each cell to the query, then per variable
 *   "matches the parents" (AND over the parent list) and "matches the naive prefix" (a
 *   running AND along the topological order). Small calls, and the tests' reference.
 * - `compiledCounter`: straight-line code generated per structure (integers from the plan
 *   only). Per row it checks once that every cell is a valid state (a row with a MISSING or
 *   bad cell goes to `countIrregularRow`), then adds one to each variable's full family
 *   table [parent configuration, state] and, for the naive counts, one to a histogram of
 *   (first position in topological order where the row differs from the query, state
 *   there). Reading derives the three counts: parents = the query's row of the family
 *   table; marginal = the table's column sums (+ rows whose parent was missing); naive at
 *   state j = rows whose first difference is at v's position with state j, plus, for
 *   j = the query's state, every row whose first difference comes later. One counter
 *   update per variable and row (MLE), plus one per row (naive), instead of two or three
 *   per variable.
 *
 * Counts (K = sum_v k_v, node v's states at offs[v] ..): for each counted row and variable
 * v with state x (not MISSING), parents[offs[v] + x] += 1 when the row equals the query on
 * every parent of v; naive[...] += 1 when it equals the query on every variable before v in
 * topological order; marginal[...] += 1 always. A MISSING cell equals no query value (query
 * values of conditioning variables are valid states: batch.ts checks). A cell >= k_v that
 * is not MISSING stops `add`, which returns its offset (the first such cell in topological
 * order within the first bad row); the counts are then unspecified.
 */
import type { Structure } from "../bn/network.ts";
import { topologicalOrder } from "../bn/network.ts";
import { parentConfigCount, parentConfigIndex, parentStrides } from "../bn/cpt.ts";

/** Sentinel for a cell that is not observed (dataset.ts's MISSING, as a literal for codegen). */
const MISSING_CODE = 255;
/** Bits per word of the row's equality mask (bit 31 stays clear, so ~mask is never 0). */
const WORD = 31;
/** A family with more parent configurations than this sums its column in a loop when read. */
const READ_UNROLL = 32;

/** Loop-invariant tables of one structure. */
export interface CountPlan {
  readonly structure: Structure;
  readonly cards: Int32Array; // M states per variable
  readonly offs: Int32Array; // M + 1 offsets into the K axis; K = offs[M]
  readonly order: Int32Array; // topological order: the naive prefix grows along it
  readonly pstart: Int32Array; // parents of v are plist[pstart[v] .. pstart[v + 1])
  readonly plist: Int32Array;
  /** Family tables: v's [configuration, state] table at fbase[v] (M + 1 entries). */
  readonly fbase: Int32Array;
  /** Per plist entry: the parent's step in v's table (k_v x its configuration stride). */
  readonly fstep: Int32Array;
  readonly naive: boolean; // also count the naive prefix matches
}

/** Destination of one read: [K] counts at `at` of each array (naive null when not counted). */
export interface CountsOut {
  readonly parents: Int32Array;
  readonly naive: Int32Array | null;
  readonly marginal: Int32Array;
}

/** Running counts of one episode at a time. */
export interface EpisodeCounter {
  /** Zeroes the counts; q[qAt .. qAt + M) is the episode's query row. */
  start(q: Uint8Array, qAt: number): void;
  /** Adds rows starting at ctx[from], ctx[from + M], ... < to; -1, or a bad cell's offset. */
  add(ctx: Uint8Array, from: number, to: number): number;
  /** Writes the counts so far into `out` at offset `at` (out.naive set iff the plan's naive). */
  read(out: CountsOut, at: number): void;
}

/** The plan of `structure`'s counts; `naive` adds the naive prefix counts. */
export function makeCountPlan(structure: Structure, naive: boolean): CountPlan {
  const m = structure.variables.length;
  const cards = Int32Array.from(structure.variables, (v) => v.states.length);
  const offs = new Int32Array(m + 1);
  const pstart = new Int32Array(m + 1);
  const fbase = new Int32Array(m + 1);
  const fstep: number[] = [];
  for (let v = 0; v < m; v++) {
    offs[v + 1] = offs[v]! + cards[v]!;
    pstart[v + 1] = pstart[v]! + structure.parents[v]!.length;
    fbase[v + 1] = fbase[v]! + cards[v]! * parentConfigCount(structure, v);
    for (const s of parentStrides(structure, v)) fstep.push(cards[v]! * s);
  }
  return {
    structure,
    cards,
    offs,
    order: Int32Array.from(topologicalOrder(structure)),
    pstart,
    plist: Int32Array.from(structure.parents.flat()),
    fbase,
    fstep: Int32Array.from(fstep),
    naive,
  };
}

/** The counter that interprets the plan (see the module header). */
export function interpretedCounter(plan: CountPlan): EpisodeCounter {
  const m = plan.cards.length;
  const kTot = plan.offs[m]!;
  const cnt = new Int32Array(3 * kTot); // [parents | naive | marginal]
  const eq = new Int32Array(m); // the current row's cell == query cell
  let query: Uint8Array = new Uint8Array(0);
  let qBase = 0;
  return {
    start(q, qAt) {
      cnt.fill(0);
      query = q;
      qBase = qAt;
    },
    add: (ctx, from, to) => interpretRows(plan, cnt, eq, ctx, from, to, query, qBase),
    read(out, at) {
      out.parents.set(cnt.subarray(0, kTot), at);
      out.naive?.set(cnt.subarray(kTot, 2 * kTot), at);
      out.marginal.set(cnt.subarray(2 * kTot), at);
    },
  };
}

/** The interpreted row loop (a plain function: its tables are locals, not closure slots). */
function interpretRows(
  plan: CountPlan,
  cnt: Int32Array,
  eq: Int32Array,
  ctx: Uint8Array,
  from: number,
  to: number,
  q: Uint8Array,
  qAt: number,
): number {
  const { cards, offs, order, pstart, plist, naive } = plan;
  const m = cards.length;
  const kTot = offs[m]!;
  for (let o = from; o < to; o += m) {
    for (let v = 0; v < m; v++) eq[v] = +(ctx[o + v] === q[qAt + v]);
    let prefix = 1;
    for (let r = 0; r < m; r++) {
      const v = order[r]!;
      const x = ctx[o + v]!;
      if (x >= cards[v]!) {
        if (x !== MISSING_CODE) return o + v;
        prefix = 0; // MISSING equals no conditioning value
        continue;
      }
      const j = offs[v]! + x;
      let ok = 1;
      for (let i = pstart[v]!; i < pstart[v + 1]!; i++) ok &= eq[plist[i]!]!;
      cnt[j]! += ok;
      if (naive) cnt[kTot + j]! += prefix;
      cnt[2 * kTot + j]!++;
      prefix &= eq[v]!;
    }
  }
  return -1;
}

/** Running counts of the compiled counter, and its per-episode tables (module header). */
interface FamilyTallies {
  readonly fam: Int32Array; // family tables, fbase[M] entries
  readonly famMissing: Int32Array; // [K] v observed, some parent missing (marginal only)
  readonly hist: Int32Array; // [K] first difference from the query at v's position, state
  readonly histMissing: Int32Array; // [M] first difference at v's position, v MISSING
  readonly posOff: Int32Array; // [M] offs of the variable at each topological position
  readonly posVar: Int32Array; // [M] the variable at each topological position
  readonly qcfg: Int32Array; // [M] the query's configuration of each family
}

/** Compiled row loop: counts rows from `from` to the first irregular one; its offset or -1. */
type RowLoop = (
  ...a: [FamilyTallies, Uint8Array, DataView, number, number, Uint8Array, number]
) => number;
/** Compiled read: writes the three counts of the tallies into `out` at `at`. */
type Read = (t: FamilyTallies, q: Uint8Array, qAt: number, out: CountsOut, at: number) => void;

/** The counter that runs a row loop compiled for the plan (see the module header). */
export function compiledCounter(plan: CountPlan): EpisodeCounter {
  const m = plan.cards.length;
  const kTot = plan.offs[m]!;
  const loop = compileRowLoop(plan);
  const read = compileRead(plan);
  const t: FamilyTallies = {
    fam: new Int32Array(plan.fbase[m]!),
    famMissing: new Int32Array(kTot),
    hist: new Int32Array(kTot),
    histMissing: new Int32Array(m),
    posOff: Int32Array.from(plan.order, (v) => plan.offs[v]!),
    posVar: plan.order,
    qcfg: new Int32Array(m),
  };
  let query: Uint8Array = new Uint8Array(0);
  let qBase = 0;
  let cells: Uint8Array = new Uint8Array(0);
  let view = new DataView(cells.buffer);
  return {
    start(q, qAt) {
      query = q;
      qBase = qAt;
      t.fam.fill(0);
      t.famMissing.fill(0);
      t.hist.fill(0);
      t.histMissing.fill(0);
      const row = q.subarray(qAt, qAt + m);
      for (let v = 0; v < m; v++) t.qcfg[v] = parentConfigIndex(plan.structure, v, row);
    },
    add(ctx, from, to) {
      if (ctx !== cells)
        [cells, view] = [ctx, new DataView(ctx.buffer, ctx.byteOffset, ctx.length)];
      for (let o = from; o < to; o += m) {
        o = loop(t, ctx, view, o, to, query, qBase);
        if (o < 0) return -1;
        const bad = countIrregularRow(plan, t, ctx, o, query, qBase);
        if (bad >= 0) return bad;
      }
      return -1;
    },
    read: (out, at) => read(t, query, qBase, out, at),
  };
}

/**
 * Source of the row loop for the plan: the row's cells as locals (see `cellSource`); one
 * branch on "every cell is a valid state"; one family-table increment per variable with
 * literal offsets and steps; for naive counts, the row's equality mask along the topological
 * order (positions 0..M-2), its lowest zero bit (= first difference, M - 1 if none) and one
 * histogram increment.
 */
function compileRowLoop(plan: CountPlan): RowLoop {
  const { cards, order, plist, pstart, fbase, fstep, naive } = plan;
  const m = cards.length;
  const body = ["const { fam, hist, posOff, posVar } = t;"];
  if (naive) {
    const qs = Array.from(order.subarray(0, m - 1), (v) => `q${v} = q[qAt + ${v}] | 0`);
    if (qs.length > 0) body.push(`const ${qs.join(", ")};`);
  }
  body.push(`for (let o = from; o < to; o += ${m}) {`, ...cellSource(cards));
  for (let v = 0; v < m; v++) {
    const terms = [`${fbase[v]} + x${v}`];
    for (let i = pstart[v]!; i < pstart[v + 1]!; i++) terms.push(`${fstep[i]} * x${plist[i]}`);
    body.push(`  fam[${terms.join(" + ")}]++;`);
  }
  if (naive) body.push(...naiveSource(order));
  body.push("}", "return -1;");
  return new Function("t", "ctx", "dv", "from", "to", "q", "qAt", body.join("\n")) as RowLoop;
}

/**
 * Lines that set x0..x(M-1) to row o's cells and return o unless each is a valid state.
 * With M >= 4 the row is read as little-endian 32-bit words at bytes 0, 4, ... and M - 4
 * (DataView, unaligned; 2.5x cheaper than a byte load per cell, measured) and a cell with a
 * power-of-two cardinality k is checked by masking its bits >= k in its word; other
 * cardinalities are compared. Smaller rows load bytes.
 */
function cellSource(cards: Int32Array): string[] {
  const m = cards.length;
  const lines: string[] = [];
  const checks: string[] = [];
  const pow2 = (k: number) => (k & (k - 1)) === 0;
  if (m < 4) {
    lines.push(`  const ${Array.from(cards, (_, v) => `x${v} = ctx[o + ${v}]`).join(", ")};`);
    cards.forEach((k, v) => checks.push(`+(x${v} >= ${k})`));
  } else {
    const starts: number[] = [];
    for (let b = 0; b + 4 <= m; b += 4) starts.push(b);
    if (m % 4 !== 0) starts.push(m - 4);
    const masks = starts.map(() => 0);
    const cells: string[] = [];
    for (let v = 0; v < m; v++) {
      const w = Math.min(v >> 2, starts.length - 1); // the overlapping last word takes the tail
      const shift = 8 * (v - starts[w]!);
      cells.push(`x${v} = ${shift === 24 ? `w${w} >>> 24` : `(w${w} >>> ${shift}) & 255`}`);
      const k = cards[v]!;
      if (pow2(k)) masks[w]! |= (~(k - 1) & 255) << shift;
      else checks.push(`+(x${v} >= ${k})`);
    }
    lines.push(
      `  const ${starts.map((b, w) => `w${w} = dv.getUint32(o + ${b}, true)`).join(", ")};`,
    );
    lines.push(`  const ${cells.join(", ")};`);
    masks.forEach((mask, w) => mask !== 0 && checks.push(`+((w${w} & ${mask | 0}) !== 0)`));
  }
  lines.push(`  if (${checks.join(" | ")}) return o;`);
  return lines;
}

/** Lines of the row loop that add the row's first difference from the query to `hist`. */
function naiveSource(order: Int32Array): string[] {
  const m = order.length;
  const lines: string[] = [];
  const words = Math.ceil((m - 1) / WORD);
  for (let w = 0; w < words; w++) {
    const bits: string[] = [];
    for (let r = w * WORD; r < Math.min(m - 1, (w + 1) * WORD); r++) {
      const v = order[r]!;
      bits.push(`+(x${v} === q${v}) << ${r - w * WORD}`);
    }
    lines.push(`  const b${w} = ${bits.join(" | ")};`);
  }
  // lowest zero bit of word w: 31 - clz32(~b & (b + 1)); WORD when the word is all ones
  const first = (w: number) => `${w * WORD} + 31 - Math.clz32(~b${w} & (b${w} + 1))`;
  lines.push(`  let r = ${words > 0 ? first(0) : "0"};`);
  for (let w = 1; w < words; w++) lines.push(`  if (r === ${w * WORD}) r = ${first(w)};`);
  lines.push("  hist[posOff[r] + ctx[o + posVar[r]]]++;"); // r <= M - 1: bit M - 1 is never set
  return lines;
}

/**
 * Counts row o, which has a MISSING or bad cell, into the tallies as the module header says:
 * returns a bad cell's offset (first in topological order), else -1.
 */
function countIrregularRow(
  plan: CountPlan,
  t: FamilyTallies,
  ctx: Uint8Array,
  o: number,
  q: Uint8Array,
  qAt: number,
): number {
  const { cards, offs, order, pstart, plist, fbase, fstep, naive } = plan;
  const m = cards.length;
  for (let r = 0; r < m; r++) {
    const v = order[r]!;
    if (ctx[o + v]! >= cards[v]! && ctx[o + v] !== MISSING_CODE) return o + v;
  }
  for (let v = 0; v < m; v++) {
    const x = ctx[o + v]!;
    if (x === MISSING_CODE) continue;
    let at = fbase[v]! + x;
    for (let i = pstart[v]!; i < pstart[v + 1]!; i++) {
      const xp = ctx[o + plist[i]!]!;
      if (xp === MISSING_CODE) {
        at = -1;
        break;
      }
      at += fstep[i]! * xp;
    }
    if (at >= 0) t.fam[at]!++;
    else t.famMissing[offs[v]! + x]!++;
  }
  if (!naive) return -1;
  let r = 0; // first position that differs from the query (a MISSING cell differs), at most M - 1
  while (r < m - 1 && ctx[o + order[r]!] === q[qAt + order[r]!]) r++;
  const x = ctx[o + order[r]!]!;
  if (x !== MISSING_CODE) t.hist[offs[order[r]!]! + x]!++;
  else t.histMissing[order[r]!]!++; // not counted for that variable, but for every earlier one
  return -1;
}

/**
 * Source of the read (straight-line; 3x faster than loops over the plan, measured): parents
 * = the query's row of each family table; marginal = column sums of the table plus
 * famMissing; naive, walking the topological order backwards, = the histogram, plus at the
 * query's state the rows whose first difference is at a later position (`later`).
 */
function compileRead(plan: CountPlan): Read {
  const { cards, offs, order, fbase, naive } = plan;
  const body = [
    "const { fam, famMissing, hist, histMissing, qcfg } = t;",
    "const { parents, naive, marginal } = out;",
    "let r = 0, later = 0, here = 0, qv = 0;",
  ];
  cards.forEach((k, v) => {
    body.push(`r = ${fbase[v]} + qcfg[${v}] * ${k};`);
    for (let j = 0, o = offs[v]!; j < k; j++, o++) {
      body.push(`parents[at + ${o}] = fam[r + ${j}];`);
      const [from, to] = [fbase[v]! + j, fbase[v + 1]!];
      if ((to - from) / k <= READ_UNROLL) {
        const terms = [`famMissing[${o}]`];
        for (let f = from; f < to; f += k) terms.push(`fam[${f}]`);
        body.push(`marginal[at + ${o}] = ${terms.join(" + ")};`);
      } else {
        body.push(`here = famMissing[${o}];`);
        body.push(`for (let f = ${from}; f < ${to}; f += ${k}) here += fam[f];`);
        body.push(`marginal[at + ${o}] = here;`);
      }
    }
  });
  if (naive) {
    for (const v of [...order].reverse()) {
      body.push(`qv = q[qAt + ${v}]; here = histMissing[${v}];`);
      for (let j = 0, o = offs[v]!; j < cards[v]!; j++, o++) {
        body.push(`naive[at + ${o}] = hist[${o}] + (qv === ${j} ? later : 0); here += hist[${o}];`);
      }
      body.push("later += here;");
    }
  }
  return new Function("t", "q", "qAt", "out", "at", body.join("\n")) as Read;
}
