/**
 * Transformers: the architecture description, the row-token encoding, the float64
 * reference executor, the construction, safetensors checkpoints and engines. The jax-js
 * executor (src/model/jax/) is loaded on demand by training and evaluation, not from here.
 */
export * from "./spec.ts";
export * from "./encoding.ts";
export * from "./reference.ts";
export * from "./construction.ts";
export * from "./safetensors.ts";
export * from "./safetensors-file.ts";
export * from "./checkpoint.ts";
export * from "./engine.ts";
