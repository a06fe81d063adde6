/**
 * The experiment's runs as jobs on a BullMQ queue in Redis (docs/queue.md). The
 * coordinator (`bnformer experiment ... --queue URL`) adds one job per unfinished run and
 * waits for them; workers (`bnformer worker --queue URL`, any number, on any machine) take
 * jobs one at a time and train them with run.ts's `trainRun`. Runs live in the experiment's
 * output directory, which every worker must see at the same path (a shared volume): a job
 * carries only the run's directory and config, its checkpoint and model stay on that
 * volume. A worker that dies stops renewing its job's lock; once the lock expires, another
 * worker's stalled-job check puts the job back in the queue and the next worker resumes
 * the run from its last checkpoint, so with the same seed it ends with the same weights.
 * BullMQ is imported only here and only when a queue is used.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Job, Queue } from "bullmq";
import { BnformerError } from "../errors.ts";
import { MODEL_DIR } from "../train/trained-model.ts";
import type { PlannedRun } from "./plan.ts";
import type { TrainPlannedOptions } from "./run.ts";
import { describeRun, trainRun } from "./run.ts";

/** Where the queue is. */
export interface QueueSettings {
  /** redis://[[USER]:PASSWORD@]HOST:PORT[/DB] (or rediss:// for TLS). */
  url: string;
  /** The BullMQ queue's name; default `DEFAULT_QUEUE_NAME`. */
  name?: string;
}

/** How a worker holds its jobs. */
export interface WorkerSettings extends QueueSettings {
  /**
   * Milliseconds a job's lock lasts unless renewed (the worker renews it at half that).
   * A dead worker's job goes back to the queue about this long after it died.
   */
  lockMs: number;
  /** Times a run may lose its worker before its job fails; default 10. */
  maxStalls?: number;
}

export const DEFAULT_QUEUE_NAME = "bnformer-runs";
/** The settings file the coordinator writes first: its presence shows a worker sees the volume. */
const EXPERIMENT_FILE = "experiment.json";
/** Attempts of a job whose training threw (an I/O error, say); a bad config fails at once. */
const ATTEMPTS = 3;
const POLL_MS = 250;

/** What a job carries: the run, and the experiment directory every worker must see. */
export interface QueuedRun {
  readonly experimentDir: string;
  readonly run: PlannedRun;
}

/** What a finished job returns. */
export interface QueuedRunResult {
  readonly step: number;
  readonly worker: string;
}

/** Throws a "config" error unless `url` is a Redis URL. */
export function checkQueueUrl(url: string): void {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    u = null;
  }
  if (u === null || !["redis:", "rediss:"].includes(u.protocol) || u.hostname === "")
    throw new BnformerError("config", `expected a queue URL redis://HOST:PORT, got "${url}"`, {
      path: ["queue"],
    });
}

/** The job of a run: one id per run directory, so adding it again finds the same job. */
export function jobId(q: QueuedRun): string {
  const h = createHash("sha256").update(q.run.dir).digest("hex").slice(0, 16);
  return `${q.run.graph}-${q.run.target}-seed${q.run.seed}-${h}`;
}

function connection(s: QueueSettings, worker: boolean) {
  // Workers must wait out a Redis restart (BullMQ requires maxRetriesPerRequest null for
  // them); the coordinator fails fast on a wrong URL instead of hanging.
  return worker
    ? { url: s.url, maxRetriesPerRequest: null }
    : { url: s.url, maxRetriesPerRequest: 1, enableOfflineQueue: false };
}

/** Resolves when `ready` does, or throws an "io" error naming the URL after `ms`. */
async function reachable(ready: Promise<unknown>, url: string, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BnformerError("io", `cannot reach the queue at ${url} (no answer in ${ms / 1000} s)`),
        ),
      ms,
    );
  });
  try {
    await Promise.race([ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Coordinator: adds a job for every run of `runs` (planned under `outDir`) that has no
 * model yet and waits until all are done. Returns false when `signal` aborts first (the
 * jobs stay queued and the workers go on: the same command again waits for them). Throws
 * when a job fails for good, or when a finished run's model is not in `outDir` (the
 * workers write elsewhere: `outDir` is not the shared volume).
 */
export async function trainOnQueue(
  runs: readonly PlannedRun[],
  outDir: string,
  s: QueueSettings,
  o: TrainPlannedOptions = {},
): Promise<boolean> {
  checkQueueUrl(s.url);
  const log = o.log ?? (() => {});
  const experimentDir = resolve(outDir);
  if (!existsSync(join(experimentDir, EXPERIMENT_FILE)))
    throw new BnformerError("io", `write ${EXPERIMENT_FILE} before queueing its runs`, {
      file: experimentDir,
    });
  const jobs = runs
    .map((r) => ({ experimentDir, run: { ...r, dir: resolve(r.dir) } }))
    .filter((q) => !existsSync(join(q.run.dir, MODEL_DIR)));
  if (jobs.length === 0) return true;
  const { Queue } = await import("bullmq");
  const queue: Queue<QueuedRun, QueuedRunResult> = new Queue(s.name ?? DEFAULT_QUEUE_NAME, {
    connection: connection(s, false),
  });
  let lastError: unknown = null;
  queue.on("error", (e) => void (lastError = e));
  try {
    await reachable(queue.waitUntilReady(), s.url);
    for (const q of jobs) await addJob(queue, q);
    log(`queued ${jobs.length} run(s) on ${s.url}; waiting for workers (bnformer worker --queue)`);
    const pending = new Set(jobs);
    let done = runs.length - jobs.length;
    while (pending.size > 0) {
      if (o.signal?.aborted) {
        log(`stopped waiting; ${pending.size} run(s) stay queued for the workers`);
        return false;
      }
      for (const q of [...pending]) {
        const state = await queue.getJobState(jobId(q));
        if (state === "unknown")
          throw new BnformerError("io", `job ${jobId(q)} left the queue before it finished`);
        if (state !== "completed" && state !== "failed") continue;
        // Read once finished: a job read before holds no result yet.
        const job = await queue.getJob(jobId(q));
        if (state === "failed")
          throw new BnformerError(
            "io",
            `run ${describeRun(q.run)} failed on the queue: ${job?.failedReason}`,
            { file: q.run.dir },
          );
        if (!existsSync(join(q.run.dir, MODEL_DIR)))
          throw new BnformerError(
            "io",
            `a worker finished ${describeRun(q.run)}, but its model is not here: ` +
              `--out must be a directory every worker sees at the same path (docs/queue.md)`,
            { file: q.run.dir },
          );
        pending.delete(q);
        done++;
        log(
          `[${done}/${runs.length}] trained ${describeRun(q.run)} (${job?.returnvalue?.worker ?? "a worker"})`,
        );
      }
      if (pending.size > 0) await abortableSleep(POLL_MS, o.signal);
    }
    return true;
  } catch (e) {
    if (e instanceof BnformerError) throw e;
    throw new BnformerError("io", `queue ${s.url}: ${String(lastError ?? e)}`, {}, { cause: e });
  } finally {
    await queue.close();
  }
}

/**
 * Adds the job of `q`, or keeps the one already there while it is waiting or running (an
 * earlier coordinator's, or a worker's that died). A finished or failed job of an earlier
 * experiment in the same directory is replaced.
 */
async function addJob(queue: Queue<QueuedRun, QueuedRunResult>, q: QueuedRun): Promise<void> {
  const id = jobId(q);
  const old = await queue.getJob(id);
  if (old !== undefined) {
    const state = await old.getState();
    if (state !== "completed" && state !== "failed") return;
    await old.remove();
  }
  await queue.add("train", q, {
    jobId: id,
    attempts: ATTEMPTS,
    backoff: { type: "fixed", delay: 1000 },
  });
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    const t = setTimeout(finish, ms);
    signal?.addEventListener("abort", finish, { once: true });
    function finish() {
      clearTimeout(t);
      signal?.removeEventListener("abort", finish);
      done();
    }
  });
}

/**
 * A worker: takes the queue's jobs one at a time and trains them until `signal` aborts.
 * Then the running job stops after its current step, saves a checkpoint and goes back to
 * the queue (for this or another worker to resume), and the worker returns.
 */
export async function runWorker(
  s: WorkerSettings,
  o: Omit<TrainPlannedOptions, "onStep"> & { name?: string; signal: AbortSignal },
): Promise<void> {
  checkQueueUrl(s.url);
  if (!(Number.isInteger(s.lockMs) && s.lockMs >= 500))
    throw new BnformerError("config", `lockMs must be an integer >= 500, got ${s.lockMs}`, {
      path: ["queue", "lockMs"],
    });
  const log = o.log ?? (() => {});
  const name = o.name ?? `worker-${process.pid}`;
  const { Worker, WaitingError, UnrecoverableError } = await import("bullmq");
  const train = async (job: Job<QueuedRun, QueuedRunResult>, token?: string) => {
    const { experimentDir, run } = job.data;
    // A worker that does not see the shared volume would train into a directory of its own.
    if (!existsSync(join(experimentDir, EXPERIMENT_FILE)))
      throw new UnrecoverableError(
        `${name} does not see ${join(experimentDir, EXPERIMENT_FILE)}: mount the experiment's --out at the same path on every worker`,
      );
    log(`${name}: job ${job.id}: ${describeRun(run)}`);
    let r;
    try {
      r = await trainRun(run, { ...o, log: (l) => log(`${name}: ${l}`) });
    } catch (e) {
      // A run the config or data rules out fails the same way on every attempt.
      if (e instanceof BnformerError && e.code !== "io") throw new UnrecoverableError(e.message);
      throw e;
    }
    if (r.model === null) {
      // Stopped (SIGINT/SIGTERM) with a checkpoint: back to the queue, no attempt spent.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    log(`${name}: job ${job.id}: done at step ${r.step}`);
    return { step: r.step, worker: name };
  };
  const worker = new Worker<QueuedRun, QueuedRunResult>(s.name ?? DEFAULT_QUEUE_NAME, train, {
    connection: connection(s, true),
    name,
    concurrency: 1,
    lockDuration: s.lockMs,
    stalledInterval: Math.max(250, Math.round(s.lockMs / 2)),
    maxStalledCount: s.maxStalls ?? 10,
    autorun: false,
  });
  worker.on("error", (e) => log(`${name}: queue error: ${e.message}`));
  // A job handed back (WaitingError) is not reported as failed.
  worker.on("failed", (job, e) => log(`${name}: job ${job?.id} failed: ${e.message}`));
  await reachable(worker.waitUntilReady(), s.url);
  log(`${name}: waiting for jobs on ${s.url} (queue ${s.name ?? DEFAULT_QUEUE_NAME})`);
  const closed = new Promise<void>((done) => {
    const stop = () => void worker.close().then(done, done);
    if (o.signal.aborted) stop();
    else o.signal.addEventListener("abort", stop, { once: true });
  });
  // run() resolves once close() has let the running job finish.
  await Promise.all([worker.run(), closed]);
}
