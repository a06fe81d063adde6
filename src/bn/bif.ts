/**
 * The BIF grammar (Bayesian Interchange Format): the one home of reading and writing it.
 *
 * Reads the bnlearn dialect (`network unknown {}`, `table` for roots, `(a, b) 0.1, 0.9;`
 * rows) and the older JavaBayes one (quoted names, `probability ( "c" "p1" "p2" )` with no
 * `|`, `property` lines anywhere, full `table`s for nodes with parents, `default`).
 * A `table` (or a `default` of full size) for a node with parents is CHILD-major, the last
 * parent varying fastest: entries [childState][parentConfig]. It is transposed here, and
 * only here, into bnformer's [parentConfig][childState] layout. Rows may come in any order;
 * a `default` of one row fills the rows not listed. Variables keep declaration order,
 * parents keep header order. Every error is a BnformerError with file:line:col: "parse" for
 * syntax and references, "network" (from validateNetwork, located here) for the model.
 *
 * `writeBif` writes the bnlearn dialect with `String(x)` numbers (exact float64 round trip)
 * and quotes every name that is not a plain identifier.
 */
import { BnformerError, relocated } from "../errors.ts";
import type { Network, Structure } from "./network.ts";
import { cardinalities, findCycle, validateNetwork, validateStructure } from "./network.ts";
import { decodeParentConfig, parentStrides } from "./cpt.ts";
import type { BifAst, ProbBlock, Token, ValueList, VarDecl } from "./bif-syntax.ts";
import { at, fail, parseAst, rowCount, rowToken, relexList, tokenLocation } from "./bif-syntax.ts";

interface Resolved {
  /** The text read (value lists point into it). */
  text: string;
  structure: Structure;
  decls: VarDecl[];
  blockOf: (ProbBlock | null)[];
  /** Each variable's number of states. */
  cards: number[];
  /** built[v]: v's CPT and what set each row (set once CPTs are built). */
  built: (BuiltCpt | null)[];
}

export interface BifReadOptions {
  /** Name used in error locations. */
  file?: string;
  /** Rescale rows off by at most RENORMALIZE_TOLERANCE (see network.ts). */
  renormalize?: boolean;
}

/** A network whose variables may lack a probability block (their CPT is null). */
export interface PartialNetwork extends Structure {
  readonly cpts: readonly (Float64Array | null)[];
}

const KEYWORDS = new Set([
  "network",
  "variable",
  "probability",
  "property",
  "type",
  "discrete",
  "table",
  "default",
]);

/** Reads a BIF text into a validated Network (variables in file order). */
export function parseBif(text: string, opts: BifReadOptions = {}): Network {
  return readTables(text, opts, false) as Network;
}

/**
 * Reads a BIF text in which some variables may have no probability block: those get no
 * parents and a null CPT; every CPT present is read and validated as in `parseBif`.
 */
export function parseBifPartial(text: string, opts: BifReadOptions = {}): PartialNetwork {
  return readTables(text, opts, true);
}

/** Reads only variables, states and parents of a BIF text; probability values are skipped. */
export function parseBifStructure(text: string, opts: { file?: string } = {}): Structure {
  const r = resolve(parseAst(text, opts.file), opts.file);
  located(r, opts.file, () => validateStructure(r.structure));
  return r.structure;
}

function readTables(text: string, opts: BifReadOptions, partial: boolean): PartialNetwork {
  const file = opts.file;
  const r = resolve(parseAst(text, file), file);
  // Sizes first: no CPT is allocated before the structure (and its size limit) holds.
  located(r, file, () => validateStructure(r.structure));
  const built = r.blockOf.map((b, v) => (b ? buildCpt(r, v, file) : null));
  const missing = built.indexOf(null);
  if (!partial && missing >= 0) {
    const msg = `variable "${r.structure.variables[missing]!.name}" has no probability block`;
    fail(r.decls[missing]!.nameTok, file, msg);
  }
  r.built = built;
  // validateNetwork needs every CPT: a missing one stands in as uniform and is dropped after.
  const cards = r.cards;
  const cpts = built.map((b, v) => b?.cpt ?? new Float64Array(cards[v]!).fill(1 / cards[v]!));
  const vopts = opts.renormalize === undefined ? {} : { renormalize: opts.renormalize };
  const net = located(r, file, () => validateNetwork({ ...r.structure, cpts }, vopts));
  return { ...r.structure, cpts: net.cpts.map((c, v) => (built[v] ? c : null)) };
}

/** Turns names into indices, checking every reference; a variable may lack a block. */
function resolve(ast: BifAst, file: string | undefined): Resolved {
  if (ast.decls.length === 0) {
    fail(ast.end, file, `no variables: expected at least one "variable" block, found end of file`);
  }
  const index = new Map<string, number>();
  const variables = ast.decls.map((d, i) => {
    const prev = index.get(d.nameTok.text);
    if (prev !== undefined) {
      const msg = `variable "${d.nameTok.text}" is declared twice (first at ${at(ast.decls[prev]!.nameTok)})`;
      fail(d.nameTok, file, msg);
    }
    index.set(d.nameTok.text, i);
    return declaredVariable(d, file);
  });
  const lookup = (t: Token, role: string): number => {
    const v = index.get(t.text);
    if (v !== undefined) return v;
    const known = [...index.keys()];
    const list = known.slice(0, 12).join(", ") + (known.length > 12 ? ", ..." : "");
    fail(t, file, `unknown variable "${t.text}" as ${role}; declared variables: ${list || "none"}`);
  };
  const blockOf: (ProbBlock | null)[] = variables.map(() => null);
  const parents: number[][] = variables.map(() => []);
  for (const b of ast.blocks) {
    const v = lookup(b.child, "the child of a probability block");
    const prev = blockOf[v];
    if (prev) {
      const msg = `a second probability block for "${b.child.text}" (the first is at ${at(prev.kw)})`;
      fail(b.child, file, msg);
    }
    blockOf[v] = b;
    for (const pt of b.parents) {
      const p = lookup(pt, `a parent of "${b.child.text}"`);
      if (p === v) fail(pt, file, `"${pt.text}" is listed as its own parent`);
      if (parents[v]!.includes(p)) fail(pt, file, `parent "${pt.text}" is listed twice`);
      parents[v]!.push(p);
    }
  }
  const structure = { name: ast.name, variables, parents };
  const cards = cardinalities(structure);
  return { text: ast.text, structure, cards, decls: ast.decls, blockOf, built: [] };
}

/** A declared variable, its state count and state names checked. */
function declaredVariable(d: VarDecl, file: string | undefined) {
  const name = d.nameTok.text;
  const states = d.stateToks.map((s) => s.text);
  const count = Number(d.countTok!.text);
  if (count !== states.length) {
    const msg = `variable "${name}" declares ${count} states but lists ${states.length} (${states.join(", ")})`;
    fail(d.countTok!, file, msg);
  }
  const seen = new Set<string>();
  for (const s of d.stateToks) {
    if (seen.has(s.text)) fail(s, file, `state "${s.text}" of "${name}" is listed twice`);
    seen.add(s.text);
  }
  return { name, states };
}

/**
 * Checks the values xs[a, a + n) of the list that starts at token `from`: one of `counts`
 * many, each a number >= 0. Its tokens are read again only to locate an error.
 */
function checkNumbers(
  text: string,
  from: Token,
  xs: readonly number[],
  a: number,
  n: number,
  counts: number[],
  what: string,
  why: string,
  file: string | undefined,
): void {
  if (!counts.includes(n)) {
    const most = Math.max(...counts);
    const { values, end } = relexList(text, from);
    const tok = n > most ? values[most]! : end;
    fail(tok, file, `${what} has ${n} value(s); expected ${counts.join(" or ")} (${why})`);
  }
  for (let i = 0; i < n; i++) {
    const x = xs[a + i]!;
    if (x >= 0) continue;
    const t = relexList(text, from).values[i]!;
    const msg = Number.isNaN(x)
      ? `expected a number, found "${t.text}"`
      : `probability ${t.text} is negative`;
    fail(t, file, msg);
  }
}

/** The values of a table or default, checked as by `checkNumbers`. */
function readNumbers(
  text: string,
  list: ValueList,
  counts: number[],
  what: string,
  why: string,
  file: string | undefined,
): number[] {
  checkNumbers(text, list.kw, list.numbers, 0, list.numbers.length, counts, what, why, file);
  return list.numbers;
}

/** Where a CPT row came from: a row of the block (its index >= 0), or one of these. */
const FROM_NOTHING = -1;
const FROM_FULL = -2;
const FROM_DEFAULT = -3;

/** What buildCpt's steps share about variable v. */
interface CptParts {
  s: Structure;
  v: number;
  b: ProbBlock;
  name: string;
  /** states of v */
  k: number;
  /** parent configurations of v */
  configs: number;
  strides: Int32Array;
  /** [parentConfig, childState] */
  cpt: Float64Array;
  /** what set each CPT row so far: a row index or FROM_* */
  source: Int32Array;
  /** the table, or the default when it has a full table's size */
  full: ValueList | null;
  file: string | undefined;
  text: string;
}

/** The token that set CPT row `config` of a built CPT (for error locations). */
function sourceToken(built: BuiltCpt, config: number): Token | undefined {
  const from = built.source[config];
  const b = built.block;
  if (from === undefined || from === FROM_NOTHING) return undefined;
  if (from === FROM_FULL) return (b.table ?? b.def)?.kw;
  if (from === FROM_DEFAULT) return b.def?.kw;
  return rowToken(b.rows, from);
}

interface BuiltCpt {
  cpt: Float64Array;
  block: ProbBlock;
  source: Int32Array;
}

/** The CPT of v in [parentConfig, childState] layout, from its table, default and rows. */
function buildCpt(r: Resolved, v: number, file: string | undefined): BuiltCpt {
  const s = r.structure;
  const b = r.blockOf[v]!;
  const cards = r.cards;
  const k = cards[v]!;
  const configs = s.parents[v]!.reduce((n, p) => n * cards[p]!, 1);
  const name = s.variables[v]!.name;
  if (b.table && b.def) fail(b.def.kw, file, `"${name}" has both a table and a default; use one`);
  const rows = rowCount(b.rows);
  if (b.table && rows > 0) {
    const msg = `conditional rows cannot be combined with the table at ${at(b.table.kw)}`;
    fail(rowToken(b.rows, 0), file, msg);
  }
  const fullDefault = b.def && configs > 1 && b.def.numbers.length === configs * k;
  const full = b.table ?? (fullDefault ? b.def : null);
  const cpt = new Float64Array(configs * k);
  const source = new Int32Array(configs).fill(FROM_NOTHING);
  const strides = parentStrides(s, v);
  const parts: CptParts = {
    ...{ s, v, b, name, k, configs, strides, cpt, source, full, file },
    text: r.text,
  };
  if (full) readFullTable(parts, full);
  for (let i = 0; i < rows; i++) readRow(parts, i);
  fillDefault(parts, b);
  return { cpt, block: b, source };
}

/** A child-major table, last parent fastest: x[state * configs + config]. */
function readFullTable(c: CptParts, full: ValueList): void {
  const what = `the ${full.kw.text} of "${c.name}"`;
  const why = `${c.configs} parent configuration(s) x ${c.k} states`;
  const x = readNumbers(c.text, full, [c.configs * c.k], what, why, c.file);
  for (let i = 0; i < c.configs; i++) {
    for (let j = 0; j < c.k; j++) c.cpt[i * c.k + j] = x[j * c.configs + i]!;
  }
  c.source.fill(FROM_FULL);
}

/** Conditional row `i` of the block into the CPT. */
function readRow(c: CptParts, i: number): void {
  const ps = c.s.parents[c.v]!;
  const rows = c.b.rows;
  const first = rows.stateStart[i]!;
  const count = rows.stateStart[i + 1]! - first;
  if (count !== ps.length) {
    const names = ps.map((p) => c.s.variables[p]!.name).join(", ") || "no parents";
    const msg = `row lists ${count} parent state(s); expected ${ps.length} (${names})`;
    fail(rowToken(rows, i), c.file, msg);
  }
  let config = 0;
  for (let a = 0; a < count; a++) {
    const pv = c.s.variables[ps[a]!]!;
    const state = rows.states[first + a]!;
    const j = pv.states.indexOf(state);
    if (j < 0) {
      const msg = `unknown state "${state}" of parent "${pv.name}" (states: ${pv.states.join(", ")})`;
      fail(relexList(c.text, rowToken(rows, i)).names[a]!, c.file, msg);
    }
    config += j * c.strides[a]!;
  }
  const prev = c.source[config]!;
  if (prev >= 0) {
    const states = rows.states.slice(first, first + count).join(", ");
    const at0 = at(rowToken(rows, prev));
    fail(rowToken(rows, i), c.file, `the row for (${states}) is listed twice (first at ${at0})`);
  }
  const why = `one per state of "${c.name}"`;
  const start = rows.valueStart[i]!;
  const n = rows.valueStart[i + 1]! - start;
  checkNumbers(
    c.text,
    rowToken(rows, i),
    rows.numbers,
    start,
    n,
    [c.k],
    `the row of "${c.name}"`,
    why,
    c.file,
  );
  for (let j = 0; j < n; j++) c.cpt[config * c.k + j] = rows.numbers[start + j]!;
  c.source[config] = i;
}

/** Fills the rows not listed from a one-row default, or reports the first missing one. */
function fillDefault(c: CptParts, b: ProbBlock): void {
  const def = b.def && b.def !== c.full ? b.def : null;
  const counts = [c.k, c.configs * c.k];
  const why = `one row, or a full table of ${c.configs} parent configuration(s) x ${c.k} states`;
  const x = def
    ? readNumbers(c.text, def, counts, `the default of "${c.name}"`, why, c.file)
    : null;
  const missing = c.source.indexOf(FROM_NOTHING);
  if (missing < 0) return;
  if (!def || !x) {
    const ps = c.s.parents[c.v]!;
    const states = decodeParentConfig(c.s, c.v, missing).map(
      (j, i) => c.s.variables[ps[i]!]!.states[j],
    );
    const count = c.source.filter((t) => t === FROM_NOTHING).length;
    const msg =
      `"${c.name}" lists ${c.configs - count} of ${c.configs} parent configurations; ` +
      `(${states.join(", ")})${count > 1 ? ` and ${count - 1} more are` : " is"} missing and there is no default`;
    fail(b.kw, c.file, msg);
  }
  for (let i = 0; i < c.configs; i++) {
    if (c.source[i] !== FROM_NOTHING) continue;
    c.cpt.set(x, i * c.k);
    c.source[i] = FROM_DEFAULT;
  }
}

/** Runs `check` and re-throws its errors located at the file position they concern. */
function located<T>(r: Resolved, file: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    const path = e.location.path ?? [];
    const s = r.structure;
    let tok: Token | undefined;
    if (path[0] === "cpt" && path.length >= 3) {
      const v = s.variables.findIndex((x) => x.name === path[1]);
      const row = Number(/\d+/.exec(path[2]!)?.[0]);
      const built = r.built[v];
      tok = built ? sourceToken(built, row) : undefined;
    } else if (path[0] === "structure") {
      const cyc = findCycle(s);
      if (cyc.length > 1) {
        const child = cyc[1]!;
        const i = s.parents[child]!.indexOf(cyc[0]!);
        tok = r.blockOf[child]?.parents[i];
      }
    } else if (path.length === 1) {
      tok = r.decls[s.variables.findIndex((x) => x.name === path[0])]?.nameTok;
    }
    if (!tok) throw e;
    throw relocated(e, { ...tokenLocation(tok, file), path });
  }
}

/** A name as written: bare when it is a plain identifier (and no keyword), else quoted. */
function quoteName(s: string): string {
  if (/^[A-Za-z0-9_]+$/.test(s) && !KEYWORDS.has(s)) return s;
  return `"${s.replace(/[\\"\n\r\t]/g, (c) => ESCAPE_OUT[c]!)}"`;
}
const ESCAPE_OUT: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** The network in the bnlearn BIF dialect; `parseBif` reads it back to the identical network. */
export function writeBif(net: Network): string {
  const out = [`network ${quoteName(net.name)} {`, "}"];
  for (const v of net.variables) {
    const states = v.states.map(quoteName).join(", ");
    out.push(
      `variable ${quoteName(v.name)} {`,
      `  type discrete [ ${v.states.length} ] { ${states} };`,
      "}",
    );
  }
  net.variables.forEach((v, i) => {
    const ps = net.parents[i]!;
    const k = v.states.length;
    const cpt = net.cpts[i]!;
    const row = (c: number) => Array.from(cpt.subarray(c * k, (c + 1) * k), String).join(", ");
    const given =
      ps.length > 0 ? ` | ${ps.map((p) => quoteName(net.variables[p]!.name)).join(", ")}` : "";
    out.push(`probability ( ${quoteName(v.name)}${given} ) {`);
    if (ps.length === 0) out.push(`  table ${row(0)};`);
    const configs = cpt.length / k;
    for (let c = 0; ps.length > 0 && c < configs; c++) {
      const states = decodeParentConfig(net, i, c).map(
        (j, pi) => net.variables[ps[pi]!]!.states[j]!,
      );
      out.push(`  (${states.map(quoteName).join(", ")}) ${row(c)};`);
    }
    out.push("}");
  });
  return out.join("\n") + "\n";
}
