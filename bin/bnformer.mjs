#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so no build step is needed after `npm ci`.
import { setFlagsFromString } from "node:v8";
import { register } from "tsx/esm/api";

// Compile WebAssembly (jax-js kernels, the sampler) optimised from the first call: with V8's
// baseline tier first, the few steps that calibrate --minutes ran slow code and the runs
// stopped well inside their budget. Measured in docs/training.md.
setFlagsFromString("--no-liftoff");

register();
// A closed pipe (e.g. `bnformer info NET | head`) ends the output quietly, like other Unix tools.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
