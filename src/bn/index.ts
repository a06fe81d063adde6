/** Bayesian networks: structures, CPTs, validation, file formats, data, graph families, priors, sampling. */
export * from "./rng.ts";
export * from "./network.ts";
export * from "./cpt.ts";
export * from "./dataset.ts";
export * from "./bif.ts";
export * from "./network-json.ts";
export * from "./network-file.ts";
export * from "./csv.ts";
export * from "./csv-file.ts";
export * from "./families.ts";
export * from "./priors.ts";
export * from "./sample.ts";
