/**
 * The row loop of the ancestral sampler (sample.ts), compiled to WebAssembly for one network
 * structure, with the plan and the threshold layout it reads.
 *
 * Contract (sample.ts states the sampling contract; this file only keeps it fast):
 * - `makePlan(structure)`: variables in topological order, their parents' steps in the
 *   threshold table and each position's block in it.
 * - `fillThresholds`: for one CPT set, threshold x of a table row is the integer
 *   T = ceil((P(0) + ... + P(x)) * 2^32), and 2^32 (never passed) from the last positive state
 *   on, stored as a little-endian uint64 (two uint32 words). A draw r (uint32) passes T exactly
 *   when u = r / 2^32 >= P(0) + ... + P(x): r is an integer, and p * 2^32 and r / 2^32 are exact
 *   in double. The state is the number of thresholds passed, so the rows are those of the
 *   float rule "first x with u < P(0) + ... + P(x)".
 * - `compileKernel(plan, maxRows)`: `run(rows)` (rows <= maxRows) draws rows x M cells with
 *   sfc32 from the four words in `state` (Rng.saveState layout; left advanced), in row-major,
 *   topological-position order, and writes the rows (column = variable) to `out`.
 *
 * Why WebAssembly (bench/results/sampler.md): the same loop generated as JavaScript ran at
 * ~4 ns per cell, the V8 checks per cell (array bounds, int32 overflow, float conversion of the
 * draw) costing as much as the draw. Here sfc32's state lives in locals, the comparison is
 * one uint64 compare, and memory accesses need no checks. Several rows are drawn per loop
 * step and their table lookups interleaved: one row's lookups form a chain (a child's table
 * row depends on its parents' states), and interleaving lets the CPU overlap the chains.
 */
import type { Structure } from "./network.ts";
import { cardinalities, topologicalOrder } from "./network.ts";
import { parentStrides } from "./cpt.ts";

// The part of WebAssembly's JavaScript API used here. Node has it; this project's TypeScript
// lib (ES2023, no DOM) does not declare it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

/** Per topological position i: which variable, its table, and its parents' table steps. */
export interface Plan {
  readonly vars: number;
  readonly variable: Int32Array;
  readonly states: Int32Array;
  /** parents of position i are parentVar[parentStart[i] .. parentStart[i + 1]) */
  readonly parentStart: Int32Array;
  readonly parentVar: Int32Array;
  /** mixed-radix stride of the parent times the child's states: a step in the table */
  readonly parentStep: Int32Array;
  /** start of position i's [configs, states] block in the threshold table of one set */
  readonly tableOffset: Int32Array;
  /** entries of variable v's CPT (configs x states), indexed by variable */
  readonly cptSize: Int32Array;
  readonly tableSize: number;
}

/** The plan of `s`: topological order, parent steps and table offsets. */
export function makePlan(s: Structure): Plan {
  const order = topologicalOrder(s);
  const cards = cardinalities(s);
  const vars = order.length;
  const edges = s.parents.reduce((n, p) => n + p.length, 0);
  const plan = {
    vars,
    variable: Int32Array.from(order),
    states: Int32Array.from(order, (v) => cards[v]!),
    parentStart: new Int32Array(vars + 1),
    parentVar: new Int32Array(edges),
    parentStep: new Int32Array(edges),
    tableOffset: new Int32Array(vars),
    cptSize: Int32Array.from(cards, (k, v) => s.parents[v]!.reduce((n, p) => n * cards[p]!, k)),
    tableSize: 0,
  };
  let e = 0;
  order.forEach((v, i) => {
    const strides = parentStrides(s, v);
    s.parents[v]!.forEach((p, j) => {
      plan.parentVar[e] = p;
      plan.parentStep[e++] = strides[j]! * cards[v]!;
    });
    plan.parentStart[i + 1] = e;
    plan.tableOffset[i] = plan.tableSize;
    plan.tableSize += plan.cptSize[v]!;
  });
  return plan;
}

/** 2^32: a uint32 draw r stands for u = r / 2^32. */
export const TWO_POW_32 = 4294967296;

/**
 * Writes the thresholds of CPT set `set` as uint64 word pairs: table entry e (layout of
 * `plan`) goes to words[2e] (low) and words[2e + 1] (high).
 */
export function fillThresholds(
  plan: Plan,
  cpts: readonly Float64Array[],
  set: number,
  words: Uint32Array,
): void {
  const two32 = TWO_POW_32; // a local: an exported module constant is re-read on every use
  for (let i = 0; i < plan.vars; i++) {
    const k = plan.states[i]!;
    const size = plan.cptSize[plan.variable[i]!]!;
    const src = cpts[plan.variable[i]!]!;
    const end = (set + 1) * size;
    for (let from = set * size, to = 2 * plan.tableOffset[i]!; from < end; from += k, to += 2 * k) {
      let lastPositive = k - 1;
      while (lastPositive > 0 && !(src[from + lastPositive]! > 0)) lastPositive--;
      let sum = 0;
      for (let x = 0; x < lastPositive; x++) {
        sum += src[from + x]!;
        const c = sum * two32; // threshold ceil(c) in [0, 2^32]; NaN: never passed
        const t = c > 0 ? (c < two32 ? Math.ceil(c) : two32) : c <= 0 ? 0 : two32;
        words[to + 2 * x] = t; // stored mod 2^32: the low word
        words[to + 2 * x + 1] = t === two32 ? 1 : 0;
      }
      for (let x = lastPositive; x < k; x++) {
        words[to + 2 * x] = 0; // 2^32: never passed
        words[to + 2 * x + 1] = 1;
      }
    }
  }
}

/** A compiled row loop and the views of its memory. */
export interface Kernel {
  /** sfc32 state words (Rng.saveState layout): read by `run`, left advanced */
  readonly state: Int32Array;
  /** threshold table of the current set, for `fillThresholds` */
  readonly thresholds: Uint32Array;
  /** rows written by the last `run`: [rows, M] */
  readonly out: Uint8Array;
  readonly maxRows: number;
  run(rows: number): void;
}

// WebAssembly opcodes (names as in the spec's text format) and value types.
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i32Store: 0x36,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i64GeU: 0x5a,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32RemU: 0x70,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i64ExtendI32U: 0xad,
} as const;
const VOID = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;

/** Unsigned LEB128, the encoding of counts, sizes, indices and memory offsets. */
function uleb(n: number, out: number[]): void {
  do {
    const low = n & 0x7f;
    n >>>= 7;
    out.push(n !== 0 ? low | 0x80 : low);
  } while (n !== 0);
}

/** Signed LEB128 of an int32, the encoding of i32.const. */
function sleb(n: number, out: number[]): void {
  let rest = n | 0;
  for (;;) {
    const low = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (low & 0x40) === 0) || (rest === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return;
  }
}

/** A function body under construction. */
class Code {
  readonly bytes: number[] = [];
  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  get(local: number): this {
    this.bytes.push(OP.localGet);
    uleb(local, this.bytes);
    return this;
  }
  set(local: number): this {
    this.bytes.push(OP.localSet);
    uleb(local, this.bytes);
    return this;
  }
  tee(local: number): this {
    this.bytes.push(OP.localTee);
    uleb(local, this.bytes);
    return this;
  }
  i32(n: number): this {
    this.bytes.push(OP.i32Const);
    sleb(n, this.bytes);
    return this;
  }
  /** A load or store; `align` is log2 of the access size. */
  mem(op: number, align: number, offset: number): this {
    this.bytes.push(op);
    uleb(align, this.bytes);
    uleb(offset, this.bytes);
    return this;
  }
}

/** Memory layout: sfc32 state, then the threshold table, then the output rows. */
const STATE_AT = 0;
const TABLE_AT = 16;

/** Rows drawn per loop step: enough interleaved lookup chains, few enough locals to spill. */
function rowsPerStep(vars: number): number {
  return vars <= 16 ? 4 : 2;
}

/**
 * Locals: the parameter `rows`, the i32 scalars below, then for each row of a loop step its M
 * states (i32), then for each row its M draws (i64).
 */
const L = { rows: 0, a: 1, b: 2, c: 3, d: 4, r: 5, o: 6, end: 7, stepEnd: 8, t: 9 } as const;
const SCALARS = 9;

/** One sfc32 draw, the same stream as rng.ts's nextUint32, zero-extended into local `x`. */
function emitDraw(f: Code, x: number): void {
  f.get(L.a).get(L.b).op(OP.i32Add).get(L.d).op(OP.i32Add).set(L.r); // r = a + b + d
  f.get(L.d).i32(1).op(OP.i32Add).set(L.d); // d = d + 1
  f.get(L.b).get(L.b).i32(9).op(OP.i32ShrU, OP.i32Xor).set(L.a); // a = b ^ (b >>> 9)
  f.get(L.c).get(L.c).i32(3).op(OP.i32Shl, OP.i32Add).set(L.b); // b = c + (c << 3)
  f.get(L.c).i32(21).op(OP.i32Rotl).get(L.r).op(OP.i32Add).set(L.c); // c = rotl(c, 21) + r
  f.get(L.r).op(OP.i64ExtendI32U).set(x);
}

/**
 * The state of position i in the row at out + rowAt: the number of the table row's thresholds
 * that draw `x` passes; the table row is chosen by the parents' states (locals `state(p)`).
 */
function emitLookup(
  f: Code,
  plan: Plan,
  i: number,
  x: number,
  state: (position: number) => number,
  position: Int32Array,
  rowAt: number,
): void {
  f.i32(TABLE_AT + 8 * plan.tableOffset[i]!);
  for (let e = plan.parentStart[i]!; e < plan.parentStart[i + 1]!; e++) {
    f.get(state(position[plan.parentVar[e]!]!)).i32(8 * plan.parentStep[e]!);
    f.op(OP.i32Mul, OP.i32Add);
  }
  f.set(L.t);
  for (let j = 0; j < plan.states[i]! - 1; j++) {
    f.get(x)
      .get(L.t)
      .mem(OP.i64Load, 3, 8 * j)
      .op(OP.i64GeU);
    if (j > 0) f.op(OP.i32Add);
  }
  f.set(state(i));
  f.get(L.o)
    .get(state(i))
    .mem(OP.i32Store8, 0, rowAt + plan.variable[i]!);
}

/** A loop over rows, `rows` at a time, while o < local `end`: all draws first, in order. */
function emitRowLoop(f: Code, plan: Plan, rows: number, end: number): void {
  const M = plan.vars;
  const position = new Int32Array(M); // variable -> topological position
  plan.variable.forEach((v, i) => (position[v] = i));
  const stateOf = (row: number) => (i: number) => SCALARS + 1 + row * M + i;
  const x = (row: number, i: number) => SCALARS + 1 + rowsPerStep(M) * M + row * M + i;
  f.op(OP.block, VOID).get(L.o).get(end).op(OP.i32GeU, OP.brIf, 0, OP.loop, VOID);
  for (let row = 0; row < rows; row++) for (let i = 0; i < M; i++) emitDraw(f, x(row, i));
  for (let i = 0; i < M; i++) {
    for (let row = 0; row < rows; row++)
      emitLookup(f, plan, i, x(row, i), stateOf(row), position, row * M);
  }
  f.get(L.o)
    .i32(rows * M)
    .op(OP.i32Add)
    .tee(L.o)
    .get(end)
    .op(OP.i32LtU, OP.brIf, 0);
  f.op(OP.end, OP.end);
}

/** The body of run(rows): load the state, loop rows (several per step, then one), store it. */
function kernelBody(plan: Plan, outAt: number): number[] {
  const M = plan.vars;
  const step = rowsPerStep(M);
  const f = new Code();
  [L.a, L.b, L.c, L.d].forEach((l, w) =>
    f
      .i32(STATE_AT)
      .mem(OP.i32Load, 2, 4 * w)
      .set(l),
  );
  f.i32(outAt).set(L.o);
  f.get(L.rows).i32(M).op(OP.i32Mul).i32(outAt).op(OP.i32Add).set(L.end);
  f.get(L.rows).get(L.rows).i32(step).op(OP.i32RemU, OP.i32Sub); // rows - rows % step
  f.i32(M).op(OP.i32Mul).i32(outAt).op(OP.i32Add).set(L.stepEnd);
  emitRowLoop(f, plan, step, L.stepEnd);
  emitRowLoop(f, plan, 1, L.end);
  [L.a, L.b, L.c, L.d].forEach((l, w) =>
    f
      .i32(STATE_AT)
      .get(l)
      .mem(OP.i32Store, 2, 4 * w),
  );
  f.op(OP.end);
  const body: number[] = [];
  uleb(2, body); // two local groups after the parameter: i32 scalars and states, i64 draws
  uleb(SCALARS + step * M, body);
  body.push(I32);
  uleb(step * M, body);
  body.push(I64, ...f.bytes);
  return body;
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

function name(text: string, out: number[]): void {
  uleb(text.length, out);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
}

/** A module importing env.memory (at least `pages`) and exporting run: (i32) -> (). */
function moduleBytes(body: number[], pages: number): Uint8Array {
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
  section(1, [1, 0x60, 1, I32, 0], bytes); // types: one, (i32) -> ()
  const imports = [1];
  name("env", imports);
  name("memory", imports);
  imports.push(0x02, 0x00); // a memory with a minimum only
  uleb(pages, imports);
  section(2, imports, bytes);
  section(3, [1, 0], bytes); // functions: one, of type 0
  const exports = [1];
  name("run", exports);
  exports.push(0x00, 0); // function 0
  section(7, exports, bytes);
  const code = [1];
  uleb(body.length, code);
  code.push(...body);
  section(10, code, bytes);
  return new Uint8Array(bytes);
}

/** The row loop for `plan`, with room for `maxRows` rows of output per run. */
export function compileKernel(plan: Plan, maxRows: number): Kernel {
  const outAt = TABLE_AT + 8 * plan.tableSize;
  const pages = Math.ceil((outAt + maxRows * plan.vars) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages });
  const module = new WebAssembly.Module(moduleBytes(kernelBody(plan, outAt), pages));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const buffer = memory.buffer;
  return {
    state: new Int32Array(buffer, STATE_AT, 4),
    thresholds: new Uint32Array(buffer, TABLE_AT, 2 * plan.tableSize),
    out: new Uint8Array(buffer, outAt, maxRows * plan.vars),
    maxRows,
    run: instance.exports.run as (rows: number) => void,
  };
}
