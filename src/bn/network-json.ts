/**
 * The bnformer JSON network format, "bnformer-network/1" (documented with an example in
 * docs/network-formats.md):
 *
 *   { "format": "bnformer-network/1", "name": "asia",
 *     "variables": [ { "name": "tub", "states": ["yes", "no"], "parents": ["asia"],
 *                      "cpt": [[0.05, 0.95], [0.01, 0.99]] }, ... ] }
 *
 * Variables keep array order; parents are names, in the order that indexes the CPT rows:
 * one row per parent configuration, mixed-radix over the listed parents with the LAST parent
 * varying fastest (state order as declared), one entry per state. This is bnformer's own
 * CPT layout, so no conversion happens. `parents` may be omitted (a root) and `cpt` may be
 * omitted (a structure-only file, read by `parseNetworkJsonStructure`). Unknown keys are
 * rejected by name; every error names its JSON path (e.g. `variables[3].cpt[2]`).
 */
import { BnformerError, relocated, type ErrorLocation } from "../errors.ts";
import type { Network, Structure } from "./network.ts";
import { cardinalities, validateNetwork, validateStructure } from "./network.ts";
import { parentConfigCount } from "./cpt.ts";

/** The value of the "format" key this module reads and writes. */
export const NETWORK_JSON_FORMAT = "bnformer-network/1";

export interface NetworkJsonReadOptions {
  /** Name used in error locations. */
  file?: string;
  /** Rescale rows off by at most RENORMALIZE_TOLERANCE (see network.ts). */
  renormalize?: boolean;
}

interface RawVariable {
  name: string;
  states: string[];
  parents: string[];
  cpt: unknown;
}
type JsonObject = Record<string, unknown>;

const TOP_KEYS = ["format", "name", "variables"];
const VARIABLE_KEYS = ["name", "states", "parents", "cpt"];

/** Reads a "bnformer-network/1" JSON text into a validated Network. */
export function parseNetworkJson(text: string, opts: NetworkJsonReadOptions = {}): Network {
  const { file } = opts;
  const { structure, raw } = readStructure(text, file);
  const cpts = raw.map((v, i) => readCpt(v.cpt, i, structure, file));
  const vopts = opts.renormalize === undefined ? {} : { renormalize: opts.renormalize };
  return located(structure, file, () => validateNetwork({ ...structure, cpts }, vopts));
}

/** Reads only the variables, states and parents of such a JSON text; `cpt` is ignored. */
export function parseNetworkJsonStructure(text: string, opts: { file?: string } = {}): Structure {
  return readStructure(text, opts.file).structure;
}

/** The network as "bnformer-network/1" JSON, one CPT row per line; numbers round-trip exactly. */
export function writeNetworkJson(net: Network): string {
  const str = (x: unknown) => JSON.stringify(x);
  const inline = (xs: ArrayLike<unknown>) => `[${Array.from(xs, str).join(", ")}]`;
  const vars = net.variables.map((v, i) => {
    const k = v.states.length;
    const cpt = net.cpts[i]!;
    const rows: string[] = [];
    for (let c = 0; c * k < cpt.length; c++) {
      rows.push(`        ${inline(cpt.subarray(c * k, (c + 1) * k))}`);
    }
    const parents = net.parents[i]!.map((p) => net.variables[p]!.name);
    return [
      "    {",
      `      "name": ${str(v.name)},`,
      `      "states": ${inline(v.states)},`,
      `      "parents": ${inline(parents)},`,
      `      "cpt": [\n${rows.join(",\n")}\n      ]`,
      "    }",
    ].join("\n");
  });
  const head = `{\n  "format": ${str(NETWORK_JSON_FORMAT)},\n  "name": ${str(net.name)},\n`;
  return `${head}  "variables": [\n${vars.join(",\n")}\n  ]\n}\n`;
}

function location(file: string | undefined, path: string): ErrorLocation {
  return file === undefined ? { path: [path] } : { file, path: [path] };
}

function fail(file: string | undefined, path: string, message: string): never {
  throw new BnformerError("parse", message, location(file, path));
}

function kindOf(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? "an object" : `${typeof x} ${JSON.stringify(x)}`;
}

function isObject(x: unknown): x is JsonObject {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** JSON.parse, with the line and column of a syntax error when V8 reports its position. */
function parseJsonText(text: string, file: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    // V8 names the position in most messages, not in "Unexpected token ..." ones.
    const m = /at position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : jsonErrorOffset(text);
    const loc: ErrorLocation = file === undefined ? {} : { file };
    if (pos >= 0) {
      const before = text.slice(0, pos).split("\n");
      loc.line = before.length;
      loc.column = before[before.length - 1]!.length + 1;
    }
    throw new BnformerError("parse", `invalid JSON: ${msg}`, loc, { cause: e });
  }
}

/**
 * Offset of the first JSON syntax error in `text` (text.length for an early end), or -1 if
 * it is valid JSON. Iterative, so deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13;) {
      c = text.charCodeAt(++i);
    }
  };
  const str = (): boolean => {
    for (i++; i < n;) {
      const c = text.charCodeAt(i);
      if (c === 34) return ++i > 0;
      if (c < 0x20) return false;
      if (c !== 92) i++;
      else if (text[i + 1] === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
        i += 6;
      } else if (text[i + 1] !== undefined && '"\\/bfnrt'.includes(text[i + 1]!)) i += 2;
      else return false;
    }
    return false;
  };
  const NUM = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const key = (): boolean => {
    ws();
    if (text.charCodeAt(i) !== 34 || !str()) return false;
    ws();
    return text[i] === ":" ? ++i > 0 : false;
  };
  const stack: string[] = []; // the closer each open array or object waits for
  for (;;) {
    ws();
    if (i >= n) return n;
    const c = text[i]!;
    if (c === "{" || c === "[") {
      i++;
      ws();
      const close = c === "{" ? "}" : "]";
      if (text[i] === close) i++;
      else {
        stack.push(close);
        if (close === "}" && !key()) return Math.min(i, n);
        continue;
      }
    } else if (c === '"') {
      if (!str()) return Math.min(i, n);
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUM.lastIndex = i;
      if (!NUM.exec(text)) return i;
      i = NUM.lastIndex;
    } else if (text.startsWith("true", i) || text.startsWith("null", i)) i += 4;
    else if (text.startsWith("false", i)) i += 5;
    else return i;
    // After a value: close what ends here, then a "," before the next value.
    for (;;) {
      ws();
      if (stack.length === 0) return i < n ? i : -1;
      if (i >= n) return n;
      if (text[i] === stack[stack.length - 1]) {
        stack.pop();
        i++;
      } else if (text[i] === ",") {
        i++;
        if (stack[stack.length - 1] === "}" && !key()) return Math.min(i, n);
        break;
      } else return i;
    }
  }
}

function checkKeys(obj: JsonObject, allowed: string[], path: string, file?: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = path === "" ? key : `${path}.${key}`;
      fail(file, where, `unknown key "${key}"; allowed keys: ${allowed.join(", ")}`);
    }
  }
}

function stringArray(x: unknown, path: string, file: string | undefined): string[] {
  if (!Array.isArray(x)) fail(file, path, `expected an array of strings, found ${kindOf(x)}`);
  x.forEach((s, j) => {
    if (typeof s !== "string") fail(file, `${path}[${j}]`, `expected a string, found ${kindOf(s)}`);
  });
  return x as string[];
}

function readVariable(x: unknown, path: string, file: string | undefined): RawVariable {
  if (!isObject(x)) fail(file, path, `expected a variable object, found ${kindOf(x)}`);
  checkKeys(x, VARIABLE_KEYS, path, file);
  if (typeof x.name !== "string" || x.name === "") {
    const found = x.name === undefined ? "nothing" : kindOf(x.name);
    fail(file, `${path}.name`, `expected a non-empty string, found ${found}`);
  }
  if (x.states === undefined) fail(file, `${path}.states`, "missing; list the variable's states");
  const states = stringArray(x.states, `${path}.states`, file);
  const parents = x.parents === undefined ? [] : stringArray(x.parents, `${path}.parents`, file);
  return { name: x.name, states, parents, cpt: x.cpt };
}

/** The document's structure (validated) and its raw variables. */
function readStructure(
  text: string,
  file: string | undefined,
): { structure: Structure; raw: RawVariable[] } {
  const doc = parseJsonText(text, file);
  if (!isObject(doc)) fail(file, "(root)", `expected an object, found ${kindOf(doc)}`);
  checkKeys(doc, TOP_KEYS, "", file);
  if (doc.format !== NETWORK_JSON_FORMAT) {
    const found = doc.format === undefined ? "nothing" : kindOf(doc.format);
    fail(file, "format", `expected "${NETWORK_JSON_FORMAT}", found ${found}`);
  }
  if (doc.name !== undefined && typeof doc.name !== "string") {
    fail(file, "name", `expected a string, found ${kindOf(doc.name)}`);
  }
  if (!Array.isArray(doc.variables)) {
    const found = doc.variables === undefined ? "nothing" : kindOf(doc.variables);
    fail(file, "variables", `expected an array of variables, found ${found}`);
  }
  const raw = doc.variables.map((v, i) => readVariable(v, `variables[${i}]`, file));
  const index = new Map<string, number>();
  raw.forEach((v, i) => {
    const prev = index.get(v.name);
    if (prev !== undefined) {
      fail(file, `variables[${i}].name`, `"${v.name}" is already the name of variables[${prev}]`);
    }
    index.set(v.name, i);
  });
  const parents = raw.map((v, i) =>
    v.parents.map((p, j) => {
      const idx = index.get(p);
      if (idx === undefined) fail(file, `variables[${i}].parents[${j}]`, `unknown variable "${p}"`);
      return idx;
    }),
  );
  const variables = raw.map((v) => ({ name: v.name, states: v.states }));
  const structure: Structure = { name: doc.name ?? "unknown", variables, parents };
  located(structure, file, () => validateStructure(structure));
  return { structure, raw };
}

/** The `cpt` of variable v as [parentConfig, childState], checked for shape and type. */
function readCpt(x: unknown, v: number, s: Structure, file: string | undefined): Float64Array {
  const path = `variables[${v}].cpt`;
  const k = cardinalities(s)[v]!;
  const configs = parentConfigCount(s, v);
  if (x === undefined) {
    fail(
      file,
      path,
      "missing; a network needs every CPT (loadStructure reads structure-only files)",
    );
  }
  if (!Array.isArray(x) || x.length !== configs) {
    const found = Array.isArray(x) ? `${x.length} row(s)` : kindOf(x);
    fail(file, path, `expected ${configs} rows (one per parent configuration), found ${found}`);
  }
  const cpt = new Float64Array(configs * k);
  x.forEach((row: unknown, c) => {
    if (!Array.isArray(row) || row.length !== k) {
      const found = Array.isArray(row) ? `${row.length} number(s)` : kindOf(row);
      fail(file, `${path}[${c}]`, `expected ${k} numbers (one per state), found ${found}`);
    }
    row.forEach((p: unknown, j) => {
      if (typeof p !== "number")
        fail(file, `${path}[${c}][${j}]`, `expected a number, found ${kindOf(p)}`);
      cpt[c * k + j] = p;
    });
  });
  return cpt;
}

/** Runs `check`, re-throwing validator errors with the JSON path they concern. */
function located<T>(s: Structure, file: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof BnformerError) || e.code !== "network") throw e;
    const p = e.location.path ?? [];
    const i = s.variables.findIndex((x) => x.name === (p[0] === "cpt" ? p[1] : p[0]));
    let path = "variables";
    if (p[0] === "cpt" && i >= 0)
      path = `variables[${i}].cpt[${/\d+/.exec(p[2] ?? "")?.[0] ?? ""}]`;
    else if (i >= 0) path = `variables[${i}]`;
    throw relocated(e, location(file, path));
  }
}
