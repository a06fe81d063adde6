/**
 * File access with the project's guarantees: reads name the file in their errors;
 * writes go to a temporary file in the same folder and are renamed into place, so a
 * failure never leaves a half-written output; outputs may not be one of the inputs. The
 * temporary files being written are registered, so that an interrupted process can remove
 * them (the CLI does on Ctrl-C and kill: src/cli/interrupt.ts).
 */
import {
  readFileSync,
  writeFileSync,
  renameSync,
  rmSync,
  realpathSync,
  existsSync,
  mkdirSync,
  statSync,
} from "node:fs";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, resolve, basename, join } from "node:path";
import { BnformerError } from "./errors.ts";

/** Temporary files being written now. */
const tempFiles = new Set<string>();
let tempWatcher: ((writing: boolean) => void) | null = null;
/** Tells apart the temporary files of one process started in the same millisecond. */
let tempSerial = 0;

/**
 * `watch(true)` when a temporary file appears where none was, `watch(false)` when the last
 * is gone (renamed or removed); null stops watching. One watcher: the CLI's.
 */
export function watchTempFiles(watch: ((writing: boolean) => void) | null): void {
  tempWatcher = watch;
}

/** Removes every temporary file being written (for an interrupted process); how many. */
export function removeTempFiles(): number {
  const n = tempFiles.size;
  for (const p of tempFiles) removeQuietly(p);
  tempFiles.clear();
  tempWatcher?.(false);
  return n;
}

/** A new temporary path beside `path`, registered until `dropTemp`. */
function addTemp(path: string): string {
  assertNotAFolder(path);
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${tempSerial++}.tmp`);
  tempFiles.add(tmp);
  if (tempFiles.size === 1) tempWatcher?.(true);
  return tmp;
}

/** Best-effort removal: a cleanup must not hide the error that caused it. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // e.g. ENOTDIR: the folder was a file, so there is nothing to remove.
  }
}

function dropTemp(tmp: string): void {
  if (tempFiles.delete(tmp) && tempFiles.size === 0) tempWatcher?.(false);
}

/** A system error in words (no temporary paths, no errno jargon where a phrase will do). */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: "no such file",
    EISDIR: "it is a folder, not a file",
    ENOTDIR: "a part of the path is a file, not a folder",
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOSPC: "no space left on the device",
    EROFS: "read-only file system",
  };
  return (code !== undefined ? words[code] : undefined) ?? (e as Error).message;
}

const writeError = (path: string, e: unknown) =>
  e instanceof BnformerError
    ? e
    : new BnformerError("io", `cannot write: ${reason(e)}`, { file: path }, { cause: e });

/** Throws when `path` is an existing folder (an output must be a file path). */
export function assertNotAFolder(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new BnformerError("io", "cannot write: it is a folder; give a file path", { file: path });
}

/** The file's bytes, or an "io" error naming it. */
export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new BnformerError("io", `cannot read: ${reason(e)}`, { file: path }, { cause: e });
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
  let tmp: string | undefined;
  try {
    tmp = addTemp(path);
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    if (tmp !== undefined) removeQuietly(tmp);
    throw writeError(path, e);
  } finally {
    if (tmp !== undefined) dropTemp(tmp);
  }
}

/**
 * `writeFileAtomic` for output made piece by piece: each chunk is written as it comes, with
 * the event loop free in between (so Ctrl-C is handled mid-write, and a large output is
 * never one string). Errors of `chunks` itself pass through; the temporary file is removed.
 */
export async function writeFileAtomicChunks(
  path: string,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
): Promise<void> {
  let tmp: string | undefined;
  let fh: FileHandle | undefined;
  const io = async <T>(f: () => Promise<T> | T): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw writeError(path, e);
    }
  };
  try {
    tmp = await io(() => addTemp(path));
    const at = tmp;
    fh = await io(() => open(at, "w"));
    const out = fh;
    for await (const chunk of chunks) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      for (let at = 0; at < bytes.length;) {
        at += (await io(() => out.write(bytes, at, bytes.length - at))).bytesWritten;
      }
    }
    fh = undefined;
    await io(() => out.close());
    await io(() => renameSync(at, path));
  } catch (e) {
    await fh?.close().catch(() => {});
    if (tmp !== undefined) removeQuietly(tmp);
    throw e;
  } finally {
    if (tmp !== undefined) dropTemp(tmp);
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
