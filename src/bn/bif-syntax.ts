/**
 * BIF syntax (used only by bif.ts): the tokenizer and the syntax tree, with every token's
 * 1-based line and column kept for error messages. Names are not resolved here.
 *
 * Tokens: words, quoted strings and the punctuation `{ } ( ) [ ] ; , |`. `//` and `/* *\/`
 * comments, spaces, tabs and CR (so CRLF files read like LF ones) separate tokens. A word is
 * any run of other characters, so unquoted states such as `<5`, `12+`, `Asy/Patch` or `>=7.5`
 * are one token each. Strings take the escapes \" \\ \n \r \t; any other backslash is kept.
 * The lexer is pulled token by token, and a list of numbers (a table, a default, the
 * conditional rows) is kept as flat arrays of numbers with no token objects: that is what
 * makes a 60 MB file cheap to read. bif.ts checks the values and reads a list's tokens
 * again (`relexList`) only to report an error.
 */
import { BnformerError, type ErrorLocation } from "../errors.ts";

export interface Token {
  readonly kind: "word" | "string" | "punct" | "eof";
  /** The word, the punctuation character, or a string's decoded contents. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
  /** Index of the token's first character in the text. */
  readonly offset: number;
}

// Character classes of the ASCII range; every other character is part of a word.
const WORD = 0;
const SPACE = 1;
const PUNCT = 2;
const QUOTE = 3;
const CLASS = new Uint8Array(128);
for (const ch of " \t\r\n\f\v") CLASS[ch.charCodeAt(0)] = SPACE;
for (const ch of "{}()[];,|") CLASS[ch.charCodeAt(0)] = PUNCT;
CLASS['"'.charCodeAt(0)] = QUOTE;
const NEWLINE = 10;
const SLASH = 47;
const STAR = 42;
const BACKSLASH = 92;
const COMMA = 44;
/** A probability as written in BIF files (no hex, no Infinity, no NaN). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", r: "\r", t: "\t" };

const classOf = (c: number): number => (c < 128 ? CLASS[c]! : WORD);

/** How a token reads in an error message: `"{"`, `"word"`, `string "x y"`, `end of file`. */
export function describeToken(t: Token): string {
  if (t.kind === "eof") return "end of file";
  return t.kind === "string" ? `string ${JSON.stringify(t.text)}` : JSON.stringify(t.text);
}

/**
 * Reads BIF text one token at a time (the parser pulls them, so no token array of the
 * whole file is ever held), ending with "eof" tokens.
 */
export class BifLexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** Lexes `text` from its start, or from the token `from` (which it reads again). */
  constructor(
    readonly text: string,
    readonly file: string | undefined,
    from?: Token,
  ) {
    if (from) {
      this.pos = from.offset;
      this.line = from.line;
      this.lineStart = from.offset - from.column + 1;
    }
  }

  next(): Token {
    const text = this.text;
    const n = text.length;
    this.skipSpaceAndComments();
    const i = this.pos;
    const column = i - this.lineStart + 1;
    if (i >= n) return { kind: "eof", text: "", line: this.line, column, offset: i };
    const c = text.charCodeAt(i);
    const cls = classOf(c);
    if (cls === PUNCT) {
      this.pos = i + 1;
      return { kind: "punct", text: text[i]!, line: this.line, column, offset: i };
    }
    if (cls === QUOTE) {
      const end = closingQuote(text, i);
      if (end < 0)
        this.failAt(column, `unterminated string: expected a closing '"', found end of file`);
      const tok: Token = {
        kind: "string",
        text: decodeEscapes(text.slice(i + 1, end)),
        line: this.line,
        column,
        offset: i,
      };
      this.advanceTo(end + 1);
      return tok;
    }
    const j = wordEnd(text, i);
    this.pos = j;
    return { kind: "word", text: text.slice(i, j), line: this.line, column, offset: i };
  }

  /**
   * The fast path of a number list: reads `word [,] word [,] ...` from here, appending each
   * word's number (NaN if not a number), without making tokens. Stops before
   * anything else (";", a second ",", ...), which the parser then reads as a token.
   */
  scanValues(numbers: number[]): void {
    const text = this.text;
    let afterComma = false;
    for (;;) {
      this.skipSpaceAndComments();
      const i = this.pos;
      if (i >= text.length) return;
      const c = text.charCodeAt(i);
      const cls = classOf(c);
      if (cls === PUNCT) {
        if (c !== COMMA || afterComma) return;
        afterComma = true;
        this.pos = i + 1;
      } else if (cls === WORD) {
        const j = wordEnd(text, i);
        const word = text.slice(i, j);
        numbers.push(NUMBER.test(word) ? Number(word) : NaN);
        afterComma = false;
        this.pos = j;
      } else return;
    }
  }

  private failAt(column: number, msg: string): never {
    fail({ kind: "eof", text: "", line: this.line, column, offset: this.pos }, this.file, msg);
  }

  /** Moves pos to `to`, counting newlines. */
  private advanceTo(to: number): void {
    const text = this.text;
    for (let i = this.pos; i < to; i++) {
      if (text.charCodeAt(i) === NEWLINE) {
        this.line++;
        this.lineStart = i + 1;
      }
    }
    this.pos = to;
  }

  private skipSpaceAndComments(): void {
    const text = this.text;
    const n = text.length;
    let i = this.pos;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === NEWLINE) {
        this.line++;
        this.lineStart = i + 1;
        i++;
      } else if (c < 128 && CLASS[c] === SPACE) {
        i++;
      } else if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
        const end = text.indexOf("\n", i);
        i = end < 0 ? n : end;
      } else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
        const end = text.indexOf("*/", i + 2);
        this.pos = i;
        if (end < 0) {
          this.failAt(
            i - this.lineStart + 1,
            `unterminated /* comment: expected "*/", found end of file`,
          );
        }
        this.advanceTo(end + 2);
        i = this.pos;
      } else break;
    }
    this.pos = i;
  }
}

/** All tokens of a BIF text, ending with one "eof" token (for tests and tools). */
export function tokenizeBif(text: string, file?: string): Token[] {
  const lexer = new BifLexer(text, file);
  const out: Token[] = [];
  for (;;) {
    const t = lexer.next();
    out.push(t);
    if (t.kind === "eof") return out;
  }
}

/** Index just past the word that starts at `i`. */
function wordEnd(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  for (; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c >= 128) continue;
    const cls = CLASS[c]!;
    if (cls !== WORD) break;
    if (c === SLASH) {
      const d = text.charCodeAt(j + 1);
      if (d === SLASH || d === STAR) break;
    }
  }
  return j;
}

/** Index of the '"' closing the string that opens at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === 34) return j;
  }
  return -1;
}

function decodeEscapes(raw: string): string {
  return raw.indexOf("\\") < 0 ? raw : raw.replace(/\\(.)/gs, (m, c: string) => ESCAPES[c] ?? m);
}

/**
 * The tokens of a list that parsed, read again from its first token `from` (a "table" or
 * "default" keyword, or a row's "("): its names (a row's parent states), its values and
 * its ";". Lists keep no tokens, so this is how an error about one of them is located.
 */
export function relexList(
  text: string,
  from: Token,
): { names: Token[]; values: Token[]; end: Token } {
  const lexer = new BifLexer(text, undefined, from);
  const names: Token[] = [];
  const values: Token[] = [];
  let t = lexer.next(); // `from` itself
  if (t.kind === "punct" && t.text === "(") {
    for (t = lexer.next(); !(t.kind === "punct" && t.text === ")"); t = lexer.next()) {
      if (t.kind !== "punct") names.push(t);
    }
  }
  for (t = lexer.next(); !(t.kind === "punct" && t.text === ";"); t = lexer.next()) {
    if (t.kind === "eof") break; // not reached for a list that parsed
    if (t.kind !== "punct") values.push(t);
  }
  return { names, values, end: t };
}

/** A list of numbers: a table or a default (its tokens: `relexList`). */
export interface ValueList {
  kw: Token; // "table" or "default"
  /** Each value as a number: NaN where the word is not a number (bif.ts reports it). */
  numbers: number[];
}
/**
 * A block's conditional rows `(state, ...) values ;`, in flat arrays: a large file has
 * millions of rows, and one object per row and per token is what made it slow to read.
 */
export interface RowList {
  /** Per row: where its "(" is. */
  kwOffset: number[];
  kwLine: number[];
  kwColumn: number[];
  /** Row i's parent states are states[stateStart[i] .. stateStart[i + 1]) (length rows + 1). */
  stateStart: number[];
  states: string[];
  /** Row i's values are numbers[valueStart[i] .. valueStart[i + 1]) (length rows + 1). */
  valueStart: number[];
  numbers: number[];
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
  rows: RowList;
}
/** A whole file, in file order. */
export interface BifAst {
  name: string;
  decls: VarDecl[];
  blocks: ProbBlock[];
  /** The text parsed (value lists point into it). */
  text: string;
  /** The end-of-file token (where "no variables" is reported). */
  end: Token;
}

/** Number of rows of a block. */
export const rowCount = (rows: RowList): number => rows.kwOffset.length;

/** The "(" token of row i. */
export function rowToken(rows: RowList, i: number): Token {
  const offset = rows.kwOffset[i]!;
  return { kind: "punct", text: "(", line: rows.kwLine[i]!, column: rows.kwColumn[i]!, offset };
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

/** A cursor over the tokens (one of lookahead), with `expect` helpers that say what was wanted. */
class Cursor {
  private cur: Token;
  readonly file: string | undefined;
  constructor(readonly lexer: BifLexer) {
    this.file = lexer.file;
    this.cur = lexer.next();
  }
  peek(): Token {
    return this.cur;
  }
  /** Appends the word at the cursor and the run of values after it (`scanValues`). */
  values(numbers: number[]): void {
    const t = this.cur;
    numbers.push(NUMBER.test(t.text) ? Number(t.text) : NaN);
    this.lexer.scanValues(numbers);
    this.cur = this.lexer.next();
  }
  private readonly interned = new Map<string, string>();
  /** One string object per distinct state name, however many rows repeat it. */
  intern(s: string): string {
    const prev = this.interned.get(s);
    if (prev !== undefined) return prev;
    this.interned.set(s, s);
    return s;
  }
  next(): Token {
    const t = this.cur;
    if (t.kind !== "eof") this.cur = this.lexer.next();
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
  const c = new Cursor(new BifLexer(text, file));
  const ast: BifAst = { name: "unknown", decls: [], blocks: [], text, end: c.peek() };
  let network: Token | null = null;
  for (;;) {
    const t = c.peek();
    if (t.kind === "eof") {
      ast.end = t;
      return ast;
    }
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
  const rows: RowList = {
    kwOffset: [],
    kwLine: [],
    kwColumn: [],
    stateStart: [0],
    states: [],
    valueStart: [0],
    numbers: [],
  };
  const block: ProbBlock = { kw, child, parents, table: null, def: null, rows };
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
      const list: ValueList = { kw: t, numbers: [] };
      parseValues(c, `the ${t.text}`, list.numbers);
      if (t.text === "table") block.table = list;
      else block.def = list;
    } else if (c.isPunct("(")) {
      rows.kwOffset.push(t.offset);
      rows.kwLine.push(t.line);
      rows.kwColumn.push(t.column);
      for (const st of c.names(")", "a parent state", c.next())) {
        rows.states.push(c.intern(st.text));
      }
      rows.stateStart.push(rows.states.length);
      parseValues(c, "the row", rows.numbers);
      rows.valueStart.push(rows.numbers.length);
    } else
      c.expected(
        `"(", "table", "default", "property" or "}" closing the block opened at ${at(open)}`,
      );
  }
  c.next();
  return block;
}

/** Appends a list's values to `numbers`, up to and including its ";". */
function parseValues(c: Cursor, what: string, numbers: number[]): void {
  while (!c.isPunct(";")) {
    const t = c.peek();
    if (t.kind !== "word") c.expected(`a number or ";" ending ${what}`);
    c.values(numbers);
  }
  c.next();
}
