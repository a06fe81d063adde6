// Atomic writes: the output appears whole or not at all, and the temporary file in between
// is registered so that an interrupted process can remove it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BnformerError } from "../src/errors.ts";
import {
  removeTempFiles,
  watchTempFiles,
  writeFileAtomic,
  writeFileAtomicChunks,
} from "../src/files.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "bnformer-files-"));

test("the temporary file of a write is announced, and gone after the rename", () => {
  const dir = tmp();
  const seen: boolean[] = [];
  watchTempFiles((w) => seen.push(w));
  try {
    writeFileAtomic(join(dir, "a.txt"), "hello");
  } finally {
    watchTempFiles(null);
  }
  assert.deepEqual(seen, [true, false]);
  assert.deepEqual(readdirSync(dir), ["a.txt"]);
});

test("chunked writes: whole output, or nothing when the producer fails", async () => {
  const dir = tmp();
  await writeFileAtomicChunks(join(dir, "ok.txt"), ["a", new Uint8Array([98]), "c"]);
  assert.equal(readFileSync(join(dir, "ok.txt"), "utf8"), "abc");
  function* failing() {
    yield "partial";
    throw new BnformerError("data", "the producer failed");
  }
  await assert.rejects(
    writeFileAtomicChunks(join(dir, "bad.txt"), failing()),
    /the producer failed/,
  );
  assert.deepEqual(readdirSync(dir), ["ok.txt"]);
});

test("removeTempFiles removes a write in progress (what Ctrl-C does)", async () => {
  const dir = tmp();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  async function* slow() {
    yield "first";
    await gate;
    yield "second";
  }
  const writing = writeFileAtomicChunks(join(dir, "big.csv"), slow());
  while (readdirSync(dir).length === 0) await new Promise((r) => setImmediate(r));
  assert.match(readdirSync(dir)[0]!, /^\.big\.csv\..*\.tmp$/);
  assert.equal(removeTempFiles(), 1);
  assert.deepEqual(readdirSync(dir), []);
  release();
  // The writer, still running, then fails to rename the removed file: an io error, no output.
  await assert.rejects(writing, (e: unknown) => e instanceof BnformerError && e.code === "io");
  assert.deepEqual(readdirSync(dir), []);
});

test("writing into a directory that is a file is an io error naming the output", () => {
  const dir = tmp();
  writeFileAtomic(join(dir, "f"), "x");
  assert.throws(
    () => writeFileAtomic(join(dir, "f", "out.txt"), "y"),
    (e: unknown) => e instanceof BnformerError && e.code === "io" && e.message.includes("out.txt"),
  );
});
