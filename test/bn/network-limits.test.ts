// Networks no reader may accept: no variables at all, and a CPT past MAX_CPT_ENTRIES.
// Each is a located BnformerError from every reader, and exit 1 from the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BnformerError } from "../../src/errors.ts";
import { parseBif, parseBifPartial, parseBifStructure } from "../../src/bn/bif.ts";
import { parseNetworkJson, parseNetworkJsonStructure } from "../../src/bn/network-json.ts";
import { MAX_CPT_ENTRIES, validateStructure } from "../../src/bn/network.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";

/** Asserts `f` throws a BnformerError with `code` whose message starts with `prefix` and matches `re`. */
function rejects(f: () => unknown, code: string, prefix: string, re: RegExp) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof BnformerError, String(e));
    assert.equal(e.code, code);
    assert.ok(e.message.startsWith(prefix), e.message);
    assert.match(e.message, re);
    return true;
  });
}

test("an empty network is rejected by every reader, located", () => {
  for (const text of ["", "network x {}\n", "// nothing\nnetwork x { property p 1; }\n"]) {
    const eof = `e.bif:${text.split("\n").length}:`;
    for (const read of [parseBif, parseBifPartial, parseBifStructure]) {
      rejects(() => read(text, { file: "e.bif" }), "parse", eof, /no variables/);
    }
  }
  const json = '{"format": "bnformer-network/1", "name": "e", "variables": []}';
  for (const read of [parseNetworkJson, parseNetworkJsonStructure]) {
    rejects(() => read(json, { file: "e.json" }), "network", "e.json: variables: ", /no variables/);
  }
  rejects(
    () => validateStructure({ name: "e", variables: [], parents: [] }),
    "network",
    "",
    /no variables/,
  );
});

/** A BIF with binary roots v0..v{n-1} and a child c of all of them, given by a one-row default. */
function wideBif(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `v${i}`);
  const lines = ["network wide {}"];
  for (const v of [...names, "c"]) lines.push(`variable ${v} { type discrete [ 2 ] { a, b }; }`);
  for (const v of names) lines.push(`probability ( ${v} ) { table 0.5, 0.5; }`);
  lines.push(`probability ( c | ${names.join(", ")} ) { default 0.5, 0.5; }`);
  return lines.join("\n") + "\n";
}

test("a CPT past MAX_CPT_ENTRIES is rejected before it is allocated, naming node and size", () => {
  const line = 40 + 2; // c's declaration
  const size = 2 ** 41;
  const re = new RegExp(
    `"c" would have ${size} entries \\(40 parents\\); at most ${MAX_CPT_ENTRIES}`,
  );
  for (const read of [parseBif, parseBifPartial, parseBifStructure]) {
    rejects(() => read(wideBif(40), { file: "w.bif" }), "network", `w.bif:${line}:10: `, re);
  }
  // Just inside the limit (2^23 configurations x 2 states) the structure is accepted.
  assert.equal(parseBifStructure(wideBif(23)).parents[23]!.length, 23);
  rejects(
    () => parseBifStructure(wideBif(24)),
    "network",
    "line 26, column 10: c: ",
    /33554432 entries/,
  );
  const vars = Array.from({ length: 40 }, (_, i) => ({ name: `v${i}`, states: ["a", "b"] }));
  const names = vars.map((v) => v.name);
  const doc = {
    format: "bnformer-network/1",
    variables: [...vars, { name: "c", states: ["a", "b"], parents: names, cpt: [] }],
  };
  for (const read of [parseNetworkJson, parseNetworkJsonStructure]) {
    rejects(
      () => read(JSON.stringify(doc), { file: "w.json" }),
      "network",
      "w.json: variables[40]: ",
      re,
    );
  }
});

test("the CLI exits 1 on an empty or oversized network, with the location", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-limits-"));
  const cases: [string, string, RegExp][] = [
    ["empty.bif", "", /empty\.bif:1:1: no variables/],
    ["wide.bif", wideBif(40), /wide\.bif:42:10: .*2199023255552 entries/],
  ];
  for (const [name, text, re] of cases) {
    const f = join(dir, name);
    writeFileSync(f, text);
    for (const argv of [
      ["info", f],
      ["info", f, "--json"],
    ]) {
      const io = captureIo();
      const code = await main(argv, io);
      assert.equal(code, 1, argv.join(" "));
      assert.match(io.stderr.join(""), re);
      assert.doesNotMatch(io.stderr.join(""), /\n\s+at /, "no stack trace");
    }
  }
});
