import { test, before } from "node:test";
import assert from "node:assert/strict";
import { TOKEN_CONTEXT as C, TOKEN_PAD as P, TOKEN_QUERY as Q } from "../../src/model/spec.ts";
import { loadJax, jaxLib } from "../../src/model/jax/setup.ts";
import { querySlots, toJax } from "../../src/model/jax/executor.ts";
import type { LossKind } from "../../src/train/loss.ts";
import { denseTargets, lossCore, oneHotTargets } from "../../src/train/loss.ts";

/**
 * jax-js's wasm float32 log is accurate to ~3e-6 relative (measured: 1.2e-5 absolute at
 * log(64)); exp to ~6e-7. The losses here are O(1), so 2e-5 is a few times that, while a
 * wrong mask or average (errors of 0.1 and more) fails.
 */
const LOSS_TOL = 2e-5;

before(async () => {
  await loadJax();
});

// Two sequences: [context, query A (3 valid states), query B (states 0 and 1 valid)] and
// [context, context, PAD]. Two slots per sequence: A, B, then two unused slots.
const SLOTS = querySlots({
  tokens: new Float32Array(6),
  kinds: Uint8Array.from([C, Q, Q, C, C, P]),
  shape: [2, 3, 1],
});
const R = 4;
const O = 3;
const OUT = [0.2, -1.0, 0.7, 1.5, 0.1, 42, 9, 9, 9, 5, 5, 5];
const VALID = Uint8Array.from([1, 1, 1, 1, 1, 0]);

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

async function loss(
  kind: LossKind,
  output: "logits" | "probabilities",
  out: number[],
  targets: Float32Array,
) {
  const d = denseTargets(SLOTS.slotOfQuery, R, O, { targets, valid: VALID });
  const l = lossCore(
    kind,
    output,
    toJax(out, [R, O]),
    toJax(d.target, [R, O]),
    toJax(d.valid, [R, O]),
    toJax(d.weight, [R]),
  );
  return (await l.data())[0]!;
}

test("cross-entropy is -log softmax over the valid states at the observed value, averaged over queries", async () => {
  const targets = oneHotTargets([2, 1], O);
  const pa = softmax([0.2, -1.0, 0.7]);
  const pb = softmax([1.5, 0.1]); // the invalid logit 42 is excluded
  const want = -(Math.log(pa[2]!) + Math.log(pb[1]!)) / 2;
  assert.ok(Math.abs((await loss("cross-entropy", "logits", OUT, targets)) - want) < LOSS_TOL);
});

test("L1 is sum |p - t| over valid states (2 x TV), averaged over queries", async () => {
  const targets = Float32Array.from([0.5, 0.25, 0.25, 0.9, 0.1, 0]);
  const pa = softmax([0.2, -1.0, 0.7]);
  const pb = softmax([1.5, 0.1]);
  const l1 = (p: number[], t: number[]) => p.reduce((s, x, i) => s + Math.abs(x - t[i]!), 0);
  const want = (l1(pa, [0.5, 0.25, 0.25]) + l1(pb, [0.9, 0.1])) / 2;
  assert.ok(Math.abs((await loss("l1", "logits", OUT, targets)) - want) < LOSS_TOL);
});

test("unused slots and invalid states change neither the loss nor get gradient", async () => {
  const targets = oneHotTargets([0, 0], O);
  const ignored = [5, 6, 7, 8, 9, 10, 11]; // B's invalid logit, the two unused slots
  const changed = [...OUT];
  for (const i of ignored) changed[i] = -3;
  for (const kind of ["cross-entropy", "l1"] as const) {
    assert.equal(
      await loss(kind, "logits", changed, targets),
      await loss(kind, "logits", OUT, targets),
    );
    const jax = jaxLib();
    const d = denseTargets(SLOTS.slotOfQuery, R, O, { targets, valid: VALID });
    const g = jax.grad((out: ReturnType<typeof toJax>) =>
      lossCore(
        kind,
        "logits",
        out,
        toJax(d.target, [4, O]),
        toJax(d.valid, [4, O]),
        toJax(d.weight, [4]),
      ),
    )(toJax(OUT, [4, O]));
    const gd = Array.from(await g.data());
    for (const i of ignored) assert.equal(gd[i], 0, `${kind} gradient entry ${i}`);
    assert.ok(gd.slice(0, 5).every((x) => x !== 0));
  }
});

test("with a probabilities readout, cross-entropy is -log p and L1 compares p directly", async () => {
  const out = [0.6, 0.3, 0.1, 0.25, 0.75, 0, 0, 0, 0, 0, 0, 0];
  const ce = await loss("cross-entropy", "probabilities", out, oneHotTargets([0, 1], O));
  assert.ok(Math.abs(ce - -(Math.log(0.6) + Math.log(0.75)) / 2) < LOSS_TOL);
  const l1 = await loss("l1", "probabilities", out, Float32Array.from([1, 0, 0, 0.5, 0.5, 0]));
  assert.ok(Math.abs(l1 - (0.8 + 0.5) / 2) < LOSS_TOL);
});

test("targets that do not fit are rejected with the query and state", () => {
  assert.throws(
    () => denseTargets(SLOTS.slotOfQuery, R, O, { targets: new Float32Array(3) }),
    /targets have 3 values; expected 2 queries x 3 outputs/,
  );
  assert.throws(
    () =>
      denseTargets(SLOTS.slotOfQuery, R, O, {
        targets: Float32Array.from([1, 0, 0, 0, 0, 1]),
        valid: VALID,
      }),
    /query 1 state 2: target 1 on an invalid state/,
  );
  assert.throws(
    () => denseTargets(new Int32Array(0), 2, O, { targets: new Float32Array(0) }),
    /no QUERY token/,
  );
  assert.throws(
    () => oneHotTargets([0, 3], 3),
    /label 3 of query 1 is not a state index in \[0, 3\)/,
  );
});
