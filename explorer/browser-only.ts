/**
 * A Vite plugin that refuses any Node built-in in the page (`node:fs`, `path`, ...): Vite
 * would otherwise replace it by an empty module with only a warning, and the page would fail
 * at run time. The page may import only the browser-safe core (src/core.ts and the modules it
 * re-exports or imports).
 */
import { builtinModules } from "node:module";
import type { Plugin } from "vite";

/** True for a specifier naming a Node built-in. */
export function isNodeBuiltin(id: string): boolean {
  return id.startsWith("node:") || builtinModules.includes(id.split("/")[0]!);
}

export function browserOnly(): Plugin {
  return {
    name: "bnformer-browser-only",
    enforce: "pre",
    resolveId(id, importer) {
      if (isNodeBuiltin(id))
        this.error(
          `${importer ?? "the page"} imports "${id}": the explorer may use only the browser-safe core`,
        );
      return null;
    },
  };
}
