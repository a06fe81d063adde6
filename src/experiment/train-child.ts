/**
 * A child process of parallel.ts: trains the runs its parent sends, one at a time, with
 * run.ts's `trainRun`, and reports each back. A "stop" message (the parent was
 * interrupted) or the first SIGINT (Ctrl-C reaches the whole process group) stops the run
 * after its current step with a checkpoint; a second SIGINT ends the process at once.
 */
import type { FromChild, ToChild } from "./parallel.ts";
import { sendableError } from "./parallel.ts";
import { trainRun } from "./run.ts";

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());

const send = (m: FromChild) => process.send?.(m);

process.on("message", (m: ToChild) => {
  if (m.kind === "stop") stop.abort();
  else
    void trainRun(m.run, { signal: stop.signal, log: (line) => send({ kind: "log", line }) }).then(
      (r) => send({ kind: "done", finished: r.model !== null, step: r.step }),
      (e: unknown) => send({ kind: "error", error: sendableError(e) }),
    );
});
// Once the parent lets go, nothing keeps this process alive.
process.on("disconnect", () => process.removeAllListeners("message"));
