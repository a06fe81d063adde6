// The build's guard (explorer/browser-only.ts): a Node built-in anywhere in the page fails
// the build, naming the importing file, instead of becoming an empty module.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserOnly, isNodeBuiltin } from "../../explorer/browser-only.ts";

test("Node built-ins are recognised, with or without node:", () => {
  for (const id of ["node:fs", "node:path", "fs", "path", "crypto", "fs/promises"])
    assert.equal(isNodeBuiltin(id), true, id);
  for (const id of ["@dagrejs/dagre", "./compute.ts", "../src/core.ts", "vite", "lodash"])
    assert.equal(isNodeBuiltin(id), false, id);
});

test("the plugin stops the build at a built-in and lets everything else through", () => {
  const resolveId = browserOnly().resolveId as (id: string, importer?: string) => unknown;
  const context = {
    error(message: string): never {
      throw new Error(message);
    },
  };
  assert.throws(
    () => resolveId.call(context, "node:fs", "/repo/src/files.ts"),
    /\/repo\/src\/files\.ts imports "node:fs": the explorer may use only the browser-safe core/,
  );
  assert.throws(() => resolveId.call(context, "path", "/repo/explorer/x.ts"), /imports "path"/);
  assert.equal(resolveId.call(context, "../src/core.ts", "/repo/explorer/worker.ts"), null);
});
