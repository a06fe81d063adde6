// Saved models are read once and checked in full (src/train/saved-model.ts): every corrupted
// directory of every kind makes the CLI exit 1 with a message naming the file and the field
// or tensor, never a stack trace; a good directory reads each of its files once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { sampleNetwork } from "../../src/bn/priors.ts";
import { createRng } from "../../src/bn/rng.ts";
import { saveNetwork } from "../../src/bn/network-file.ts";
import { readBytes } from "../../src/files.ts";
import { readSafetensors, writeSafetensors } from "../../src/model/safetensors-file.ts";
import { loadSavedModel } from "../../src/train/saved-model.ts";
import { TINY_TRAIN_FLAGS } from "../helpers.ts";

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

let tmp: string;
let structure: string;
let context: string;
let run: string; // a finished training run: run.json, checkpoint/, model/
let construction: string;
let copies = 0;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "bnformer-saved-"));
  structure = join(tmp, "chain5.json");
  context = join(tmp, "ctx.csv");
  run = join(tmp, "run");
  construction = join(tmp, "construction");
  const chain5 = paperGraph("chain5");
  saveNetwork(structure, sampleNetwork(createRng(1), chain5, { kind: "beta", alpha: 0.5 }));
  const steps = ["--graph", "chain5", "--steps", "2", ...TINY_TRAIN_FLAGS, "--out", run];
  for (const argv of [
    ["sample", "--network", structure, "--n", "10", "--seed", "1", "--out", context],
    ["train", ...steps],
    ["construct", "--structure", structure, "--max-context", "10", "--out", construction],
  ]) {
    const r = await cli(argv);
    assert.equal(r.code, 0, r.err);
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh copy of `dir` to corrupt. */
function copy(dir: string): string {
  const to = join(tmp, `copy${copies++}`);
  cpSync(dir, to, { recursive: true });
  return to;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

type Json = Record<string, unknown>;

/** Rewrites dir/config.json after `edit`. */
function editConfig(dir: string, edit: (c: Json) => void): void {
  const file = join(dir, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8")) as Json;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

/** The object at dotted `path` of `c` and its last key. */
function at(c: Json, path: string): [Json, string] {
  const keys = path.split(".");
  let node = c;
  for (const k of keys.slice(0, -1)) node = node[k] as Json;
  return [node, keys[keys.length - 1]!];
}

/** Rewrites the weights after `edit`, with a matching SHA-256 (as a careful forger would). */
function editTensors(
  dir: string,
  edit: (t: ReturnType<typeof readSafetensors>["tensors"]) => void,
): void {
  const file = join(dir, "model.safetensors");
  const { tensors } = readSafetensors(file);
  edit(tensors);
  writeSafetensors(file, tensors);
  const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  editConfig(dir, (c) => (c.weightsSha256 = sha));
}

/** A corruption of a checkpoint directory and what the error must say (given the dir). */
interface Corruption {
  name: string;
  apply: (dir: string) => void;
  says: (dir: string) => RegExp;
}

const configFile = (dir: string) => esc(join(dir, "config.json"));
const weightsFile = (dir: string) => esc(join(dir, "model.safetensors"));

/** The corruptions of the issue, for a kind whose config has `removable` and `wrongType` fields. */
function corruptions(removable: string, wrongType: string, wrongValue: unknown): Corruption[] {
  return [
    {
      name: `field ${removable} removed`,
      apply: (d) => editConfig(d, (c) => void delete at(c, removable)[0][at(c, removable)[1]]),
      says: (d) => new RegExp(`${configFile(d)}: field "${esc(removable)}" is missing`),
    },
    {
      name: `field ${wrongType} of the wrong type`,
      apply: (d) =>
        editConfig(d, (c) => {
          const [o, k] = at(c, wrongType);
          o[k] = wrongValue;
        }),
      says: (d) =>
        new RegExp(
          `${configFile(d)}: field "${esc(wrongType)}": expected .*, got ${esc(JSON.stringify(wrongValue))}`,
        ),
    },
    {
      name: "spec field of the wrong type",
      apply: (d) => editConfig(d, (c) => ((c.spec as { layers: Json[] }).layers[0]!.heads = "1")),
      says: (d) =>
        new RegExp(
          `${configFile(d)}: field "spec.layers.0.heads": expected an integer >= 1, got "1"`,
        ),
    },
    {
      name: "checksum removed",
      apply: (d) => editConfig(d, (c) => delete c.weightsSha256),
      says: (d) => new RegExp(`${configFile(d)}: field "weightsSha256" is missing`),
    },
    {
      name: "checksum wrong",
      apply: (d) => editConfig(d, (c) => (c.weightsSha256 = "0".repeat(64))),
      says: (d) => new RegExp(`${weightsFile(d)}: the weights' SHA-256 does not match config.json`),
    },
    {
      name: "tensor missing",
      apply: (d) => editTensors(d, (t) => t.delete("embed.b")),
      says: (d) => new RegExp(`${weightsFile(d)}: missing weight "embed.b"`),
    },
    {
      name: "tensor of the wrong shape",
      apply: (d) =>
        editTensors(d, (t) => t.set("out.b", { shape: [7], data: new Float32Array(7) })),
      says: (d) =>
        new RegExp(`${weightsFile(d)}: weight "out.b" has shape \\[7\\], expected \\[2\\]`),
    },
    {
      name: "weights file truncated",
      apply: (d) => truncateSync(join(d, "model.safetensors"), 100),
      says: (d) => new RegExp(`${weightsFile(d)}: the weights' SHA-256 does not match`),
    },
    {
      name: "weights file truncated, checksum forged",
      apply: (d) => {
        truncateSync(join(d, "model.safetensors"), 100);
        const sha = createHash("sha256").update(readBytes(join(d, "model.safetensors")));
        editConfig(d, (c) => (c.weightsSha256 = sha.digest("hex")));
      },
      says: (d) => new RegExp(`${weightsFile(d)}: not a valid safetensors file`),
    },
    {
      name: "config not JSON",
      apply: (d) => writeFileSync(join(d, "config.json"), '{"format": '),
      says: (d) => new RegExp(`${configFile(d)}: not JSON`),
    },
    {
      name: "unknown kind",
      apply: (d) => editConfig(d, (c) => ((c.config as Json).kind = "mystery")),
      says: (d) => new RegExp(`${configFile(d)}: field "config.kind": expected .*got "mystery"`),
    },
  ];
}

/** An empty directory and a missing one, where a saved model is expected. */
const EMPTY_AND_MISSING: Corruption[] = [
  {
    name: "empty directory",
    apply: (d) => {
      rmSync(d, { recursive: true });
      mkdirSync(d);
    },
    says: (d) => new RegExp(`${esc(d)}: no saved model here`),
  },
  {
    name: "missing directory",
    apply: (d) => rmSync(d, { recursive: true }),
    says: (d) => new RegExp(`${esc(d)}: no such directory`),
  },
];

const predict = (dir: string) =>
  cli([
    ...["predict", "--structure", structure, "--context", context, "--target", "C"],
    ...["--given", "B=1", "--engine", `model:${dir}`],
  ]);

/** Runs `invoke` on a corrupted copy per corruption: exit 1, the message, no stack trace. */
async function expectEach(
  original: string,
  target: (copyDir: string) => string,
  list: Corruption[],
  invoke: (copyDir: string) => Promise<{ code: number; err: string }>,
): Promise<void> {
  const good = await invoke(copy(original));
  assert.equal(good.code, 0, `the uncorrupted copy must work: ${good.err}`);
  for (const c of list) {
    const dir = copy(original);
    c.apply(target(dir));
    const r = await invoke(dir);
    assert.equal(r.code, 1, `${c.name}: ${r.err}`);
    assert.match(r.err, c.says(target(dir)), c.name);
    assert.doesNotMatch(r.err, /\n\s+at /, `${c.name}: no stack trace`);
  }
}

test("a construction directory: predict --engine model:DIR exits 1 naming file and field", async () => {
  const list = [...corruptions("config.eps", "config.maxContext", "10"), ...EMPTY_AND_MISSING];
  await expectEach(construction, (d) => d, list, predict);
});

test("a trained model directory: predict --engine model:DIR exits 1 naming file and field", async () => {
  const list = [
    ...corruptions("config.train.steps", "config.model.dModel", "8"),
    ...EMPTY_AND_MISSING,
  ];
  await expectEach(join(run, "model"), (d) => d, list, predict);
});

test("a run's trained model: eval --checkpoint RUN exits 1 naming file and field", async () => {
  const list = [
    ...corruptions("config.task.prior", "config.task.batchSize", 2.5),
    {
      name: "model/ empty",
      apply: (d: string) => {
        rmSync(d, { recursive: true });
        mkdirSync(d);
      },
      says: (d: string) => new RegExp(`${configFile(d)}: cannot read: no such file`),
    },
    {
      name: "model/ missing",
      apply: (d: string) => rmSync(d, { recursive: true }),
      says: (d: string) =>
        new RegExp(`${esc(join(d, ".."))}: the training run has no trained model yet`),
    },
  ];
  const evaluate = (dir: string) =>
    cli([
      ...["eval", "--checkpoint", dir, "--episodes", "2", "--lengths", "1"],
      ...["--no-figures", "--out", join(dir, "eval")],
    ]);
  await expectEach(run, (d) => join(d, "model"), list, evaluate);
});

test("a training checkpoint: train --resume exits 1 naming file and field", async () => {
  const unfinished = copy(run);
  rmSync(join(unfinished, "model"), { recursive: true });
  const list = [
    ...corruptions("config.rng", "config.step", "2"),
    {
      name: "checkpoint/ empty",
      apply: (d: string) => {
        rmSync(d, { recursive: true });
        mkdirSync(d);
      },
      says: (d: string) => new RegExp(`${configFile(d)}: cannot read: no such file`),
    },
  ];
  const resume = (dir: string) => cli(["train", "--resume", "--out", dir]);
  await expectEach(unfinished, (d) => join(d, "checkpoint"), list, resume);
});

test("a run directory: a bad run.json makes train --resume and eval exit 1 naming the field", async () => {
  const runFile = (d: string) => esc(join(d, "run.json"));
  const editRun = (d: string, edit: (c: Json) => void) => {
    const c = JSON.parse(readFileSync(join(d, "run.json"), "utf8")) as Json;
    edit(c);
    writeFileSync(join(d, "run.json"), JSON.stringify(c));
  };
  const list: Corruption[] = [
    {
      name: "run.json field removed",
      apply: (d) => editRun(d, (c) => delete c.train),
      says: (d) => new RegExp(`${runFile(d)}: field "train" is missing`),
    },
    {
      name: "run.json field of the wrong type",
      apply: (d) => editRun(d, (c) => ((c.train as Json).seed = "0")),
      says: (d) => new RegExp(`${runFile(d)}: field "train.seed": expected an integer, got "0"`),
    },
    {
      name: "run.json unknown format",
      apply: (d) => editRun(d, (c) => (c.format = "other/1")),
      says: (d) =>
        new RegExp(
          `${runFile(d)}: field "format": expected one of "bnformer-train-run/2", "bnformer-train-run/1", got "other/1"`,
        ),
    },
    {
      name: "run.json not JSON",
      apply: (d) => writeFileSync(join(d, "run.json"), "{"),
      says: (d) => new RegExp(`${runFile(d)}: not JSON`),
    },
  ];
  const unfinished = copy(run);
  rmSync(join(unfinished, "model"), { recursive: true });
  const resume = (dir: string) => cli(["train", "--resume", "--out", dir]);
  await expectEach(unfinished, (d) => d, list, resume);
  const evaluate = (dir: string) =>
    cli([
      ...["eval", "--checkpoint", dir, "--episodes", "2", "--lengths", "1"],
      ...["--no-figures", "--out", join(dir, "eval")],
    ]);
  await expectEach(run, (d) => d, list, evaluate);
  const missing = join(tmp, "no-run");
  for (const dir of [missing, mkdtempSync(join(tmp, "empty-"))]) {
    const r = await resume(dir);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`${esc(dir)}: no training run in ${esc(dir)} to resume`));
  }
});

test("a saved model of another kind is refused by name, exit 1", async () => {
  const asModel = await predict(join(run, "checkpoint"));
  assert.equal(asModel.code, 1);
  assert.match(asModel.err, /checkpoint: a training checkpoint, not a trained model/);
  const resume = copy(run);
  rmSync(join(resume, "checkpoint"), { recursive: true });
  cpSync(construction, join(resume, "checkpoint"), { recursive: true });
  rmSync(join(resume, "model"), { recursive: true });
  const r = await cli(["train", "--resume", "--out", resume]);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    new RegExp(
      `${configFile(join(resume, "checkpoint"))}: field "config.kind": expected "training", got "construction"`,
    ),
  );
});

test("a good directory reads each of its files once", () => {
  const reads = new Map<string, number>();
  const counting = (path: string) => {
    reads.set(path, (reads.get(path) ?? 0) + 1);
    return readBytes(path);
  };
  const byKind = (dir: string) => {
    reads.clear();
    const saved = loadSavedModel(dir, counting);
    return { kind: saved.kind, reads: Object.fromEntries(reads) };
  };
  const files = (dir: string, ...names: string[]) =>
    Object.fromEntries(names.map((n) => [join(dir, n), 1]));
  const both = ["config.json", "model.safetensors"];
  assert.deepEqual(byKind(construction), {
    kind: "construction",
    reads: files(construction, ...both),
  });
  const model = join(run, "model");
  assert.deepEqual(byKind(model), { kind: "trained", reads: files(model, ...both) });
  const ck = join(run, "checkpoint");
  assert.deepEqual(byKind(ck), { kind: "training", reads: files(ck, ...both) });
  assert.deepEqual(byKind(run), {
    kind: "run",
    reads: { ...files(run, "run.json"), ...files(model, ...both) },
  });
});
