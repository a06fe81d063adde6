/**
 * Ctrl-C (SIGINT) and kill (SIGTERM) while bnformer writes: the temporary files of the
 * writes in progress (files.ts) are removed and the process exits 130 or 143, so an
 * interrupted command leaves neither a hidden temporary file nor a partial output.
 * Handlers are installed only while a temporary file exists (or while a command that stops
 * gracefully runs): any JS handler defers a signal until the running code yields, and
 * during long computations with nothing on disk the default, immediate exit is right. A
 * signal that arrives during a synchronous write therefore takes effect after its rename.
 * A command that stops gracefully (train, experiment) takes the first SIGINT; a second
 * one exits like the rest.
 */
import { removeTempFiles, watchTempFiles } from "../files.ts";

const EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;
type Handled = keyof typeof EXIT_CODE;

let writing = false;
let graceful: (() => void) | null = null;
let stopRequested = false;

function onSignal(signal: NodeJS.Signals): void {
  if (signal === "SIGINT" && graceful !== null && !stopRequested) {
    stopRequested = true;
    graceful();
    return;
  }
  const removed = removeTempFiles();
  const note = removed > 0 ? `; removed ${removed} unfinished output file(s)` : "";
  process.stderr.write(`\nbnformer: interrupted (${signal})${note}\n`);
  process.exit(EXIT_CODE[signal as Handled] ?? 130);
}

function listen(signal: Handled, on: boolean): void {
  const has = process.listeners(signal).includes(onSignal);
  if (on && !has) process.on(signal, onSignal);
  if (!on && has) process.off(signal, onSignal);
}

function update(): void {
  listen("SIGINT", writing || graceful !== null);
  listen("SIGTERM", writing);
}

/** Guards a command's writes against SIGINT/SIGTERM until the returned function is called. */
export function guardInterrupts(): () => void {
  watchTempFiles((w) => {
    writing = w;
    update();
  });
  return () => {
    watchTempFiles(null);
    writing = false;
    graceful = null;
    stopRequested = false;
    update();
  };
}

/** `stop` runs on the first SIGINT instead of exiting, until the returned function is called. */
export function onFirstInterrupt(stop: () => void): () => void {
  graceful = stop;
  stopRequested = false;
  update();
  return () => {
    if (graceful === stop) graceful = null;
    update();
  };
}
