// The experiment on a real job queue: a redis-server started here, two `bnformer worker`
// processes, one killed (SIGKILL) mid-run after its first checkpoint; the runs, results
// and CSVs must equal a local run's bit for bit. And the same for --parallel 2.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BnformerError } from "../../src/errors.ts";
import type { Command } from "../../src/cli/command.ts";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { captureIo } from "../../src/cli/io.ts";
import { experiment } from "../../src/cli/commands/experiment.ts";
import { worker } from "../../src/cli/commands/worker.ts";

const REDIS_BIN = (process.env.PATH ?? "")
  .split(delimiter)
  .map((d) => join(d, "redis-server"))
  .find((p) => existsSync(p));
const NO_REDIS =
  REDIS_BIN === undefined &&
  "redis-server is not installed (apt-get install redis-server; .ci/run installs it)";

/** The smoke experiment cut to one graph, with enough steps to kill a worker mid-run. */
const EXPERIMENT = [
  ...["paper", "--preset", "smoke", "--graphs", "general5", "--seeds", "0"],
  ...["--steps", "40", "--checkpoint-every", "4", "--episodes", "4", "--lengths", "1,10"],
];
const RUNS = ["posterior-mean-seed0", "prediction-seed0"].map((r) => join("runs", "general5", r));
/** Short, so the killed worker's job comes back within the test; renewed at half. */
const LOCK_SECONDS = "3";

let dir: string;
let redis: ChildProcess | null = null;
let url: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, "127.0.0.1", done));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "bnformer-queue-"));
  if (REDIS_BIN === undefined) return;
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn(
    REDIS_BIN,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  redis.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes("Ready to accept connections")) {
    assert.ok(
      Date.now() < deadline && redis.exitCode === null,
      `redis-server did not start: ${out}`,
    );
    await sleep(50);
  }
});

after(async () => {
  if (redis !== null && redis.exitCode === null) {
    const exited = new Promise((done) => redis!.once("exit", done));
    redis.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** What main() does for one command, in this process. */
async function run(cmd: Command, argv: string[]): Promise<{ code: number; err: string }> {
  const io = captureIo();
  let code: number;
  try {
    code = await cmd.run(parseCommandArgs(cmd.def, argv), io);
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    io.err(`bnformer ${cmd.def.name}: ${e.message}\n`);
    code = e.code === "config" ? 2 : 1;
  }
  return { code, err: io.stderr.join("") };
}

/** A `bnformer worker` process (the bin runs dist/, which run-tests.mjs builds). */
function startWorker(name: string) {
  const child = spawn(
    process.execPath,
    ["bin/bnformer.mjs", "worker", "--queue", url, "--lock-seconds", LOCK_SECONDS, "--name", name],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const w = { name, child, err: "" };
  child.stderr!.on("data", (d: Buffer) => (w.err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return {
    ...w,
    exited,
    get log() {
      return w.err;
    },
  };
}

let local: string | null = null;
/** The reference: the same experiment trained here, one run after another. */
async function localRun(): Promise<string> {
  if (local !== null) return local;
  const out = join(dir, "local");
  const r = await run(experiment, [...EXPERIMENT, "--out", out]);
  assert.equal(r.code, 0, r.err);
  return (local = out);
}

/** The trained weights, CSVs and evaluated numbers of `got` equal those of `want`. */
function assertSameResults(got: string, want: string): void {
  const bytes = (root: string, f: string) => readFileSync(join(root, f));
  for (const r of RUNS) {
    assert.ok(
      bytes(got, join(r, "model", "model.safetensors")).equals(
        bytes(want, join(r, "model", "model.safetensors")),
      ),
      `${r}: weights differ`,
    );
    // The model's config records its training time, the one field that may differ.
    const config = (root: string) => {
      const c = JSON.parse(bytes(root, join(r, "model", "config.json")).toString());
      delete c.config.trainSeconds;
      return c;
    };
    assert.deepEqual(config(got), config(want), `${r}: model config`);
  }
  for (const f of ["general5-tv.csv", "general5-tv-summary.csv"])
    assert.ok(bytes(got, f).equals(bytes(want, f)), `${f} differs`);
  const results = (root: string) => {
    const j = JSON.parse(bytes(root, "general5-results.json").toString());
    return { cells: j.cells, summary: j.summary, ratios: j.ratios };
  };
  assert.deepEqual(results(got), results(want));
  const steps = (root: string) =>
    JSON.parse(bytes(root, "experiment-run.json").toString()).runs.map(
      (x: { steps: number; plannedSteps: number }) => [x.steps, x.plannedSteps],
    );
  assert.deepEqual(steps(got), steps(want));
}

test(
  "through a queue, with a worker killed mid-run and one stopped, the results equal a local run's",
  { skip: NO_REDIS },
  async () => {
    const want = await localRun();
    const out = join(dir, "queued");
    const workers = [startWorker("w1"), startWorker("w2")];
    const logs = () => workers.map((w) => w.log).join("\n");
    const deadline = Date.now() + 120_000;
    const waitFor = async (what: string, ok: () => boolean) => {
      while (!ok()) {
        assert.ok(Date.now() < deadline, `${what}:\n${logs()}`);
        await sleep(20);
      }
    };
    try {
      const coordinator = run(experiment, [...EXPERIMENT, "--queue", url, "--out", out]);
      // SIGKILL the first worker whose run has a checkpoint and no model yet.
      let victim: { worker: (typeof workers)[number]; runDir: string } | null = null;
      await waitFor("no checkpoint appeared", () => {
        for (const w of workers) {
          const runDir = [...w.log.matchAll(/: job \S+: .* -> (\S+)\n/g)].at(-1)?.[1];
          if (
            runDir !== undefined &&
            existsSync(join(runDir, "checkpoint", "config.json")) &&
            !existsSync(join(runDir, "model"))
          ) {
            w.child.kill("SIGKILL");
            victim = { worker: w, runDir };
            return true;
          }
        }
        return false;
      });
      const { worker: killed, runDir } = victim!;
      assert.equal((await killed.exited).signal, "SIGKILL");
      // Once the lock expires, the other worker takes the job and resumes the run from its
      // checkpoint; SIGTERM (what Kubernetes sends) then stops it gracefully: a checkpoint,
      // the job back in the queue, exit 0. A third worker finishes the run.
      const stopped = workers.find((w) => w !== killed)!;
      const resumed = `resuming ${runDir} from its checkpoint`;
      await waitFor("the job was not resumed", () => stopped.log.includes(resumed));
      stopped.child.kill("SIGTERM");
      assert.deepEqual(await stopped.exited, { code: 0, signal: null }, stopped.log);
      assert.match(stopped.log, /stopping: the running job saves a checkpoint/);
      // Handed back, not failed: a failed attempt would be logged (and spend a retry).
      assert.doesNotMatch(stopped.log, /failed/);
      const last = startWorker("w3");
      workers.push(last);
      const r = await coordinator;
      assert.equal(r.code, 0, `${r.err}\n${logs()}`);
      assert.ok(last.log.includes(resumed), last.log);
      assertSameResults(out, want);
      last.child.kill("SIGTERM");
      assert.deepEqual(await last.exited, { code: 0, signal: null }, last.log);
    } finally {
      for (const w of workers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    }
  },
);

test("--parallel 2 trains the runs in two processes with the results of a local run", async () => {
  const want = await localRun();
  const out = join(dir, "parallel");
  const r = await run(experiment, [...EXPERIMENT, "--parallel", "2", "--out", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /\(process \d+\)/);
  assertSameResults(out, want);
});

test("--parallel reports a run's error from its child process as the CLI does", async () => {
  const out = join(dir, "parallel-changed");
  const first = await run(experiment, [...EXPERIMENT, "--steps", "1", "--out", out]);
  assert.equal(first.code, 0, first.err);
  // The same runs with other flags: each child refuses its run's stored configuration.
  const r = await run(experiment, [...EXPERIMENT, "--steps", "2", "--parallel", "2", "--out", out]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /run\.json: the stored run was started with another configuration/);
});

test("a queue URL that is not redis:// is a usage error; --parallel excludes --queue", async () => {
  const w = await run(worker, ["--queue", "http://localhost:6379"]);
  assert.equal(w.code, 2);
  assert.match(w.err, /expected a queue URL redis:\/\/HOST:PORT, got "http:\/\/localhost:6379"/);
  const e = await run(experiment, [
    ...EXPERIMENT,
    "--queue",
    "redis://localhost:1",
    "--parallel",
    "2",
    "--out",
    join(dir, "x"),
  ]);
  assert.equal(e.code, 2);
  assert.match(e.err, /--parallel and --queue exclude each other/);
});
