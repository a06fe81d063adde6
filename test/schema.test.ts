// src/schema.ts: values come back typed, and every failure is a "parse" error naming the
// file and the field, with what was expected and what was found.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BnformerError } from "../src/errors.ts";
import {
  array,
  integer,
  literal,
  nullable,
  number,
  object,
  optional,
  refine,
  string,
  tuple,
  variant,
} from "../src/schema.ts";

const AT = { file: "runs/x/config.json", path: [] };

const layer = object({ heads: integer({ min: 1 }), note: optional(string()) });
const doc = object({
  spec: object({ layers: array(layer), rate: number({ min: 0, exclusiveMin: true }) }),
  minutes: nullable(number()),
  state: tuple(integer(), integer()),
  prior: variant("kind", {
    beta: object({ kind: literal("beta"), alpha: number() }),
    uniform: object({ kind: literal("uniform"), low: number(), high: number() }),
  }),
});

const good = {
  spec: { layers: [{ heads: 2 }, { heads: 1, note: "x" }], rate: 0.5 },
  minutes: null,
  state: [1, 2],
  prior: { kind: "beta", alpha: 0.3 },
};

/** The message of the "parse" error `f` throws. */
function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof BnformerError && e.code === "parse", String(e));
    return e.message;
  }
  assert.fail("no error");
}

test("a valid value comes back equal, keys in the order read", () => {
  const back = doc(good, AT);
  assert.deepEqual(back, good);
  const reordered = doc({ ...good, spec: { rate: 0.5, layers: [] } }, AT);
  assert.deepEqual(Object.keys(reordered.spec), ["rate", "layers"]);
});

test("each failure names the file and the field path, what was expected and what was found", () => {
  const bad = (patch: (g: typeof good) => unknown) =>
    failure(() => doc(patch(structuredClone(good)), AT));
  assert.equal(
    bad((g) => ({ ...g, spec: { ...g.spec, layers: [{ heads: 2 }, { heads: "3" }] } })),
    'runs/x/config.json: field "spec.layers.1.heads": expected an integer >= 1, got "3"',
  );
  assert.equal(
    bad((g) => ({ ...g, spec: { layers: [] } })),
    'runs/x/config.json: field "spec.rate" is missing',
  );
  assert.equal(
    bad((g) => ({ ...g, spec: { ...g.spec, rate: 0 } })),
    'runs/x/config.json: field "spec.rate": expected a finite number > 0, got 0',
  );
  assert.equal(
    bad((g) => ({ ...g, extra: 1 })),
    'runs/x/config.json: field "extra": unknown field (expected spec, minutes, state, prior)',
  );
  assert.equal(
    bad((g) => ({ ...g, state: [1] })),
    'runs/x/config.json: field "state": expected an array of 2 items, got [1]',
  );
  assert.equal(
    bad((g) => ({ ...g, prior: { kind: "gamma" } })),
    'runs/x/config.json: field "prior.kind": expected one of "beta", "uniform", got "gamma"',
  );
  assert.equal(
    bad((g) => ({ ...g, prior: { kind: "uniform", low: 0 } })),
    'runs/x/config.json: field "prior.high" is missing',
  );
  assert.equal(
    failure(() => doc([], AT)),
    "runs/x/config.json: expected an object, got []",
  );
});

test("refine turns an in-memory check's error into a parse error at the field", () => {
  const ordered = refine(object({ low: number(), high: number() }), (r) => {
    if (r.low > r.high) throw new BnformerError("config", "low must be <= high");
  });
  assert.deepEqual(ordered({ low: 1, high: 2 }, AT), { low: 1, high: 2 });
  assert.equal(
    failure(() => ordered({ low: 3, high: 2 }, { file: "f.json", path: ["range"] })),
    'f.json: field "range": low must be <= high',
  );
});
