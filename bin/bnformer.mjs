#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so no build step is needed after `npm ci`.
import { register } from "tsx/esm/api";

register();
// A closed pipe (e.g. `bnformer info NET | head`) ends the output quietly, like other Unix tools.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
