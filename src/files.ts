/**
 * File access with the project's guarantees: reads name the file in their errors;
 * writes go to a temporary file in the same folder and are renamed into place, so a
 * failure never leaves a half-written output; outputs may not be one of the inputs.
 */
import {
  readFileSync,
  writeFileSync,
  renameSync,
  rmSync,
  realpathSync,
  existsSync,
  mkdirSync,
} from "node:fs";
import { dirname, resolve, basename, join } from "node:path";
import { BnformerError } from "./errors.ts";

/** The file's bytes, or an "io" error naming it. */
export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new BnformerError("io", `cannot read: ${why}`, { file: path }, { cause: e });
  }
}

/** The file as UTF-8 text (a leading BOM removed), or an "io" error naming it. */
export function readText(path: string): string {
  const bytes = readBytes(path);
  // A view, not a copy: a large file is not held twice.
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Writes `data` to `path` through a temporary file and a rename (atomic on one filesystem). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new BnformerError(
      "io",
      `cannot write: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** Throws when `output` is the same file as any of `inputs` (compared after resolving links). */
export function assertNotAnInput(output: string, inputs: readonly string[]): void {
  const canon = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  const out = canon(output);
  for (const input of inputs) {
    if (canon(input) === out) {
      throw new BnformerError(
        "io",
        `refusing to write over an input file; choose another output path`,
        {
          file: output,
        },
      );
    }
  }
}
