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

export class BnformerError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(
    code: ErrorCode,
    message: string,
    location: ErrorLocation = {},
    options?: { cause?: unknown },
  ) {
    super(formatLocation(location) + message, options);
    this.name = "BnformerError";
    this.code = code;
    this.location = location;
  }
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
