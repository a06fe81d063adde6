/**
 * Delimited text data (CSV, TSV, semicolon or whitespace separated) <-> Dataset.
 *
 * Contract (details and examples in docs/data-format.md):
 * - The first non-blank line is the header: one name per column. Column names are matched
 *   to the structure's variables by exact name; the Dataset's column v is variable v,
 *   whatever the file's column order.
 * - Separator: given, or detected from the header (the most frequent of tab, comma,
 *   semicolon outside quotes; if none, runs of whitespace).
 * - Fields: RFC 4180 quoting ("a,b", "" for a quote, newlines allowed inside quotes);
 *   unquoted fields are trimmed of spaces and tabs; CRLF, LF or CR line ends; a final
 *   newline is optional; a leading BOM is dropped; blank lines are skipped.
 * - Cells: an empty field (or an extra `missing` token) is MISSING; otherwise, by
 *   `cellCoding`, a state name, a 1-based or a 0-based state index.
 * - Every problem is a BnformerError ("parse" for quoting syntax and duplicate header names,
 *   "data" for the rest) located at file:line:column, naming the variable.
 */
import { BnformerError } from "../errors.ts";
import type { ErrorLocation } from "../errors.ts";
import type { Structure, Variable } from "./network.ts";
import type { Dataset } from "./dataset.ts";
import { MISSING } from "./dataset.ts";

/** A field separator; " " means runs of spaces and tabs (and writes one space). */
export type Separator = "," | "\t" | ";" | " ";

/** How a non-empty cell names a state. */
export type CellCoding = "names" | "one-based" | "zero-based";

/** Options of `parseCsv` / `loadCsv`. */
export interface CsvOptions {
  /** File name for error messages. */
  file?: string;
  /** Field separator; "auto" (the default) detects it from the header line. */
  separator?: Separator | "auto";
  /** Header names to skip, e.g. Sachs' "INT". */
  ignoreColumns?: readonly string[];
  /** A header name that is no variable: "error" (default) or "ignore" the column. */
  unknownColumns?: "error" | "ignore";
  /** A cell that is no declared state: "error" (default) or read it as MISSING. */
  undeclaredStates?: "error" | "missing";
  /** "names" (default): cells are state names; "one-based" / "zero-based": state indices. */
  cellCoding?: CellCoding;
  /** Extra cell tokens meaning missing (an empty cell always does), e.g. ["NA", "?"]. */
  missing?: readonly string[];
}

/** One record: its cells, the 1-based column of each, the line it starts on. */
interface TableRecord {
  readonly line: number;
  readonly cells: readonly string[];
  readonly columns: readonly number[];
  /** Column just past the record's last character (for "missing cell" messages). */
  readonly endColumn: number;
}

const [QUOTE, CR, LF, SPACE, TAB] = [34, 13, 10, 32, 9]; // character codes

/** The separator of `text`, guessed from its first non-blank line (quoted text ignored). */
export function detectSeparator(text: string): Separator {
  const header = (/^.*\S.*$/m.exec(text)?.[0] ?? "").replace(/"[^"]*"/g, '""');
  let best: Separator = ",";
  let bestCount = 0;
  for (const sep of ["\t", ",", ";"] as const) {
    const count = header.split(sep).length - 1;
    if (count > bestCount) [best, bestCount] = [sep, count];
  }
  return bestCount === 0 && /\S[ \t]+\S/.test(header) ? " " : best;
}

/**
 * Cursor over delimited text (BOM already removed). `records` calls its sink for every
 * non-blank record; quoted fields may span lines and a record's `line` is where it starts.
 */
class Scanner {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private readonly ws: boolean;
  private readonly sepCode: number;

  constructor(
    private readonly text: string,
    sep: Separator,
    private readonly file: string | undefined,
  ) {
    this.ws = sep === " ";
    this.sepCode = this.ws ? -1 : sep.charCodeAt(0);
  }

  records(sink: (rec: TableRecord) => void): void {
    const { text } = this;
    while (this.i < text.length) {
      const line = this.line;
      const cells: string[] = [];
      const columns: number[] = [];
      const anyQuoted = this.fields(cells, columns);
      const endColumn = this.i - this.lineStart + 1;
      if (text.charCodeAt(this.i) === CR) this.i++;
      if (text.charCodeAt(this.i) === LF) this.i++;
      this.line++;
      this.lineStart = this.i;
      const blank = cells.length === 0 || (cells.length === 1 && cells[0] === "" && !anyQuoted);
      if (!blank) sink({ line, cells, columns, endColumn });
    }
  }

  /** Reads one record's fields up to (not past) its line end; true if any was quoted. */
  private fields(cells: string[], columns: number[]): boolean {
    const { text, ws } = this;
    let anyQuoted = false;
    for (;;) {
      this.skipBlanks();
      const c0 = this.code(this.i);
      if (ws && (c0 === CR || c0 === LF)) return anyQuoted; // " " mode: no empty fields
      columns.push(this.i - this.lineStart + 1);
      if (c0 === QUOTE) {
        anyQuoted = true;
        cells.push(this.quoted());
        if (!ws) this.skipBlanks();
      } else cells.push(this.unquoted());
      const c = this.code(this.i);
      if (c === CR || c === LF) return anyQuoted;
      if (c === this.sepCode) this.i++;
      else if (!(ws && (c === SPACE || c === TAB))) {
        this.fail(`unexpected character ${JSON.stringify(text[this.i])} after a closing quote`);
      }
    }
  }

  private quoted(): string {
    const { text } = this;
    const [openLine, openStart, open] = [this.line, this.lineStart, this.i];
    let value = "";
    let from = ++this.i;
    for (;;) {
      if (this.i >= text.length) {
        [this.line, this.lineStart, this.i] = [openLine, openStart, open];
        this.fail("unterminated quoted field (it opens here)");
      }
      const c = text.charCodeAt(this.i);
      if (c === QUOTE) {
        value += text.slice(from, this.i);
        if (text.charCodeAt(this.i + 1) !== QUOTE) break;
        value += '"';
        this.i += 2;
        from = this.i;
        continue;
      }
      if (c === LF || (c === CR && text.charCodeAt(this.i + 1) !== LF)) {
        this.line++;
        this.lineStart = this.i + 1;
      }
      this.i++;
    }
    this.i++;
    return value;
  }

  private unquoted(): string {
    const { text, ws, sepCode } = this;
    const from = this.i;
    for (; this.i < text.length; this.i++) {
      const c = text.charCodeAt(this.i);
      if (c === sepCode || c === CR || c === LF || (ws && (c === SPACE || c === TAB))) break;
    }
    let to = this.i;
    while (to > from && this.isBlank(text.charCodeAt(to - 1))) to--;
    return text.slice(from, to);
  }

  /** Character code at `at`, or LF past the end (the text ends as if with a line end). */
  private code(at: number): number {
    return at < this.text.length ? this.text.charCodeAt(at) : LF;
  }

  /** Spaces always, tabs unless tab is the separator: trimmed around fields. */
  private isBlank(c: number): boolean {
    return c === SPACE || (c === TAB && this.sepCode !== TAB);
  }

  private skipBlanks(): void {
    while (this.i < this.text.length && this.isBlank(this.text.charCodeAt(this.i))) this.i++;
  }

  private fail(msg: string): never {
    const loc = { line: this.line, column: this.i - this.lineStart + 1 };
    throw new BnformerError("parse", msg, withFile(this.file, loc));
  }
}

function withFile(file: string | undefined, loc: ErrorLocation): ErrorLocation {
  return file === undefined ? loc : { file, ...loc };
}

function checkDuplicateNames(header: TableRecord, file: string | undefined): void {
  const first = new Map<string, number>();
  header.cells.forEach((name, c) => {
    const prev = first.get(name);
    if (prev !== undefined) {
      throw new BnformerError(
        "parse",
        `column "${name}" appears twice in the header (fields ${prev + 1} and ${c + 1})`,
        withFile(file, { line: header.line, column: header.columns[c]! }),
      );
    }
    first.set(name, c);
  });
}

/** Reads delimited text into a Dataset over `structure` (see the module contract). */
export function parseCsv(text: string, structure: Structure, opts: CsvOptions = {}): Dataset {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // drop a BOM
  const sep = opts.separator ?? "auto";
  const separator = sep === "auto" ? detectSeparator(body) : sep;
  const vars = structure.variables.length;
  const lookups = buildLookups(structure, opts);
  let header: TableRecord | undefined;
  let colToVar: Int32Array = new Int32Array(0);
  let data = new Uint8Array(1024 * vars); // grows by doubling
  let rows = 0;
  new Scanner(body, separator, opts.file).records((rec) => {
    if (header === undefined) {
      checkDuplicateNames(rec, opts.file);
      colToVar = mapColumns(rec, structure, opts);
      header = rec;
      return;
    }
    if (rec.cells.length !== header.cells.length) raggedRow(rec, header, opts.file);
    if ((rows + 1) * vars > data.length) {
      const grown = new Uint8Array(Math.max(2 * data.length, (rows + 1) * vars));
      grown.set(data);
      data = grown;
    }
    const base = rows * vars;
    for (let c = 0; c < rec.cells.length; c++) {
      const v = colToVar[c]!;
      if (v < 0) continue;
      const x = lookups[v]!.get(rec.cells[c]!);
      if (x !== undefined) data[base + v] = x;
      else if (opts.undeclaredStates === "missing") data[base + v] = MISSING;
      else undeclaredState(rec, c, structure.variables[v]!, opts);
    }
    rows++;
  });
  if (header === undefined) {
    throw new BnformerError(
      "data",
      "empty file: expected a header line naming the variables",
      withFile(opts.file, { line: 1, column: 1 }),
    );
  }
  return { vars, rows, data: data.slice(0, rows * vars) };
}

/** Per variable: cell token -> state index or MISSING. */
function buildLookups(structure: Structure, opts: CsvOptions): Map<string, number>[] {
  const coding = opts.cellCoding ?? "names";
  return structure.variables.map((variable) => {
    const m = new Map<string, number>();
    variable.states.forEach((name, i) => {
      const token = coding === "names" ? name : coding === "one-based" ? String(i + 1) : String(i);
      m.set(token, i);
    });
    for (const token of opts.missing ?? []) {
      if (m.get(token) === MISSING) continue; // listed twice
      if (m.has(token)) {
        throw new BnformerError(
          "config",
          `missing-value token "${token}" is also a state of variable "${variable.name}"; choose another token`,
          { path: ["missing"] },
        );
      }
      m.set(token, MISSING);
    }
    m.set("", MISSING);
    return m;
  });
}

/** File column -> variable index, or -1 for an ignored column; checks every variable has one. */
function mapColumns(header: TableRecord, structure: Structure, opts: CsvOptions): Int32Array {
  const index = new Map(structure.variables.map((v, i) => [v.name, i]));
  const ignore = new Set(opts.ignoreColumns ?? []);
  const colToVar = new Int32Array(header.cells.length).fill(-1);
  const found = new Set<number>();
  header.cells.forEach((name, c) => {
    const v = index.get(name);
    if (ignore.has(name)) return;
    if (v === undefined) {
      if (opts.unknownColumns === "ignore") return;
      throw new BnformerError(
        "data",
        `column "${name}" is not a variable of network "${structure.name}" ` +
          `(variables: ${structure.variables.map((x) => x.name).join(", ")})`,
        withFile(opts.file, { line: header.line, column: header.columns[c]! }),
        {
          hint: {
            fixes: [
              { option: "ignoreColumns", value: [name] },
              { option: "unknownColumns", value: "ignore" },
            ],
            effect: "to skip it",
          },
        },
      );
    }
    colToVar[c] = v;
    found.add(v);
  });
  structure.variables.forEach((variable, v) => {
    if (found.has(v)) return;
    throw new BnformerError(
      "data",
      `variable "${variable.name}" of network "${structure.name}" has no column ` +
        `(header: ${header.cells.join(", ")})`,
      withFile(opts.file, { line: header.line, column: 1 }),
    );
  });
  return colToVar;
}

function raggedRow(rec: TableRecord, header: TableRecord, file: string | undefined): never {
  const want = header.cells.length;
  const got = rec.cells.length;
  const detail =
    got < want
      ? `no cell for column "${header.cells[got]}"`
      : `cell ${want + 1} is past the last column "${header.cells[want - 1]}"`;
  const column = got < want ? rec.endColumn : rec.columns[want]!;
  throw new BnformerError(
    "data",
    `row has ${got} cells; expected ${want} as in the header: ${detail}`,
    withFile(file, { line: rec.line, column }),
  );
}

function undeclaredState(rec: TableRecord, c: number, variable: Variable, opts: CsvOptions): never {
  const [states, k] = [variable.states.join(", "), variable.states.length];
  const coding = opts.cellCoding ?? "names";
  const codes = coding === "one-based" ? `1..${k}` : `0..${k - 1}`;
  const declared =
    coding === "names"
      ? `declared states: ${states}`
      : `${coding} codes ${codes} stand for ${states}`;
  throw new BnformerError(
    "data",
    `variable "${variable.name}": "${rec.cells[c]}" is not a declared state (${declared})`,
    withFile(opts.file, { line: rec.line, column: rec.columns[c]! }),
    {
      hint: {
        fixes: [
          { option: "missing", value: [rec.cells[c]!] },
          { option: "undeclaredStates", value: "missing" },
        ],
        effect: "to read such cells as missing",
      },
    },
  );
}

/** Options of `writeCsv`. */
export interface WriteCsvOptions {
  /** Field separator (default ","); " " writes one space. */
  separator?: Separator;
}

/** The dataset as delimited text: a header of variable names, state names, empty = MISSING. */
export function writeCsv(structure: Structure, data: Dataset, opts: WriteCsvOptions = {}): string {
  const sep = opts.separator ?? ",";
  const vars = structure.variables.length;
  if (data.vars !== vars) {
    throw new BnformerError(
      "data",
      `dataset has ${data.vars} columns; network "${structure.name}" has ${vars} variables`,
    );
  }
  const q = (s: string) => quoteField(s, sep);
  const lines = [structure.variables.map((v) => q(v.name)).join(sep)];
  const cellText = structure.variables.map((v) => v.states.map(q));
  const missing = sep === " " ? '""' : ""; // " " mode has no empty unquoted cells
  const cells = new Array<string>(vars);
  for (let r = 0; r < data.rows; r++) {
    for (let v = 0; v < vars; v++) {
      const x = data.data[r * vars + v]!;
      if (x === MISSING) cells[v] = missing;
      else if (x < cellText[v]!.length) cells[v] = cellText[v]![x]!;
      else {
        const variable = structure.variables[v]!;
        throw new BnformerError(
          "data",
          `state index ${x} is out of range; "${variable.name}" has ${variable.states.length} states`,
          { path: [`row ${r}`, variable.name] },
        );
      }
    }
    lines.push(cells.join(sep));
  }
  return lines.join("\n") + "\n";
}

/**
 * The field, quoted when empty or holding a quote, a line break, edge spaces, the separator or
 * any other separator character (so that reading the file back detects its separator).
 */
function quoteField(s: string, sep: Separator): string {
  const needs =
    s === "" || /[",;\t\r\n]/.test(s) || /^ | $/.test(s) || (sep === " " && s.includes(" "));
  return needs ? `"${s.replaceAll('"', '""')}"` : s;
}
