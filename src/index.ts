/**
 * bnformer for Node, the package's main entry: the core (src/core.ts) plus reading and
 * writing files (loadNetwork, saveNetwork, loadCsv, readSafetensors, checkpoints). Training,
 * evaluation and the paper experiment are `bnformer/train`, `bnformer/eval` and
 * `bnformer/experiment`.
 */
export * from "./errors.ts";
export * from "./bn/index.ts";
export * from "./estimate/index.ts";
export * from "./model/index.ts";
