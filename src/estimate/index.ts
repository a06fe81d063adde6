/** In-context estimators: counting, MLE and Bayesian estimators, BMA over parent sets, the unseen policy, generation. */
export * from "./policy.ts";
export * from "./options.ts";
export * from "./counts.ts";
export * from "./estimators.ts";
export * from "./posterior.ts";
export * from "./batch.ts";
export * from "./backoff.ts";
export * from "./generate.ts";
export * from "./bma.ts";
export * from "./parent-sets.ts";
