/**
 * Flag parsing for every command: one declarative option table per command gives the
 * parser, the validation and the --help text, so they cannot drift apart. Unknown flags
 * are rejected by name; numbers are checked at this boundary.
 */
import { parseArgs } from "node:util";
import { BnformerError } from "../errors.ts";

export type OptionKind = "string" | "int" | "number" | "boolean" | "choice";

export interface OptionDef {
  readonly kind: OptionKind;
  readonly help: string;
  readonly short?: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  readonly required?: boolean;
  /** Lower bound for int/number (inclusive unless `exclusiveMin`). */
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  /** Upper bound for int/number (inclusive). */
  readonly max?: number;
  readonly placeholder?: string;
}

export interface CommandDef {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionDef>>;
  /** Positional arguments: names, for help text and count checking. */
  readonly positionals?: readonly string[];
  readonly examples?: readonly string[];
  /** Lines printed after the options in --help. */
  readonly notes?: readonly string[];
}

export type ParsedValue = string | number | boolean | undefined;

export interface Parsed {
  readonly values: Readonly<Record<string, ParsedValue>>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

const usageError = (cmd: string, msg: string) =>
  new BnformerError("config", `${msg} (see "bnformer ${cmd} --help")`);

/** Parses argv for `def`; throws a "config" error naming the bad flag and value. */
export function parseCommandArgs(def: CommandDef, argv: readonly string[]): Parsed {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(def.options)) {
    options[name] = {
      type: o.kind === "boolean" ? "boolean" : "string",
      ...(o.short ? { short: o.short } : {}),
    };
  }
  let raw: ReturnType<typeof parseArgs>;
  try {
    raw = parseArgs({
      args: joinNegativeNumbers(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw usageError(
      def.name,
      (e as Error).message.split("\n")[0]!.replace(/\. To specify.*$/, ""),
    );
  }
  const help = raw.values.help === true;
  const values: Record<string, ParsedValue> = {};
  for (const [name, o] of Object.entries(def.options)) {
    const given = raw.values[name] as string | boolean | undefined;
    if (given === undefined) {
      if (o.required && !help) throw usageError(def.name, `missing required flag --${name}`);
      values[name] = o.default;
      continue;
    }
    values[name] = convert(def.name, name, o, given);
  }
  const expected = def.positionals?.length ?? 0;
  if (!help && raw.positionals.length !== expected) {
    const names = def.positionals?.join(" ") ?? "";
    throw usageError(
      def.name,
      `expected ${expected} positional argument(s)${names ? ` (${names})` : ""}, got ${raw.positionals.length}`,
    );
  }
  return { values, positionals: raw.positionals, help };
}

/** `--n -3` becomes `--n=-3`, so a negative number reaches validation instead of confusing parseArgs. */
function joinNegativeNumbers(
  argv: readonly string[],
  options: Record<string, { type: string }>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (
      a.startsWith("--") &&
      options[a.slice(2)]?.type === "string" &&
      next !== undefined &&
      /^-\d/.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function convert(cmd: string, name: string, o: OptionDef, given: string | boolean): ParsedValue {
  if (o.kind === "boolean") return given;
  const s = String(given);
  if (o.kind === "string") return s;
  if (o.kind === "choice") {
    if (!o.choices!.includes(s))
      throw usageError(cmd, `--${name} must be one of ${o.choices!.join(", ")}; got "${s}"`);
    return s;
  }
  const x = Number(s);
  if (s.trim() === "" || !Number.isFinite(x))
    throw usageError(cmd, `--${name} must be a number; got "${s}"`);
  if (o.kind === "int" && !Number.isInteger(x))
    throw usageError(cmd, `--${name} must be an integer; got "${s}"`);
  // Past 2^53 integers are not exact: 99999999999999999999 reads as 100000000000000000000.
  if (o.kind === "int" && !Number.isSafeInteger(x))
    throw usageError(cmd, `--${name} must be an integer of magnitude below 2^53; got "${s}"`);
  if (o.min !== undefined && (o.exclusiveMin ? x <= o.min : x < o.min)) {
    throw usageError(cmd, `--${name} must be ${o.exclusiveMin ? ">" : ">="} ${o.min}; got ${s}`);
  }
  if (o.max !== undefined && x > o.max)
    throw usageError(cmd, `--${name} must be <= ${o.max}; got ${s}`);
  return x;
}

const MAX_FLAG_COLUMN = 30;

/** The --help text of a command, generated from its option table. */
export function formatHelp(def: CommandDef): string {
  const lines = [`${def.summary}`, "", `usage: ${def.usage}`, "", "options:"];
  const entries = Object.entries(def.options).map(([name, o]) => {
    const ph =
      o.kind === "boolean"
        ? ""
        : ` ${o.placeholder ?? (o.kind === "choice" ? o.choices!.join("|") : o.kind.toUpperCase())}`;
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${ph}`;
    const extra = [
      o.required ? "required" : "",
      o.default !== undefined ? `default ${String(o.default)}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    return [flag, o.help + (extra ? ` (${extra})` : "")] as const;
  });
  entries.push(["-h, --help", "show this help"]);
  // Long flags put their help on the next line so one wide flag does not push every column.
  const width = Math.min(MAX_FLAG_COLUMN, Math.max(...entries.map(([f]) => f.length)) + 2);
  for (const [f, h] of entries) {
    if (f.length + 2 <= width) lines.push(`  ${f.padEnd(width)}${h}`);
    else lines.push(`  ${f}`, `  ${"".padEnd(width)}${h}`);
  }
  if (def.notes?.length) lines.push("", ...def.notes);
  if (def.examples?.length) lines.push("", "examples:", ...def.examples.map((e) => `  ${e}`));
  return lines.join("\n") + "\n";
}

/** Typed accessors for parsed values (the option table guarantees the kinds). */
export const str = (p: Parsed, k: string): string | undefined => p.values[k] as string | undefined;
export const num = (p: Parsed, k: string): number | undefined => p.values[k] as number | undefined;
export const flag = (p: Parsed, k: string): boolean => p.values[k] === true;

/** "1,10,100" as integers (the caller validates their range and order); `flag` names the flag. */
export function parseLengths(text: string, flag = "lengths"): number[] {
  return text.split(",").map((s) => {
    const n = s.trim() === "" ? NaN : Number(s.trim());
    if (!Number.isInteger(n))
      throw new BnformerError("config", `--${flag}: "${s.trim()}" is not an integer`);
    return n;
  });
}
