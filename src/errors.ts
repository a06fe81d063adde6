/**
 * The one error type of bnformer. Every error carries a literal `code` and, where it
 * applies, where the problem is: a file with line and column, or a path into a model
 * (e.g. ["cpt", "dog-out", "row 3"]).
 */
export type ErrorCode =
  | "parse" // a file's syntax (BIF, JSON, CSV, safetensors)
  | "network" // an invalid network: cycle, CPT size, probabilities
  | "data" // data that does not fit its network: unknown state, missing column, ragged row
  | "estimate" // an estimator could not answer, e.g. unseen parent configuration under policy "error"
  | "spec" // a transformer spec or weights that do not fit each other
  | "config" // a bad option or flag value
  | "io"; // a file that cannot be read or written as asked

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  path?: readonly string[];
}

/** One setting that fixes or sidesteps an error: the library option `option` set to `value`. */
export interface OptionFix {
  readonly option: string;
  readonly value: string | boolean | readonly string[];
}

/**
 * What the user can change, as data: the library renders it with its option names
 * (`set undeclaredStates: "missing" ...`), the CLI with its flags (src/cli/hints.ts).
 */
export interface ErrorHint {
  /** Alternatives: any one of them does. */
  readonly fixes: readonly OptionFix[];
  /** What they do, e.g. "to read such cells as missing". */
  readonly effect?: string;
}

export class BnformerError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;
  /** The message without its location prefix and hint. */
  readonly detail: string;
  readonly hint: ErrorHint | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    location: ErrorLocation = {},
    options?: { cause?: unknown; hint?: ErrorHint },
  ) {
    const hint = options?.hint;
    super(formatLocation(location) + message + (hint ? `; ${formatHint(hint)}` : ""), options);
    this.name = "BnformerError";
    this.code = code;
    this.location = location;
    this.detail = message;
    this.hint = hint;
  }
}

/** `e` with another location (code, message and hint kept; `e` as the cause). */
export function relocated(e: BnformerError, location: ErrorLocation): BnformerError {
  return new BnformerError(e.code, e.detail, location, {
    cause: e,
    ...(e.hint ? { hint: e.hint } : {}),
  });
}

/** A hint in words; `fix` renders one fix (by default as the library option). */
export function formatHint(
  hint: ErrorHint,
  fix: (f: OptionFix) => string = (f) => `${f.option}: ${JSON.stringify(f.value)}`,
  verb = "set",
): string {
  return `${verb} ${hint.fixes.map(fix).join(" or ")}${hint.effect ? ` ${hint.effect}` : ""}`;
}

/** "file:line:col: " or "path a > b: " prefix for a message; empty when nothing is known. */
export function formatLocation(loc: ErrorLocation): string {
  let s = "";
  if (loc.file !== undefined) {
    s += loc.file;
    if (loc.line !== undefined) s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
    s += ": ";
  } else if (loc.line !== undefined) {
    s += `line ${loc.line}` + (loc.column !== undefined ? `, column ${loc.column}` : "") + ": ";
  }
  if (loc.path !== undefined && loc.path.length > 0) s += `${loc.path.join(" > ")}: `;
  return s;
}
