/**
 * Network files by extension: `.bif` (bif.ts) or `.json` ("bnformer-network/1",
 * network-json.ts), compared case-insensitively. Reads go through readText, so a missing
 * file is an "io" error naming it; writes go through writeFileAtomic (temp file + rename).
 * `loadStructure` needs only variables, states and parents: CPT numbers may be absent or
 * invalid, and a BIF variable without a probability block is read as a root.
 */
import { extname } from "node:path";
import { BnformerError } from "../errors.ts";
import { readText, writeFileAtomic } from "../files.ts";
import type { Network, Structure } from "./network.ts";
import { parseBif, parseBifStructure, writeBif } from "./bif.ts";
import { parseNetworkJson, parseNetworkJsonStructure, writeNetworkJson } from "./network-json.ts";

/** The extensions network files may have. */
export const NETWORK_EXTENSIONS: readonly string[] = [".bif", ".json"];

type NetworkFormat = "bif" | "json";

/** The format of `path` from its extension, or an "io" error listing the known ones. */
function formatOf(path: string): NetworkFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".bif") return "bif";
  if (ext === ".json") return "json";
  const found = ext === "" ? "no extension" : `extension "${extname(path)}"`;
  throw new BnformerError(
    "io",
    `unknown network file type (${found}); known extensions: ${NETWORK_EXTENSIONS.join(", ")}`,
    { file: path },
  );
}

/** Reads a validated network from a .bif or .json file. */
export function loadNetwork(path: string, opts: { renormalize?: boolean } = {}): Network {
  const format = formatOf(path);
  const text = readText(path);
  const ropts = opts.renormalize === undefined ? {} : { renormalize: opts.renormalize };
  return format === "bif"
    ? parseBif(text, { file: path, ...ropts })
    : parseNetworkJson(text, { file: path, ...ropts });
}

/** Reads the variables, states and parents of a .bif or .json file, ignoring CPT numbers. */
export function loadStructure(path: string): Structure {
  const format = formatOf(path);
  const text = readText(path);
  return format === "bif"
    ? parseBifStructure(text, { file: path })
    : parseNetworkJsonStructure(text, { file: path });
}

/** Writes `net` atomically as BIF or JSON, chosen by the extension of `path`. */
export function saveNetwork(path: string, net: Network): void {
  const format = formatOf(path);
  writeFileAtomic(path, format === "bif" ? writeBif(net) : writeNetworkJson(net));
}
