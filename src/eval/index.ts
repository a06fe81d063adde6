/** Evaluation: metrics, the paper's protocol and baselines, results files, figures, reports. */
export * from "./metrics.ts";
export * from "./episodes.ts";
export * from "./baselines.ts";
export * from "./protocol.ts";
export * from "./summary.ts";
export * from "./results-io.ts";
export * from "./figures.ts";
export * from "./report.ts";
export * from "./attention-svg.ts";
export * from "./model-method.ts";
export * from "./pretrained.ts";
export * from "./pretrained-figures.ts";
