/**
 * BIF syntax (used only by bif.ts): the tokenizer and the syntax tree, with every token's
 * 1-based line and column kept for error messages. Names are not resolved here.
 *
 * Tokens: words, quoted strings and the punctuation `{ } ( ) [ ] ; , |`. `//` and `/* *\/`
 * comments, spaces, tabs and CR (so CRLF files read like LF ones) separate tokens. A word is
 * any run of other characters, so unquoted states such as `<5`, `12+`, `Asy/Patch` or `>=7.5`
 * are one token each. Strings take the escapes \" \\ \n \r \t; any other backslash is kept.
 * Numbers stay words here (bif.ts converts them), so a structure-only read can skip them.
 */
import { BnformerError, type ErrorLocation } from "../errors.ts";

export interface Token {
  readonly kind: "word" | "string" | "punct" | "eof";
  /** The word, the punctuation character, or a string's decoded contents. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const PUNCT = "{}()[];,|";
const SPACE = " \t\r\n\f\v";
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", r: "\r", t: "\t" };

/** How a token reads in an error message: `"{"`, `"word"`, `string "x y"`, `end of file`. */
export function describeToken(t: Token): string {
  if (t.kind === "eof") return "end of file";
  return t.kind === "string" ? `string ${JSON.stringify(t.text)}` : JSON.stringify(t.text);
}

/** Splits BIF text into tokens, ending with one "eof" token. */
export function tokenizeBif(text: string, file?: string): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const failAt = (l: number, c: number, msg: string): never =>
    fail({ kind: "eof", text: "", line: l, column: c }, file, msg);
  // Advances i to `to`, counting newlines.
  const skipTo = (to: number) => {
    for (; i < to; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
  };
  while (i < n) {
    const ch = text[i]!;
    const col = i - lineStart + 1;
    if (SPACE.includes(ch)) {
      skipTo(i + 1);
    } else if (ch === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      skipTo(end < 0 ? n : end);
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) failAt(line, col, `unterminated /* comment: expected "*/", found end of file`);
      skipTo(end + 2);
    } else if (PUNCT.includes(ch)) {
      out.push({ kind: "punct", text: ch, line, column: col });
      i++;
    } else if (ch === '"') {
      const end = closingQuote(text, i);
      if (end < 0)
        failAt(line, col, `unterminated string: expected a closing '"', found end of file`);
      out.push({ kind: "string", text: decodeEscapes(text.slice(i + 1, end)), line, column: col });
      skipTo(end + 1);
    } else {
      let j = i + 1;
      while (j < n && !endsWord(text, j)) j++;
      out.push({ kind: "word", text: text.slice(i, j), line, column: col });
      i = j;
    }
  }
  out.push({ kind: "eof", text: "", line, column: i - lineStart + 1 });
  return out;
}

/** Index of the '"' closing the string that opens at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}

function decodeEscapes(raw: string): string {
  return raw.replace(/\\(.)/gs, (m, c: string) => ESCAPES[c] ?? m);
}

function endsWord(text: string, j: number): boolean {
  const c = text[j]!;
  if (SPACE.includes(c) || PUNCT.includes(c) || c === '"') return true;
  return c === "/" && (text[j + 1] === "/" || text[j + 1] === "*");
}

/** A list of numbers (kept as tokens): a table, a default, or a conditional row. */
export interface ValueList {
  kw: Token; // "table", "default", or the row's "("
  values: Token[];
  end: Token; // the ";"
}
/** A conditional row: `(state, ...) values ;`. */
export interface RowEntry extends ValueList {
  states: Token[];
}
/** `variable name { type discrete [ count ] { states } ; }`. */
export interface VarDecl {
  nameTok: Token;
  countTok: Token | null;
  stateToks: Token[];
}
/** `probability ( child | parents ) { ... }`. */
export interface ProbBlock {
  kw: Token;
  child: Token;
  parents: Token[];
  table: ValueList | null;
  def: ValueList | null;
  rows: RowEntry[];
}
/** A whole file, in file order. */
export interface BifAst {
  name: string;
  decls: VarDecl[];
  blocks: ProbBlock[];
  /** The end-of-file token (where "no variables" is reported). */
  end: Token;
}

/** The error location of a token. */
export function tokenLocation(tok: Token, file: string | undefined): ErrorLocation {
  const loc: ErrorLocation = { line: tok.line, column: tok.column };
  return file === undefined ? loc : { file, ...loc };
}

/** Throws a "parse" error located at `tok`. */
export function fail(tok: Token, file: string | undefined, message: string): never {
  throw new BnformerError("parse", message, tokenLocation(tok, file));
}

/** "line:col" of a token, to cite an earlier place in a message. */
export const at = (t: Token): string => `${t.line}:${t.column}`;

/** A cursor over the tokens, with `expect` helpers that say what was wanted. */
class Cursor {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    readonly file: string | undefined,
  ) {}
  peek(): Token {
    return this.toks[this.i]!;
  }
  next(): Token {
    const t = this.toks[this.i]!;
    if (t.kind !== "eof") this.i++;
    return t;
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === "punct" && t.text === p;
  }
  isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === "word" && t.text === w;
  }
  expected(what: string): never {
    fail(this.peek(), this.file, `expected ${what}, found ${describeToken(this.peek())}`);
  }
  punct(p: string, context = ""): Token {
    if (!this.isPunct(p)) this.expected(`"${p}"${context}`);
    return this.next();
  }
  name(what: string): Token {
    const t = this.peek();
    if (t.kind !== "word" && t.kind !== "string") this.expected(what);
    return this.next();
  }
  /** Skips a `property ... ;` statement. */
  property(): void {
    this.next();
    while (!this.isPunct(";")) {
      if (this.peek().kind === "eof" || this.isPunct("}")) this.expected(`";" ending the property`);
      this.next();
    }
    this.next();
  }
  /** Names separated by optional commas, up to (and consuming) `closer`. */
  names(closer: string, what: string, open: Token): Token[] {
    const out: Token[] = [];
    while (!this.isPunct(closer)) {
      out.push(this.name(`${what} or "${closer}" closing the list opened at ${at(open)}`));
      if (this.isPunct(",")) this.next();
    }
    this.next();
    return out;
  }
}

/** Parses BIF text into its syntax tree (names unresolved, numbers as tokens). */
export function parseAst(text: string, file: string | undefined): BifAst {
  const toks = tokenizeBif(text, file);
  const c = new Cursor(toks, file);
  const ast: BifAst = { name: "unknown", decls: [], blocks: [], end: toks[toks.length - 1]! };
  let network: Token | null = null;
  for (;;) {
    const t = c.peek();
    if (t.kind === "eof") return ast;
    if (c.isWord("network")) {
      if (network) fail(t, file, `a second network block (the first is at ${at(network)})`);
      network = t;
      ast.name = parseNetworkBlock(c);
    } else if (c.isWord("variable")) ast.decls.push(parseVariable(c));
    else if (c.isWord("probability")) ast.blocks.push(parseProbability(c));
    else if (c.isWord("property")) c.property();
    else c.expected(`"network", "variable" or "probability"`);
  }
}

function parseNetworkBlock(c: Cursor): string {
  c.next();
  const name = c.name("the network's name").text;
  const open = c.punct("{");
  while (!c.isPunct("}")) {
    if (c.isWord("property")) c.property();
    else c.expected(`"property" or "}" closing the network block opened at ${at(open)}`);
  }
  c.next();
  return name;
}

function parseVariable(c: Cursor): VarDecl {
  c.next();
  const decl: VarDecl = { nameTok: c.name("a variable name"), countTok: null, stateToks: [] };
  const open = c.punct("{");
  let typeTok: Token | null = null;
  while (!c.isPunct("}")) {
    if (c.isWord("property")) {
      c.property();
      continue;
    }
    if (!c.isWord("type"))
      c.expected(`"type", "property" or "}" closing the variable block opened at ${at(open)}`);
    if (typeTok) {
      const msg = `a second type for "${decl.nameTok.text}" (the first is at ${at(typeTok)})`;
      fail(c.peek(), c.file, msg);
    }
    typeTok = c.next();
    parseDiscreteType(c, decl);
  }
  c.next();
  if (!typeTok) {
    const msg = `variable "${decl.nameTok.text}" has no "type discrete [ n ] { ... };" line`;
    fail(decl.nameTok, c.file, msg);
  }
  return decl;
}

/** `discrete [ n ] { s1, s2, ... } ;` after `type` (the final ";" may be left out). */
function parseDiscreteType(c: Cursor, decl: VarDecl): void {
  if (!c.isWord("discrete")) c.expected(`"discrete" (only discrete variables are supported)`);
  c.next();
  c.punct("[");
  const count = c.peek();
  if (count.kind !== "word" || !/^\d+$/.test(count.text)) c.expected("the number of states");
  decl.countTok = c.next();
  c.punct("]");
  decl.stateToks = c.names("}", "a state name", c.punct("{"));
  if (c.isPunct(";")) c.next();
}

function parseProbability(c: Cursor): ProbBlock {
  const kw = c.next();
  const head = c.punct("(");
  const child = c.name("the variable a probability block is for");
  if (c.isPunct("|") || c.isPunct(",")) c.next();
  const parents = c.names(")", "a parent name", head);
  const block: ProbBlock = { kw, child, parents, table: null, def: null, rows: [] };
  const open = c.punct("{");
  for (;;) {
    const t = c.peek();
    if (c.isPunct("}")) break;
    if (c.isWord("property")) c.property();
    else if (c.isWord("table") || c.isWord("default")) {
      const prev = t.text === "table" ? block.table : block.def;
      if (prev)
        fail(t, c.file, `a second "${t.text}" in this block (the first is at ${at(prev.kw)})`);
      c.next();
      const list = { kw: t, ...parseValues(c, `the ${t.text}`) };
      if (t.text === "table") block.table = list;
      else block.def = list;
    } else if (c.isPunct("(")) {
      const states = c.names(")", "a parent state", c.next());
      block.rows.push({ kw: t, states, ...parseValues(c, "the row") });
    } else
      c.expected(
        `"(", "table", "default", "property" or "}" closing the block opened at ${at(open)}`,
      );
  }
  c.next();
  return block;
}

function parseValues(c: Cursor, what: string): { values: Token[]; end: Token } {
  const values: Token[] = [];
  while (!c.isPunct(";")) {
    if (c.peek().kind !== "word") c.expected(`a number or ";" ending ${what}`);
    values.push(c.next());
    if (c.isPunct(",")) c.next();
  }
  return { values, end: c.next() };
}
