// The explorer's computations (explorer/compute.ts) against the CLI: for the same network,
// n, seed and query, the page's context, answers, attention and generated rows are exactly
// what `bnformer sample / predict / explain / generate` print.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Network } from "../../src/core.ts";
import {
  BnformerError,
  createRng,
  encodeSafetensors,
  familyEngine,
  flattenWeights,
  initWeights,
  parseBif,
  writeBif,
  writeCsv,
} from "../../src/core.ts";
import { familyLayout } from "../../src/model/family-encoding.ts";
import { specForTask } from "../../src/train/trained-model.ts";
import { DEFAULT_EPS } from "../../src/cli/engine-args.ts";
import { explain } from "../../src/cli/commands/explain.ts";
import type { Method } from "../../explorer/state.ts";
import { DEFAULT_STATE, formatState, parseState } from "../../explorer/state.ts";
import type { AttentionPicture } from "../../explorer/compute.ts";
import {
  ATTENTION_ROWS,
  EXPLORER_EPS,
  EXPLORER_MODEL_FORMAT,
  answer,
  constructionAttention,
  familyModelFromFiles,
  generate,
  givenText,
  loadNetworkSource,
  pretrainedAttention,
  resolveQuery,
  sampleContext,
  truthOf,
  tvPoint,
  tvSizes,
} from "../../explorer/compute.ts";
import { SHIPPED_MODEL_DIR, explorerModelDir, prepareModel } from "../../explorer/prepare-model.ts";
import type { CliExplanation } from "./cli-numbers.ts";
import { cli, cliNumbers } from "./cli-numbers.ts";

const METHODS: Method[] = ["mle", "bdeu", "construction"];

/** The page's numbers for one view, computed as the worker computes them. */
function pageNumbers(
  net: Network,
  v: { n: number; seed: number; target: string; given: string },
  gen: { method: Method; rows: number; seed: number },
) {
  const context = sampleContext(net, v.n, v.seed);
  const q = resolveQuery(net, v.target, v.given);
  const states = net.variables[q.target]!.states;
  const named = (p: ArrayLike<number>) => Object.fromEntries(states.map((s, i) => [s, p[i]!]));
  const predict = Object.fromEntries(
    METHODS.map((m) => [m, named(answer(net, context, q, m, null).distribution!)]),
  );
  const a = constructionAttention(net, context, q);
  return {
    contextCsv: writeCsv(net, context),
    given: givenText(net, q),
    predict,
    attention: a,
    generatedCsv: writeCsv(net, generate(net, context, gen.method, gen.rows, gen.seed, null)),
  };
}

/** The page's attention numbers are `explain --format json`'s, to the last bit. */
function assertSameExplanation(net: Network, page: AttentionPicture, cli: CliExplanation): void {
  const target = net.variables.findIndex((v) => v.name === cli.target);
  const states = net.variables[target]!.states;
  assert.deepEqual(
    Object.fromEntries(states.map((s, i) => [s, page.distribution[i]!])),
    cli.distribution,
  );
  const shown = page.summaries[page.shown]!;
  assert.deepEqual({ layer: shown.layer, head: shown.head }, cli.shown);
  assert.deepEqual(
    page.summaries.map((x) => ({
      layer: x.layer,
      head: x.head,
      rowsByAgreement: x.rows,
      massByAgreement: x.mass,
      self: x.self,
      fullMatchTv: Number.isNaN(x.fullMatchTv) ? null : x.fullMatchTv,
    })),
    cli.heads,
  );
}

async function assertSameAsCli(
  net: Network,
  file: string,
  v: { n: number; seed: number; target: string; given: string },
  gen: { method: Method; rows: number; seed: number },
): Promise<void> {
  const page = pageNumbers(net, v, gen);
  assert.equal(page.given, v.given);
  const cli = await cliNumbers({
    network: file,
    ...v,
    engines: METHODS,
    gen: { engine: gen.method, rows: gen.rows, seed: gen.seed },
  });
  assert.equal(page.contextCsv, cli.contextCsv);
  assert.deepEqual(page.predict, cli.predict);
  assert.deepEqual(page.predict["construction"], cli.explain["construction"]!.distribution);
  assertSameExplanation(net, page.attention, cli.explain["construction"]!);
  assert.equal(page.attention.svg, cli.explainSvg["construction"]);
  assert.equal(page.generatedCsv, cli.generatedCsv);
}

test("asia: context, answers, attention and generated rows equal the CLI's", async () => {
  const file = "data/bif/asia.bif";
  const net = loadNetworkSource({ kind: "bif", file, text: readFileSync(file, "utf8") });
  const view = { n: 500, seed: 1, target: "dysp", given: "bronc=yes,either=no" };
  await assertSameAsCli(net, file, view, { method: "construction", rows: 25, seed: 3 });
  // A parent configuration the 30-row context never shows: the unseen policy and back-off.
  const rare = { n: 30, seed: 7, target: "either", given: "lung=yes,tub=yes" };
  await assertSameAsCli(net, file, rare, { method: "bdeu", rows: 10, seed: 0 });
});

test("a paper graph: its BIF download gives the CLI the page's network and numbers", async () => {
  const net = loadNetworkSource({ kind: "paper", name: "general7", cptSeed: 5 });
  const dir = mkdtempSync(join(tmpdir(), "bnformer-explorer-"));
  try {
    const file = join(dir, "general7-cpts5.bif");
    writeFileSync(file, writeBif(net));
    assert.deepEqual(parseBif(readFileSync(file, "utf8")).cpts, net.cpts);
    const view = { n: 200, seed: 2, target: "D", given: "A=1,C=0" };
    await assertSameAsCli(net, file, view, { method: "mle", rows: 12, seed: 9 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Another CPT seed, another network over the same graph.
  const other = loadNetworkSource({ kind: "paper", name: "general7", cptSeed: 6 });
  assert.notDeepEqual(other.cpts, net.cpts);
});

test("the page uses the CLI's defaults: --eps and explain --rows", () => {
  assert.equal(EXPLORER_EPS, DEFAULT_EPS);
  assert.equal(ATTENTION_ROWS, explain.def.options["rows"]!.default);
});

test("a query: unknown names fall back to the last variable and first states", () => {
  const net = parseBif(readFileSync("data/bif/asia.bif", "utf8"));
  const q = resolveQuery(net, "nonsense", "bronc=maybe");
  assert.equal(net.variables[q.target]!.name, "dysp");
  assert.equal(givenText(net, q), "bronc=yes,either=yes");
  assert.equal(givenText(net, resolveQuery(net, "asia", "")), "");
  // The truth is the CPT row: P(dysp | bronc=yes, either=yes) in asia.bif.
  assert.deepEqual(truthOf(net, q), [0.9, 0.1]);
});

test("the TV plot's point at the current n is the table's TV", () => {
  const net = parseBif(readFileSync("data/bif/asia.bif", "utf8"));
  const q = resolveQuery(net, "lung", "smoke=yes");
  const point = tvPoint(net, 120, 4, q, METHODS, null);
  const context = sampleContext(net, 120, 4);
  for (const m of METHODS) assert.equal(point.tv[m], answer(net, context, q, m, null).tv);
  assert.deepEqual(tvSizes(120), [10, 20, 50, 100, 120, 200, 500, 1000, 2000]);
  assert.deepEqual(tvSizes(500), [10, 20, 50, 100, 200, 500, 1000, 2000]);
});

test("the URL state round-trips, and unusable values fall back to defaults", () => {
  const s = {
    ...DEFAULT_STATE,
    network: "chain7",
    cpts: 4,
    n: 900,
    seed: 12,
    target: "C",
    given: "B=1",
    gen: "mle" as const,
    rows: 7,
    gseed: 2,
  };
  assert.deepEqual(parseState(formatState(s)), s);
  const bad = parseState("?n=0&seed=-1&rows=99999&gen=nope&cpts=x");
  assert.deepEqual(bad, DEFAULT_STATE);
  assert.equal(parseState("?n=2001").n, DEFAULT_STATE.n);
});

/** A family model with random weights, and its files as the build writes them. */
function randomFamilyModel() {
  const layout = familyLayout(2, 3);
  const size = { dModel: 16, layers: 2, heads: 2, mlpHidden: 16, activation: "gelu" as const };
  const spec = specForTask(layout, size);
  const weights = initWeights(createRng(8), spec);
  const json = { format: EXPLORER_MODEL_FORMAT, description: "random", kMax: 2, dMax: 3, spec };
  const bytes = encodeSafetensors(flattenWeights(weights), { format: spec.format });
  return { model: { spec, weights, layout }, json, bytes };
}

test("the page's pretrained model files give the model's answers", () => {
  const { model, json, bytes } = randomFamilyModel();
  const loaded = familyModelFromFiles(json, bytes);
  const net = parseBif(readFileSync("data/bif/asia.bif", "utf8"));
  const context = sampleContext(net, 40, 1);
  const q = resolveQuery(net, "dysp", "bronc=no,either=yes");
  const page = answer(net, context, q, "pretrained", loaded).distribution;
  const library = familyEngine(model).bind(net, context)(q.target, q.row);
  assert.deepEqual(page, Array.from(library));
});

test("broken pretrained model files are refused, naming the file", () => {
  const { json, bytes } = randomFamilyModel();
  const refused = (j: unknown, b: Uint8Array, message: RegExp) =>
    assert.throws(
      () => familyModelFromFiles(j, b),
      (e: unknown) =>
        e instanceof BnformerError &&
        /pretrained\/model\./.test(e.message) &&
        message.test(e.message),
    );
  refused({ ...json, format: "other" }, bytes, /expected format/);
  refused({ ...json, dMax: 4 }, bytes, /does not fit the family layout/);
  refused(json, bytes.subarray(0, 100), /./);
});

test("a family beyond the pretrained model's limits is a refusal, not an error", () => {
  const { model } = randomFamilyModel(); // kMax 2, dMax 3
  const net = parseBif(readFileSync("data/bif/child.bif", "utf8"));
  const context = sampleContext(net, 50, 1);
  const wide = net.variables.findIndex((v) => v.states.length > 3);
  const a = answer(
    net,
    context,
    resolveQuery(net, net.variables[wide]!.name, ""),
    "pretrained",
    model,
  );
  assert.equal(a.distribution, null);
  assert.match(a.error ?? "", /state|dMax/);
});

/**
 * The family models the page's pretrained column is tested with: a tiny one trained here
 * (so the test never depends on a committed model) and the shipped one when it exists.
 */
async function familyModelDirs(work: string): Promise<string[]> {
  const tiny = join(work, "tiny-family");
  await cli([
    ...["train", "--task", "family", "--steps", "2", "--seed", "4", "--batch", "2"],
    ...["--query-rows", "2", "--context-max", "12", "--d-model", "8", "--heads", "2"],
    ...["--mlp", "8", "--out", tiny],
  ]);
  return existsSync(SHIPPED_MODEL_DIR) ? [tiny, SHIPPED_MODEL_DIR] : [tiny];
}

test("the pretrained model from the page's files: answers and attention equal the CLI's", async () => {
  const work = mkdtempSync(join(tmpdir(), "bnformer-explorer-"));
  try {
    const out = join(work, "public");
    assert.equal(prepareModel(join(work, "absent"), out), false);
    assert.equal(existsSync(join(out, "pretrained")), false);
    const file = "data/bif/asia.bif";
    const net = parseBif(readFileSync(file, "utf8"), { file });
    for (const dir of await familyModelDirs(work)) {
      // The model as the build writes it and the worker reads it.
      assert.equal(prepareModel(dir, out), true);
      const json = JSON.parse(readFileSync(join(out, "pretrained/model.json"), "utf8")) as {
        shipped: boolean;
      };
      assert.equal(json.shipped, dir === SHIPPED_MODEL_DIR);
      const loaded = familyModelFromFiles(
        json,
        readFileSync(join(out, "pretrained/model.safetensors")),
      );
      for (const v of [
        { n: 500, seed: 1, target: "dysp", given: "bronc=yes,either=no" },
        { n: 30, seed: 7, target: "either", given: "lung=yes,tub=yes" },
      ]) {
        const context = sampleContext(net, v.n, v.seed);
        const q = resolveQuery(net, v.target, v.given);
        const engine = `model:${dir}`;
        const numbers = await cliNumbers({
          network: file,
          ...v,
          engines: [engine],
          gen: { engine, rows: 5, seed: 2 },
          explainEngines: [engine],
        });
        const states = net.variables[q.target]!.states;
        const page = answer(net, context, q, "pretrained", loaded).distribution!;
        assert.deepEqual(
          Object.fromEntries(states.map((s, i) => [s, page[i]!])),
          numbers.predict[engine],
        );
        const attention = pretrainedAttention(loaded, net, context, q);
        assertSameExplanation(net, attention, numbers.explain[engine]!);
        assert.equal(attention.svg, numbers.explainSvg[engine]);
        // One weight per context row (rows are not merged), in every head.
        for (const h of numbers.explain[engine]!.heads)
          assert.equal(
            h.rowsByAgreement.reduce((a, b) => a + b, 0),
            v.n,
          );
        const generated = generate(net, context, "pretrained", 5, 2, loaded);
        assert.equal(writeCsv(net, generated), numbers.generatedCsv);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("a family beyond the pretrained model's limits has no attention: a BnformerError", () => {
  const { model } = randomFamilyModel(); // kMax 2, dMax 3
  const net = parseBif(readFileSync("data/bif/child.bif", "utf8"));
  const context = sampleContext(net, 50, 1);
  const wide = net.variables.findIndex((v) => v.states.length > 3);
  const q = resolveQuery(net, net.variables[wide]!.name, "");
  assert.throws(
    () => pretrainedAttention(model, net, context, q),
    (e: unknown) => e instanceof BnformerError && /state|dMax/.test(e.message),
  );
});

test("the build's model: models/pretrained/ when present, else the development model, else none", () => {
  const shipped = existsSync(SHIPPED_MODEL_DIR);
  assert.equal(explorerModelDir(undefined), shipped ? SHIPPED_MODEL_DIR : null);
  assert.equal(explorerModelDir(""), shipped ? SHIPPED_MODEL_DIR : null);
  assert.equal(explorerModelDir("runs/dev"), shipped ? SHIPPED_MODEL_DIR : "runs/dev");
});
