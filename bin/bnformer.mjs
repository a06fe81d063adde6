#!/usr/bin/env node
// Runs the CLI compiled to dist/ by `npm run build` (npm ci and npm pack run it through the
// `prepare` script), so a command starts without compiling TypeScript.
import { setFlagsFromString } from "node:v8";

// Compile WebAssembly (jax-js kernels, the sampler) optimised from the first call: with V8's
// baseline tier first, the few steps that calibrate --minutes ran slow code and the runs
// stopped well inside their budget. Measured in docs/training.md.
setFlagsFromString("--no-liftoff");

// A closed pipe (e.g. `bnformer info NET | head`) ends the output quietly, like other Unix tools.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/cli/main.js"))
    throw e;
  process.stderr.write("bnformer: dist/ is missing; run `npm run build` in the package folder\n");
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
