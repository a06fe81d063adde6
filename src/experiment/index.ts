/** The paper experiment, above training and evaluation: settings, plan, run, report. */
export * from "./config.ts";
export * from "./plan.ts";
export * from "./run.ts";
export * from "./report.ts";
export * from "./results-page.ts";
