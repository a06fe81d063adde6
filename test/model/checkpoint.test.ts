import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng } from "../../src/bn/rng.ts";
import { flattenWeights, initWeights } from "../../src/model/spec.ts";
import type { TransformerSpec } from "../../src/model/spec.ts";
import {
  loadCheckpoint,
  loadConstruction,
  saveCheckpoint,
  saveConstruction,
} from "../../src/model/checkpoint.ts";
import { construct } from "../../src/model/construction.ts";
import { encodeEpisode, queriesForTargets } from "../../src/model/encoding.ts";
import { forwardReference } from "../../src/model/reference.ts";
import { readSafetensors, writeSafetensors } from "../../src/model/safetensors-file.ts";
import { SMALL_SPEC, ancestralRows, randomNetwork } from "./construction-fixtures.ts";

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-ckpt-"));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("saved construction weights load back and reproduce the same outputs bit for bit", () => {
  withDir((dir) => {
    const rng = createRng(8);
    const net = randomNetwork(rng, 6, 3, 3);
    const c = construct(net, { eps: 1e-6, maxContext: 100 });
    saveConstruction(dir, c);
    const loaded = loadConstruction(dir);
    assert.deepEqual(loaded.spec, c.spec);
    assert.deepEqual(loaded.params, c.params);
    assert.notEqual(loaded.weights, c.weights); // read from the file, not rebuilt
    const context = ancestralRows(rng, net, 100);
    const queries = queriesForTargets(ancestralRows(rng, net, 5), [0, 1, 2, 3, 4, 5]);
    const ep = encodeEpisode(c.layout, context, queries);
    const a = forwardReference(c.spec, c.weights, ep.tokens, ep.kinds).outputs;
    const b = forwardReference(loaded.spec, loaded.weights, ep.tokens, ep.kinds).outputs;
    assert.deepEqual(Array.from(b), Array.from(a));
    // The files are what other tools expect.
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(config.format, "bnformer-checkpoint/1");
    assert.equal(config.config.kind, "construction");
    const st = readSafetensors(join(dir, "model.safetensors"));
    assert.deepEqual([...st.tensors.keys()].sort(), [...flattenWeights(c.weights).keys()].sort());
    assert.ok([...st.tensors.values()].every((t) => t.data instanceof Float64Array));
  });
});

test("float32 weights, config and extra tensors round-trip exactly", () => {
  withDir((dir) => {
    const weights = initWeights(createRng(1), SMALL_SPEC);
    const extra = new Map([["adam.m.embed.w", { shape: [2], data: Float32Array.from([1, 2]) }]]);
    const config = { step: 17, rng: [1, 2, 3, 4], note: "résumé" };
    saveCheckpoint(dir, { spec: SMALL_SPEC, weights, config, extra });
    const back = loadCheckpoint(dir);
    assert.deepEqual(back.spec, SMALL_SPEC);
    assert.deepEqual(back.config, config);
    assert.deepEqual(back.extra, extra);
    const a = flattenWeights(weights);
    for (const [name, t] of flattenWeights(back.weights)) {
      assert.ok(t.data instanceof Float32Array);
      assert.deepEqual(Array.from(t.data), Array.from(a.get(name)!.data), name);
    }
  });
});

test("a weights file that does not match config.json or the spec is refused, naming the problem", () => {
  withDir((dir) => {
    saveCheckpoint(dir, {
      spec: SMALL_SPEC,
      weights: initWeights(createRng(2), SMALL_SPEC),
      config: {},
    });
    // Replace the weights with a file for another spec (as a crash between the two writes could).
    const other: TransformerSpec = { ...SMALL_SPEC, dModel: 8 };
    writeSafetensors(
      join(dir, "model.safetensors"),
      flattenWeights(initWeights(createRng(3), other)),
    );
    assert.throws(
      () => loadCheckpoint(dir),
      /model.safetensors: the weights' SHA-256 does not match config.json/,
    );
    // With a matching digest the shape check names the key and both shapes.
    saveCheckpoint(dir, { spec: other, weights: initWeights(createRng(3), other), config: {} });
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    cfg.spec = SMALL_SPEC;
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    assert.throws(
      () => loadCheckpoint(dir),
      /weight "embed.w" has shape \[5,8\], expected \[5,6\]/,
    );
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, format: "other/2" }));
    assert.throws(
      () => loadCheckpoint(dir),
      /config.json: field "format": expected "bnformer-checkpoint\/1", got "other\/2"/,
    );
    assert.throws(
      () => loadConstruction(join(dir, "nowhere")),
      /config.json: cannot read: no such file/,
    );
  });
});
