import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng } from "../../src/bn/rng.ts";
import { BROAD_PRIOR } from "../../src/bn/priors.ts";
import { BnformerError } from "../../src/errors.ts";
import { posteriorMean } from "../../src/estimate/posterior.ts";
import { familyChannelNames, familyLayout } from "../../src/model/family-encoding.ts";
import { TOKEN_CONTEXT, TOKEN_QUERY, flattenWeights } from "../../src/model/spec.ts";
import type { TaskConfig } from "../../src/train/tasks.ts";
import { buildTask } from "../../src/train/tasks.ts";
import { defaultTrainConfig } from "../../src/train/config.ts";
import { train } from "../../src/train/loop.ts";
import { CHECKPOINT_DIR } from "../../src/train/saved-model.ts";
import { defaultModelSize, specForTask } from "../../src/train/trained-model.ts";

function familyConfig(over: Partial<TaskConfig> = {}): TaskConfig {
  return {
    kind: "family",
    structures: [],
    randomDag: null,
    family: { kMax: 2, dMin: 2, dMax: 3 },
    prior: BROAD_PRIOR,
    target: "posterior-mean",
    batchSize: 8,
    contextMin: 5,
    contextMax: 30,
    lengthSampling: "uniform",
    queryRows: 3,
    ...over,
  };
}

test("family batches are deterministic per seed and differ between seeds", () => {
  const t = buildTask(familyConfig());
  const a = t.draw(createRng(11)).batch;
  const b = t.draw(createRng(11)).batch;
  const c = t.draw(createRng(12)).batch;
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.targets, b.targets);
  assert.notDeepEqual(a.tokens, c.tokens);
});

test("family tokens decode to the drawn rows; targets are posteriorMean of hand-counted rows", () => {
  const t = buildTask(familyConfig());
  const layout = familyLayout(2, 3);
  const names = familyChannelNames(layout);
  const { batch, episodes, contextRows: n } = t.draw(createRng(5));
  const [B, T, I] = batch.shape;
  const R = 3;
  const O = 3;
  assert.equal(I, layout.width);
  assert.equal(T, n + R);
  const seenK = new Set<number>();
  episodes.forEach((e, b) => {
    const k = e.structure.variables.length - 1;
    const K = e.structure.variables[k]!.states.length;
    seenK.add(k);
    const hot = (tok: number) => {
      const out: string[] = [];
      for (let ch = 0; ch < I; ch++)
        if (batch.tokens[(b * T + tok) * I + ch] === 1) out.push(names[ch]!);
      return out;
    };
    const expected = (row: Uint8Array, query: boolean) => [
      ...(query ? [] : [`target=${row[k]}`]),
      ...Array.from({ length: k }, (_, j) => `parent ${j + 1}=${row[j]}`),
      ...(query ? ["hidden target"] : []),
      ...Array.from({ length: 2 - k }, (_, j) => `hidden parent ${k + j + 1}`),
      `K=${K}`,
      ...(query ? ["query"] : []),
    ];
    const w = k + 1;
    for (let r = 0; r < n; r++) {
      assert.equal(batch.kinds[b * T + r], TOKEN_CONTEXT);
      assert.deepEqual(hot(r), expected(e.context.data.subarray(r * w, (r + 1) * w), false));
    }
    for (let q = 0; q < R; q++) {
      const query = e.queryRows.data.subarray(q * w, (q + 1) * w);
      assert.equal(batch.kinds[b * T + n + q], TOKEN_QUERY);
      assert.deepEqual(hot(n + q), expected(query, true));
      // Count the context rows with the query's parent values, by hand.
      const counts = new Array<number>(K).fill(0);
      for (let r = 0; r < n; r++) {
        const row = e.context.data.subarray(r * w, (r + 1) * w);
        if (Array.from({ length: k }, (_, j) => row[j] === query[j]).every(Boolean))
          counts[row[k]!]!++;
      }
      const want = posteriorMean(BROAD_PRIOR, counts);
      const at = (b * R + q) * O;
      for (let s = 0; s < O; s++) {
        if (s < K) {
          assert.ok(Math.abs(batch.targets[at + s]! - want[s]!) < 1e-6, `episode ${b} query ${q}`);
          assert.equal(batch.valid![at + s], 1);
        } else {
          assert.equal(batch.targets[at + s], 0);
          assert.equal(batch.valid![at + s], 0);
        }
      }
    }
  });
  assert.equal(B, 8);
  assert.ok(seenK.size >= 2, "several in-degrees in one batch");
});

test("a family task is checked: kMax, dMin/dMax and a prior that fits dMax states", () => {
  const bad = (over: Partial<TaskConfig>, re: RegExp) =>
    assert.throws(
      () => buildTask(familyConfig(over)),
      (e: unknown) => e instanceof BnformerError && re.test(e.message),
    );
  bad({ family: { kMax: 2, dMin: 4, dMax: 3 } }, /dMin/);
  bad({ family: { kMax: -1, dMin: 2, dMax: 3 } }, /kMax/);
  bad({ prior: { kind: "uniform", low: 0.1, high: 0.9 } }, /binary|2 states|uniform/);
  bad({ kind: "single" }, /family/);
});

test("a family run interrupted and resumed ends with bitwise the same weights", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-family-resume-"));
  try {
    const task = buildTask(familyConfig({ batchSize: 2, contextMax: 12, queryRows: 2 }));
    const spec = specForTask(task.layout, { ...defaultModelSize, dModel: 8, mlpHidden: 8 });
    const steps = 6;
    const config = {
      ...defaultTrainConfig,
      seed: 3,
      steps,
      schedule: { peakLr: 1e-2, minLr: 1e-4, warmupSteps: 2, totalSteps: steps },
      lengthBuckets: [...task.lengthBuckets],
      checkpointEvery: 3,
    };
    const run = (out: string, extra: object = {}) =>
      train({
        spec,
        config,
        provider: task.provider,
        outDir: join(dir, out),
        progress: false,
        ...extra,
      });
    const straight = await run("a");
    assert.equal((await run("b", { stopAfter: 3 })).interrupted, true);
    const resumed = await run("b", { resumeFrom: join(dir, "b", CHECKPOINT_DIR) });
    assert.equal(resumed.step, steps);
    const wa = flattenWeights(straight.weights);
    for (const [k, t] of flattenWeights(resumed.weights))
      assert.deepEqual(t.data, wa.get(k)!.data, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
