// Shared test settings (not a test file: run-tests.mjs runs only *.test.ts).

/** `bnformer train` flags for a model small enough to train in a test (a few ms a step). */
export const TINY_TRAIN_FLAGS: readonly string[] = [
  ...["--batch", "2", "--query-rows", "1", "--context-max", "8"],
  ...["--d-model", "8", "--heads", "1", "--mlp", "8"],
];
