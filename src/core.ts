/**
 * The browser-safe core, `bnformer/core`: networks parsed from and written to text, data
 * sets, graph families, priors and sampling; the in-context estimators; the transformer
 * spec, encoding, reference executor, construction, safetensors bytes and engines. It
 * imports nothing from `node:` and no file access (test/architecture.test.ts walks its
 * imports), so it runs in a browser; `bnformer` adds the file edges (loadNetwork, loadCsv,
 * readSafetensors, checkpoints).
 */
export * from "./errors.ts";
export * from "./bn/rng.ts";
export * from "./bn/network.ts";
export * from "./bn/cpt.ts";
export * from "./bn/dataset.ts";
export * from "./bn/bif.ts";
export * from "./bn/network-json.ts";
export * from "./bn/csv.ts";
export * from "./bn/families.ts";
export * from "./bn/priors.ts";
export * from "./bn/sample.ts";
export * from "./estimate/index.ts";
export * from "./model/spec.ts";
export * from "./model/encoding.ts";
export * from "./model/reference.ts";
export * from "./model/construction.ts";
export * from "./model/safetensors.ts";
export * from "./model/engine.ts";
