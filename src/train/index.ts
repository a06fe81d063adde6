/** Training on @jax-js/jax: tasks, targets, AdamW, schedules, runs and their sizing, checkpoints. */
export * from "./adamw.ts";
export * from "./schedule.ts";
export * from "./loss.ts";
export * from "./config.ts";
export * from "./step.ts";
export * from "./loop.ts";
export * from "./progress.ts";
export * from "./checkpoint.ts";
export * from "./tasks.ts";
export * from "./targets.ts";
export * from "./sizing.ts";
export * from "./run.ts";
export * from "./trained-model.ts";
export * from "./saved-model.ts";
export * from "./pretrained.ts";
export * from "./pretrained-free.ts";
