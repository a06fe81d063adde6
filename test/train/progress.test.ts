import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BnformerError } from "../../src/errors.ts";
import { MetricsLog, ProgressLine, formatDuration } from "../../src/train/progress.ts";

const M = (step: number) => ({
  step,
  loss: 0.5 / step,
  gradNorm: 1,
  lr: 1e-3,
  stepsPerSec: 2,
  elapsedSec: step / 2,
});

test("the progress line shows step, loss, steps/s and ETA", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString()));
  const bar = new ProgressLine(true, 100, 0, out);
  bar.update(M(40));
  bar.stop();
  assert.match(text, /step 40\/100 \| loss 0\.01250 \| 2\.00 steps\/s \| ETA 30s/);
});

test("a disabled progress line writes nothing", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString()));
  const bar = new ProgressLine(false, 100, 0, out);
  bar.update(M(40));
  bar.stop();
  assert.equal(text, "");
});

test("durations read as h/m/s", () => {
  assert.equal(formatDuration(12.4), "12s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(Infinity), "?");
});

test("the metrics log is JSONL, and reopening for a resume keeps only the steps up to the checkpoint", () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-log-"));
  try {
    const path = join(dir, "metrics.jsonl");
    const log = new MetricsLog(path);
    for (let s = 1; s <= 5; s++) log.append(M(s));
    const steps = () =>
      readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps(), [1, 2, 3, 4, 5]);
    new MetricsLog(path, 3).append(M(4));
    assert.deepEqual(steps(), [1, 2, 3, 4]);
    assert.deepEqual(JSON.parse(readFileSync(path, "utf8").split("\n")[0]!), M(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a resume drops a last metrics line a crash cut short, and names a bad line elsewhere", () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-log-"));
  try {
    const path = join(dir, "metrics.jsonl");
    const lines = (...xs: string[]) => writeFileSync(path, xs.map((x) => x + "\n").join(""));
    lines(JSON.stringify(M(1)), JSON.stringify(M(2)), '{"step": 3, "lo');
    new MetricsLog(path, 3).append(M(3));
    const steps = readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3]);
    lines(JSON.stringify(M(1)), "garbage", JSON.stringify(M(3)));
    assert.throws(
      () => new MetricsLog(path, 3),
      (e: unknown) =>
        e instanceof BnformerError &&
        e.code === "parse" &&
        e.message.startsWith(`${path}:2: not a metrics line`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
