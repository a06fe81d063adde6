/**
 * Safetensors files: the file edge of safetensors.ts, which encodes and decodes bytes only
 * (so it runs without a file system, e.g. in a browser).
 */
import { readBytes, writeFileAtomic } from "../files.ts";
import type { Tensor } from "./spec.ts";
import type { SafetensorsContent } from "./safetensors.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";

/** Writes a safetensors file atomically (temporary file + rename). */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads a safetensors file. */
export function readSafetensors(path: string): SafetensorsContent {
  return decodeSafetensors(readBytes(path), path);
}
