/**
 * Throughput on one machine: the experiment's runs trained K at a time, each in a child
 * process of its own (train-child.ts) running run.ts's `trainRun`, so K cores train at
 * once (one jax-js backend per process; a process is also what a queue worker is). The
 * runs are independent and seeded, so each ends with the weights it would have trained
 * alone. Interrupting stops every child after its current step with a checkpoint.
 */
import type { ChildProcess } from "node:child_process";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ErrorCode, ErrorHint, ErrorLocation } from "../errors.ts";
import { BnformerError } from "../errors.ts";
import type { PlannedRun } from "./plan.ts";
import type { TrainPlannedOptions } from "./run.ts";
import { describeRun } from "./run.ts";

/** A parent's message to a child. */
export type ToChild = { kind: "train"; run: PlannedRun } | { kind: "stop" };

/** A child's message to its parent. */
export type FromChild =
  | { kind: "log"; line: string }
  | { kind: "done"; finished: boolean; step: number }
  | { kind: "error"; error: SentError };

/** An error sent between processes: a BnformerError keeps its code, location and hint. */
export type SentError =
  | {
      bnformer: true;
      code: ErrorCode;
      detail: string;
      location: ErrorLocation;
      hint: ErrorHint | null;
    }
  | { bnformer: false; message: string };

export function sendableError(e: unknown): SentError {
  if (e instanceof BnformerError)
    return {
      bnformer: true,
      code: e.code,
      detail: e.detail,
      location: e.location,
      hint: e.hint ?? null,
    };
  return { bnformer: false, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

function receivedError(e: SentError): Error {
  if (!e.bnformer) return new Error(e.message);
  return new BnformerError(e.code, e.detail, e.location, e.hint ? { hint: e.hint } : {});
}

/** The child's module beside this one: .ts when run from source (tsx), .js from dist/. */
function childModule(): string {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`./train-child${ext}`, import.meta.url));
}

/** A child process that trains the runs it is sent. */
function startChild(): ChildProcess {
  // bin/bnformer.mjs sets --no-liftoff on itself (optimised wasm from the first step); its
  // children need it on their command line. The parent's flags (e.g. tsx's loader) carry over.
  const execArgv = [...process.execArgv.filter((a) => a !== "--no-liftoff"), "--no-liftoff"];
  return fork(childModule(), [], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/**
 * Trains `runs` with up to `k` at a time, each in a child process; resolves to true when
 * all are finished, false when `signal` aborted first (each child saved a checkpoint).
 */
export async function trainInParallel(
  runs: readonly PlannedRun[],
  k: number,
  o: TrainPlannedOptions = {},
): Promise<boolean> {
  if (!(Number.isInteger(k) && k >= 1))
    throw new BnformerError("config", `parallel must be an integer >= 1, got ${k}`, {
      path: ["parallel"],
    });
  const log = o.log ?? (() => {});
  const todo = [...runs.entries()];
  let finished = 0;
  let stopped = false;
  const children: ChildProcess[] = [];
  const stopAll = () => {
    stopped = true;
    for (const c of children) if (c.connected) c.send({ kind: "stop" } satisfies ToChild);
  };
  o.signal?.addEventListener("abort", stopAll, { once: true });

  /** One child: takes runs until none are left; rejects with the first run that fails. */
  const lane = async (): Promise<void> => {
    const child = startChild();
    children.push(child);
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    try {
      for (let next = todo.shift(); next !== undefined && !stopped; next = todo.shift()) {
        const [i, run] = next;
        log(`[${i + 1}/${runs.length}] ${describeRun(run)} (process ${child.pid})`);
        const outcome = await new Promise<{ finished: boolean; step: number }>(
          (resolve, reject) => {
            const onMessage = (m: FromChild) => {
              if (m.kind === "log") log(`[${i + 1}/${runs.length}] ${m.line}`);
              else {
                child.off("message", onMessage);
                child.off("exit", onExit);
                if (m.kind === "error") reject(receivedError(m.error));
                else resolve(m);
              }
            };
            const onExit = (code: number | null, signal: string | null) =>
              reject(
                new BnformerError(
                  "io",
                  `the process training ${describeRun(run)} ended (${signal ?? `exit ${code}`}) before the run did`,
                  { file: run.dir },
                ),
              );
            child.on("message", onMessage);
            child.once("exit", onExit);
            child.send({ kind: "train", run } satisfies ToChild);
            // A stop that came while this child was between runs reaches it now.
            if (stopped) child.send({ kind: "stop" } satisfies ToChild);
          },
        );
        if (outcome.finished) finished++;
      }
    } finally {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    }
  };

  try {
    // A failed run stops the others (after their current step, with a checkpoint).
    const lanes = Array.from({ length: Math.min(k, runs.length) }, () =>
      lane().catch((e: unknown) => {
        stopAll();
        throw e;
      }),
    );
    const results = await Promise.allSettled(lanes);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    o.signal?.removeEventListener("abort", stopAll);
  }
  return finished === runs.length;
}
