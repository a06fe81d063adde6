/**
 * Typed checks for JSON read from files. A `Schema<T>` takes an unknown value and where it
 * was found (the file and the field path) and returns it as a T, or throws a "parse"
 * BnformerError that names both, e.g.
 *   runs/x/config.json: field "spec.layers.0.heads": expected an integer >= 1, got "3"
 * Objects reject unknown keys by name and keep the order of their keys as read. Declaring
 * a schema as `Schema<SomeInterface>` makes the compiler check it against the interface.
 */
import { BnformerError, formatLocation } from "./errors.ts";

/** Where a value was found: the file, and the keys (array indices as digits) inside it. */
export interface Place {
  readonly file: string;
  readonly path: readonly string[];
}

export type Schema<T> = (value: unknown, at: Place) => T;

/** A schema whose key may be absent from its object. */
export type OptionalSchema<T> = Schema<T> & { readonly optional: true };

/** `at` one key deeper. */
export function child(at: Place, key: string | number): Place {
  return { file: at.file, path: [...at.path, String(key)] };
}

/** "spec.layers.0.heads", or "" at the top. */
export function fieldName(path: readonly string[]): string {
  return path.join(".");
}

/** A "parse" error at `at`: `file: field "a.b": message` (without the field at the top). */
export function schemaError(at: Place, message: string, cause?: unknown): BnformerError {
  const field = at.path.length > 0 ? `field "${fieldName(at.path)}": ` : "";
  return new BnformerError(
    "parse",
    field + message,
    { file: at.file },
    cause === undefined ? undefined : { cause },
  );
}

/** A "parse" error for a key that is absent: `file: field "a.b" is missing`. */
export function missingField(at: Place): BnformerError {
  return new BnformerError("parse", `field "${fieldName(at.path)}" is missing`, { file: at.file });
}

/** A value for a message: JSON, cut to 60 characters. */
export function shown(v: unknown): string {
  const s = v === undefined ? "undefined" : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function expected(at: Place, what: string, v: unknown): BnformerError {
  return schemaError(at, `expected ${what}, got ${shown(v)}`);
}

interface Range {
  min?: number;
  max?: number;
  /** min itself is excluded. */
  exclusiveMin?: boolean;
}

function rangeText(r: Range): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`${r.exclusiveMin ? ">" : ">="} ${r.min}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return parts.length > 0 ? ` ${parts.join(" and ")}` : "";
}

function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && (r.exclusiveMin ? !(v > r.min) : !(v >= r.min))) return false;
  return r.max === undefined || v <= r.max;
}

/** A finite number within the range. */
export function number(r: Range = {}): Schema<number> {
  return (v, at) => {
    if (typeof v !== "number" || !Number.isFinite(v) || !inRange(v, r))
      throw expected(at, `a finite number${rangeText(r)}`, v);
    return v;
  };
}

/** A safe integer within the range. */
export function integer(r: Range = {}): Schema<number> {
  return (v, at) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || !inRange(v, r))
      throw expected(at, `an integer${rangeText(r)}`, v);
    return v;
  };
}

/** A string; `pattern` (described by `what`) when given. */
export function string(pattern?: RegExp, what = "a string"): Schema<string> {
  return (v, at) => {
    if (typeof v !== "string" || (pattern !== undefined && !pattern.test(v)))
      throw expected(at, what, v);
    return v;
  };
}

export const boolean: Schema<boolean> = (v, at) => {
  if (typeof v !== "boolean") throw expected(at, "true or false", v);
  return v;
};

/** One of the given strings (or other JSON scalars). */
export function literal<const T extends string | number | boolean>(...values: T[]): Schema<T> {
  const what =
    values.length === 1 ? shown(values[0]) : `one of ${values.map((x) => shown(x)).join(", ")}`;
  return (v, at) => {
    if (!(values as unknown[]).includes(v)) throw expected(at, what, v);
    return v as T;
  };
}

/** null or the schema's value. */
export function nullable<T>(s: Schema<T>): Schema<T | null> {
  return (v, at) => (v === null ? null : s(v, at));
}

/** The key may be absent (not null: absent). */
export function optional<T>(s: Schema<T>): OptionalSchema<T> {
  return Object.assign((v: unknown, at: Place) => s(v, at), { optional: true as const });
}

/** An array of items, with at least `minLength` (or exactly `length`) of them. */
export function array<T>(item: Schema<T>, n: { minLength?: number } = {}): Schema<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) throw expected(at, "an array", v);
    if (n.minLength !== undefined && v.length < n.minLength)
      throw expected(at, `an array of at least ${n.minLength} items`, v);
    return v.map((x, i) => item(x, child(at, i)));
  };
}

/** A fixed-length array whose i-th item has the i-th schema. */
export function tuple<T extends unknown[]>(...items: { [K in keyof T]: Schema<T[K]> }): Schema<T> {
  return (v, at) => {
    if (!Array.isArray(v) || v.length !== items.length)
      throw expected(at, `an array of ${items.length} items`, v);
    return items.map((s, i) => s(v[i], child(at, i))) as T;
  };
}

/** Any JSON object (its values unchecked). */
export const jsonObject: Schema<Record<string, unknown>> = (v, at) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw expected(at, "an object", v);
  return v as Record<string, unknown>;
};

type Shape = Record<string, Schema<unknown>>;
type Value<S> = S extends Schema<infer T> ? T : never;
type ObjectOf<S extends Shape> = {
  [K in keyof S as S[K] extends OptionalSchema<unknown> ? never : K]: Value<S[K]>;
} & {
  [K in keyof S as S[K] extends OptionalSchema<unknown> ? K : never]?: Value<S[K]>;
};

/**
 * An object with exactly the shape's keys (optional ones may be absent). A missing key is
 * reported as missing, an unknown one by name; the result keeps the keys' order as read.
 */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return (v, at) => {
    const o = jsonObject(v, at);
    const out: Record<string, unknown> = {};
    for (const [key, s] of Object.entries(shape)) {
      if (key in o) out[key] = s(o[key], child(at, key));
      else if (!("optional" in s)) throw missingField(child(at, key));
    }
    const known = Object.keys(shape);
    for (const key of Object.keys(o)) {
      if (!known.includes(key))
        throw schemaError(child(at, key), `unknown field (expected ${known.join(", ")})`);
    }
    const ordered: Record<string, unknown> = {};
    for (const key of Object.keys(o)) ordered[key] = out[key];
    return ordered as ObjectOf<S>;
  };
}

/** One of several object schemas, chosen by the value of its `key` field (e.g. "kind"). */
export function variant<K extends string, S extends Record<string, Schema<unknown>>>(
  key: K,
  cases: S,
): Schema<Value<S[keyof S]>> {
  const names = Object.keys(cases);
  return (v, at) => {
    const o = jsonObject(v, at);
    const tag = literal(...names)(o[key], child(at, key));
    return cases[tag]!(v, at) as Value<S[keyof S]>;
  };
}

/** `s`, then `check` on its value (a check written for in-memory values, see `checked`). */
export function refine<T>(s: Schema<T>, check: (value: T) => void): Schema<T> {
  return (v, at) => {
    const value = s(v, at);
    checked(at, () => check(value));
    return value;
  };
}

/**
 * Runs a check written for in-memory values (one that throws a BnformerError of another
 * code, e.g. "config") on a value read at `at`, so its failure becomes a "parse" error that
 * names the file and field.
 */
export function checked<T>(at: Place, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof BnformerError) || e.code === "parse") throw e;
    // The check's own location (e.g. "schedule > minLr") stays; a file it named is replaced.
    const { file: _file, ...inner } = e.location;
    throw schemaError(
      at,
      formatLocation(inner) + e.message.slice(formatLocation(e.location).length),
      e,
    );
  }
}
