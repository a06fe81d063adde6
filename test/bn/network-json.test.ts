import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { BnformerError } from "../../src/errors.ts";
import {
  parseNetworkJson,
  parseNetworkJsonStructure,
  writeNetworkJson,
} from "../../src/bn/network-json.ts";
import { parseBif } from "../../src/bn/bif.ts";

const read = (path: string) => readFileSync(path, "utf8");

/** The JSON example of docs/network-formats.md, so the documented format is the tested one. */
function docsExample(): string {
  const doc = read("docs/network-formats.md");
  const m = /```json\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, "docs/network-formats.md has a json example");
  return m[1]!;
}

test("the documented example reads, with rows ordered last parent fastest", () => {
  const net = parseNetworkJson(docsExample());
  assert.equal(net.name, "rain");
  assert.deepEqual(net.parents, [[], [0], [0], [1, 2]]);
  // The same model in BIF, rows listed by name in a scrambled order: the layouts must agree.
  const bif = parseBif(`network rain {}
variable cloudy { type discrete [ 2 ] { no, yes }; }
variable sprinkler { type discrete [ 2 ] { off, on }; }
variable rain { type discrete [ 2 ] { no, yes }; }
variable wet { type discrete [ 2 ] { no, yes }; }
probability ( cloudy ) { table 0.5, 0.5; }
probability ( sprinkler | cloudy ) { (yes) 0.9, 0.1; (no) 0.5, 0.5; }
probability ( rain | cloudy ) { (no) 0.8, 0.2; (yes) 0.2, 0.8; }
probability ( wet | sprinkler, rain ) {
  (on, yes) 0.01, 0.99; (off, yes) 0.1, 0.9; (off, no) 1, 0; (on, no) 0.1, 0.9;
}`);
  assert.deepEqual(net, bif);
});

test("write then read returns the identical network for every shared BIF file", () => {
  for (const f of readdirSync("data/bif")) {
    const net = parseBif(read(`data/bif/${f}`));
    const text = writeNetworkJson(net);
    const back = parseNetworkJson(text, { file: f });
    assert.deepEqual(back, net, f);
    assert.equal(writeNetworkJson(back), text, f);
  }
});

test("a structure-only file reads with parseNetworkJsonStructure, not parseNetworkJson", () => {
  const text = JSON.stringify({
    format: "bnformer-network/1",
    variables: [
      { name: "B", states: ["0", "1"], parents: ["A"], cpt: [[2, "x"]] },
      { name: "A", states: ["0", "1", "2"] },
    ],
  });
  const s = parseNetworkJsonStructure(text);
  assert.deepEqual(s, {
    name: "unknown",
    variables: [
      { name: "B", states: ["0", "1"] },
      { name: "A", states: ["0", "1", "2"] },
    ],
    parents: [[1], []],
  });
  assert.throws(
    () => parseNetworkJson(text, { file: "s.json" }),
    /^BnformerError: s\.json: variables\[0\]\.cpt: expected 3 rows \(one per parent configuration\), found 1 row\(s\)$/,
  );
});

/** A valid document with `edit` applied to a copy of it. */
function doc(
  edit: (d: Record<string, unknown> & { variables: Record<string, unknown>[] }) => void,
) {
  const d = JSON.parse(docsExample()) as Record<string, unknown> & {
    variables: Record<string, unknown>[];
  };
  edit(d);
  return JSON.stringify(d, null, 2);
}

/** Asserts that parsing `text` throws `code` at JSON `path` with exactly `message`. */
function assertJsonError(text: string, path: string, message: string, code = "parse") {
  assert.throws(
    () => parseNetworkJson(text, { file: "net.json" }),
    (e: unknown) => {
      assert.ok(e instanceof BnformerError);
      assert.equal(e.code, code);
      assert.deepEqual(e.location.path, [path]);
      assert.equal(e.message, `net.json: ${path}: ${message}`);
      return true;
    },
  );
}

test("malformed JSON networks: errors name the JSON path", () => {
  const allowed = "allowed keys: name, states, parents, cpt";
  assertJsonError(
    doc((d) => (d.variables[1]!.colour = "red")),
    "variables[1].colour",
    `unknown key "colour"; ${allowed}`,
  );
  assertJsonError(
    doc((d) => (d.nodes = [])),
    "nodes",
    `unknown key "nodes"; allowed keys: format, name, variables`,
  );
  assertJsonError(
    doc((d) => delete d.format),
    "format",
    `expected "bnformer-network/1", found nothing`,
  );
  assertJsonError(
    doc((d) => (d.format = "bnformer-network/2")),
    "format",
    `expected "bnformer-network/1", found string "bnformer-network/2"`,
  );
  assertJsonError("[]", "(root)", "expected an object, found an array");
  assertJsonError(
    doc((d) => (d.variables[2]!.name = "cloudy")),
    "variables[2].name",
    `"cloudy" is already the name of variables[0]`,
  );
  assertJsonError(
    doc((d) => (d.variables[3]!.parents = ["sprinkler", "snow"])),
    "variables[3].parents[1]",
    `unknown variable "snow"`,
  );
  assertJsonError(
    doc((d) => (d.variables[0]!.states = ["no", 1])),
    "variables[0].states[1]",
    "expected a string, found number 1",
  );
  assertJsonError(
    doc(
      (d) =>
        (d.variables[3]!.cpt = [
          [1, 0],
          [0.1, 0.9],
          [0.1, 0.9],
        ]),
    ),
    "variables[3].cpt",
    "expected 4 rows (one per parent configuration), found 3 row(s)",
  );
  assertJsonError(
    doc((d) => ((d.variables[3]!.cpt as unknown[])[2] = [0.1, 0.8, 0.1])),
    "variables[3].cpt[2]",
    "expected 2 numbers (one per state), found 3 number(s)",
  );
  assertJsonError(
    doc((d) => ((d.variables[3]!.cpt as unknown[])[2] = [0.1, "0.9"])),
    "variables[3].cpt[2][1]",
    'expected a number, found string "0.9"',
  );
  assertJsonError(
    doc((d) => delete d.variables[2]!.cpt),
    "variables[2].cpt",
    "missing; a network needs every CPT (loadStructure reads structure-only files)",
  );
});

test("model errors from the validator are re-thrown with the JSON path", () => {
  const sum = "row sums to 0.9, not 1 (tolerance 0.000001)";
  assertJsonError(
    doc((d) => ((d.variables[2]!.cpt as unknown[])[1] = [0.2, 0.7])),
    "variables[2].cpt[1]",
    sum,
    "network",
  );
  assertJsonError(
    doc((d) => ((d.variables[2]!.cpt as unknown[])[1] = [1.2, -0.2])),
    "variables[2].cpt[1]",
    'entry 1 ("yes") is -0.2; probabilities must be finite and >= 0',
    "network",
  );
  assertJsonError(
    doc((d) => (d.variables[0]!.parents = ["wet"])),
    "variables",
    "the graph has a cycle: cloudy -> sprinkler -> wet -> cloudy",
    "network",
  );
  assertJsonError(
    doc((d) => (d.variables[1]!.parents = ["cloudy", "cloudy"])),
    "variables[1]",
    `"sprinkler" lists parent "cloudy" twice`,
    "network",
  );
});

test("a JSON syntax error gives its line and column when V8 reports a position", () => {
  assert.throws(
    () =>
      parseNetworkJson('{\n  "format": "bnformer-network/1",\n  "name": "x",,\n}', {
        file: "s.json",
      }),
    (e: unknown) => {
      assert.ok(e instanceof BnformerError);
      assert.deepEqual([e.code, e.location.line, e.location.column], ["parse", 3, 15]);
      assert.match(e.message, /^s\.json:3:15: invalid JSON: /);
      return true;
    },
  );
});

test("renormalize passes through to the validator", () => {
  const text = doc((d) => ((d.variables[2]!.cpt as unknown[])[1] = [0.20004, 0.8]));
  assert.throws(() => parseNetworkJson(text), /set renormalize: true to rescale rounded rows/);
  const net = parseNetworkJson(text, { renormalize: true });
  assert.ok(Math.abs(net.cpts[2]![2]! + net.cpts[2]![3]! - 1) < 1e-15);
});
