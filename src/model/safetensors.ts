/**
 * The safetensors file format (Hugging Face), F32 and F64 tensors, readable by any other
 * safetensors tool:
 *   bytes [0, 8)        header length n, unsigned 64-bit little-endian
 *   bytes [8, 8 + n)    UTF-8 JSON object: for each tensor name
 *                         { "dtype": "F32" | "F64", "shape": [...], "data_offsets": [begin, end] }
 *                       plus an optional "__metadata__": { string: string }; padded with
 *                       spaces so the data starts at a multiple of 8
 *   bytes [8 + n, ...)  the tensors' raw little-endian values, row-major, contiguous: the
 *                       offsets (relative to the data start) tile the data with no hole
 * The writer puts F64 tensors before F32 ones (each keeps its given order), so every
 * tensor is aligned to its element size. The reader checks every number of the header
 * against the file before using it and copies values into fresh, aligned typed arrays.
 */
import { BnformerError } from "../errors.ts";
import type { Tensor } from "./spec.ts";

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** The tensors of a file, in header order, with its metadata. */
export interface SafetensorsContent {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const DTYPE_SIZE = { F64: 8, F32: 4 } as const;
type Dtype = keyof typeof DTYPE_SIZE;

function dtypeOf(t: Tensor): Dtype {
  return t.data instanceof Float64Array ? "F64" : "F32";
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The bytes of a safetensors file holding `tensors` (and string `metadata`). */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries = [...tensors.entries()];
  for (const [name, t] of entries) {
    if (name === "__metadata__") {
      throw new BnformerError("spec", `"__metadata__" cannot name a tensor`, { path: [name] });
    }
    if (t.data.length !== numel(t.shape)) {
      throw new BnformerError(
        "spec",
        `tensor "${name}" has ${t.data.length} values for shape [${t.shape}]`,
        { path: [name] },
      );
    }
  }
  // F64 first, then F32 (stable): every tensor then starts at a multiple of its element size.
  const ordered = [
    ...entries.filter(([, t]) => dtypeOf(t) === "F64"),
    ...entries.filter(([, t]) => dtypeOf(t) === "F32"),
  ];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of ordered) {
    const bytes = t.data.length * DTYPE_SIZE[dtypeOf(t)];
    header[name] = {
      dtype: dtypeOf(t),
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Spaces (one byte each) pad the header so the data starts at a multiple of 8.
  const n = json.length + ((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const [, t] of ordered) {
    const f64 = t.data instanceof Float64Array;
    for (let i = 0; i < t.data.length; i++) {
      if (f64) view.setFloat64(pos, t.data[i]!, true);
      else view.setFloat32(pos, t.data[i]!, true);
      pos += f64 ? 8 : 4;
    }
  }
  return out;
}

function bad(file: string | undefined, message: string, path?: string[]): BnformerError {
  return new BnformerError(
    "parse",
    `not a valid safetensors file: ${message}`,
    path ? { ...(file !== undefined ? { file } : {}), path } : file !== undefined ? { file } : {},
  );
}

function isNatural(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** Reads the header: the JSON object after the 8-byte length, and where the data starts. */
function readHeader(
  bytes: Uint8Array,
  file: string | undefined,
): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8)
    throw bad(file, `${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw bad(
      file,
      `header length ${n64} exceeds the file (${bytes.length} bytes) or ${MAX_HEADER_BYTES}`,
    );
  }
  const n = Number(n64);
  // ignoreBOM keeps a leading BOM in the text, so such a header is rejected like any non-"{".
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  if (!text.startsWith("{")) throw bad(file, `the header does not start with "{"`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new BnformerError(
      "parse",
      `not a valid safetensors file: header is not JSON (${(e as Error).message})`,
      file !== undefined ? { file } : {},
      { cause: e },
    );
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad(file, "the header is not a JSON object");
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

function readMetadata(raw: unknown, file: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw bad(file, `"__metadata__" must be an object of strings`, ["__metadata__"]);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") {
      throw bad(file, `metadata "${k}" is ${typeof v}, expected a string`, ["__metadata__", k]);
    }
    out[k] = v;
  }
  return out;
}

/** Parses safetensors bytes (F32 and F64 tensors); `file` names the source in errors. */
export function decodeSafetensors(bytes: Uint8Array, file?: string): SafetensorsContent {
  const { header, dataStart } = readHeader(bytes, file);
  const dataLength = bytes.length - dataStart;
  const metadata = readMetadata(header.__metadata__, file);
  const spans: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw bad(file, "entry is not an object", [name]);
    if (e.dtype !== "F32" && e.dtype !== "F64") {
      throw bad(
        file,
        `dtype ${JSON.stringify(e.dtype)} is not supported (bnformer reads F32 and F64)`,
        [name],
      );
    }
    if (!Array.isArray(e.shape) || !e.shape.every(isNatural)) {
      throw bad(file, `shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`, [
        name,
      ]);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isNatural(off[0]) || !isNatural(off[1])) {
      throw bad(file, `data_offsets ${JSON.stringify(off)} is not [begin, end]`, [name]);
    }
    const [begin, end] = off as [number, number];
    const expected = numel(e.shape as number[]) * DTYPE_SIZE[e.dtype];
    if (end < begin || end - begin !== expected) {
      throw bad(
        file,
        `data_offsets [${begin}, ${end}] hold ${end - begin} bytes; shape [${e.shape}] of ${e.dtype} needs ${expected}`,
        [name],
      );
    }
    spans.push({ name, dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  // The spans must tile [0, dataLength) exactly: no overlap, no hole, nothing after.
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of sorted) {
    if (s.begin !== at) {
      throw bad(
        file,
        `data_offsets [${s.begin}, ${s.end}] ${s.begin < at ? "overlap another tensor" : `leave a hole at byte ${at}`}`,
        [s.name],
      );
    }
    at = s.end;
  }
  if (at !== dataLength)
    throw bad(file, `tensors cover ${at} data bytes but the file holds ${dataLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, Tensor>();
  for (const s of spans) {
    const size = DTYPE_SIZE[s.dtype];
    const count = (s.end - s.begin) / size;
    const data = s.dtype === "F64" ? new Float64Array(count) : new Float32Array(count);
    const base = dataStart + s.begin;
    for (let i = 0; i < count; i++) {
      data[i] =
        s.dtype === "F64"
          ? view.getFloat64(base + 8 * i, true)
          : view.getFloat32(base + 4 * i, true);
    }
    tensors.set(s.name, { shape: s.shape, data });
  }
  return { tensors, metadata };
}
