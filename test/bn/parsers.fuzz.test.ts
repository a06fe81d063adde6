// Property tests over the network and data readers: whatever the input (arbitrary text,
// near-grammar token soup, valid files with random edits), a reader returns a value or
// throws a BnformerError located at file:line:col or at a path (variable, row, JSON key).
// Any other exception (TypeError, RangeError, ...) fails. Fixed seeds and bounded runs keep
// the file fast and every failure reproducible.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { BnformerError, formatLocation } from "../../src/errors.ts";
import { parseBif, parseBifPartial, parseBifStructure, writeBif } from "../../src/bn/bif.ts";
import {
  jsonErrorOffset,
  parseNetworkJson,
  parseNetworkJsonStructure,
  writeNetworkJson,
} from "../../src/bn/network-json.ts";
import { parseCsv } from "../../src/bn/csv.ts";
import type { CsvOptions } from "../../src/bn/csv.ts";

const RUNS = 250;
const BIF_FILES = readdirSync("data/bif")
  .filter((f) => f.endsWith(".bif"))
  .sort()
  .map((f) => readFileSync(`data/bif/${f}`, "utf8"));
const ASIA = parseBif(readFileSync("data/bif/asia.bif", "utf8"));
const ASIA_JSON = writeNetworkJson(ASIA);

/**
 * Runs `read`; passes if it returns, or throws a BnformerError located in `file` (or, with
 * `options`, a "config" error at the path of one of those options).
 */
function valueOrLocatedError(read: () => unknown, file: string, options: string[] = []): unknown {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    const loc = e.location;
    if (e.code === "config" && options.includes(loc.path?.[0] ?? "")) return undefined;
    assert.equal(loc.file, file, `error names its file: ${e.message}`);
    const where = loc.line !== undefined || (loc.path !== undefined && loc.path.length > 0);
    assert.ok(where, `error has a line or a path: ${e.message}`);
    assert.ok(e.message.startsWith(formatLocation(loc)), e.message);
    assert.ok(e.message.length > formatLocation(loc).length, "a message after the location");
    return undefined;
  }
}

/** Random edits of `text`: deletions, insertions, duplications, truncation. */
function mutated(texts: readonly string[], insertions: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.record({
    kind: fc.constantFrom("delete", "insert", "duplicate", "truncate", "replace"),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    len: fc.integer({ min: 1, max: 40 }),
    piece: insertions,
  });
  return fc
    .tuple(
      fc.integer({ min: 0, max: texts.length - 1 }),
      fc.array(edit, { minLength: 1, maxLength: 4 }),
    )
    .map(([i, edits]) => {
      let t = texts[i]!;
      for (const e of edits) {
        const p = Math.floor(e.at * t.length);
        if (e.kind === "delete") t = t.slice(0, p) + t.slice(p + e.len);
        else if (e.kind === "insert") t = t.slice(0, p) + e.piece + t.slice(p);
        else if (e.kind === "duplicate")
          t = t.slice(0, p + e.len) + t.slice(p, p + e.len) + t.slice(p + e.len);
        else if (e.kind === "truncate") t = t.slice(0, p);
        else t = t.slice(0, p) + e.piece + t.slice(p + e.piece.length);
      }
      return t;
    });
}

const BIF_PIECES = [
  ...["network", "variable", "probability", "property", "type", "discrete", "table", "default"],
  ...["{", "}", "(", ")", "[", "]", ";", ",", "|", '"', "\\", "//", "/*", "*/", "\n", " ", "\r\n"],
  ...["0", "1", "2", "3", "0.5", "-0.5", "1e999", "NaN", "0x1", "1e-400", "40", "99999999999"],
  ...["a", "b", "yes", "no", "asia", "tub", "either", '"q s"', '"\\u"', "é", "\u0000"],
];
const bifPiece = fc.oneof(fc.constantFrom(...BIF_PIECES), fc.string({ maxLength: 6 }));
const bifSoup = fc.array(bifPiece, { maxLength: 80 }).map((xs) => xs.join(" "));

function readAllBif(text: string): void {
  for (const read of [parseBif, parseBifPartial, parseBifStructure]) {
    valueOrLocatedError(() => read(text, { file: "f.bif" }), "f.bif");
  }
  const net = valueOrLocatedError(
    () => parseBif(text, { file: "f.bif", renormalize: true }),
    "f.bif",
  ) as ReturnType<typeof parseBif> | undefined;
  // What parses writes back to the same network.
  if (net) assert.deepEqual(parseBif(writeBif(net)), net);
}

test("BIF readers: arbitrary text gives a value or a located error", () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), readAllBif), { seed: 1401, numRuns: RUNS });
  fc.assert(fc.property(bifSoup, readAllBif), { seed: 1402, numRuns: RUNS });
});

test("BIF readers: the shipped files with random edits give a value or a located error", () => {
  fc.assert(fc.property(mutated(BIF_FILES, bifPiece), readAllBif), {
    seed: 1403,
    numRuns: RUNS,
  });
});

const jsonPiece = fc.oneof(
  fc.constantFrom(
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "null",
    "true",
    "1e999",
    "-1",
    "0.5",
    '"x"',
    "[]",
    "{}",
  ),
  fc.json({ maxDepth: 2 }),
);

function readAllJson(text: string): void {
  for (const read of [parseNetworkJson, parseNetworkJsonStructure]) {
    valueOrLocatedError(() => read(text, { file: "f.json" }), "f.json");
  }
}

test("JSON network readers: arbitrary, mutated and reshaped documents", () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), readAllJson), { seed: 1404, numRuns: RUNS });
  fc.assert(fc.property(mutated([ASIA_JSON], jsonPiece), readAllJson), {
    seed: 1405,
    numRuns: RUNS,
  });
  // A valid document with one field replaced by an arbitrary JSON value.
  const doc = JSON.parse(ASIA_JSON) as { variables: Record<string, unknown>[] };
  const reshaped = fc
    .tuple(
      fc.integer({ min: 0, max: doc.variables.length - 1 }),
      fc.constantFrom("name", "states", "parents", "cpt", "extra"),
      fc.jsonValue({ maxDepth: 3 }),
    )
    .map(([v, key, value]) => {
      const copy = structuredClone(doc);
      copy.variables[v]![key] = value;
      return JSON.stringify(copy);
    });
  fc.assert(fc.property(reshaped, readAllJson), { seed: 1406, numRuns: RUNS });
});

test("jsonErrorOffset finds an error exactly where JSON.parse fails", () => {
  const texts = fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 40 }),
    fc.json({ maxDepth: 3 }).map((t) => t.slice(0, -1)),
    mutated([ASIA_JSON.slice(0, 400)], jsonPiece),
  );
  fc.assert(
    fc.property(texts, (t) => {
      let valid = true;
      try {
        JSON.parse(t);
      } catch {
        valid = false;
      }
      const at = jsonErrorOffset(t);
      assert.equal(at === -1, valid, `offset ${at}`);
      if (!valid) assert.ok(at >= 0 && at <= t.length);
    }),
    { seed: 1409, numRuns: 4 * RUNS },
  );
  assert.equal(jsonErrorOffset('{"a": x}'), 6);
  assert.equal(jsonErrorOffset("[".repeat(100_000)), 100_000); // no stack overflow
});

const names = ASIA.variables.map((v) => v.name);
const cell = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("yes", "no", "", "1", "2", "0", "NA", "?") },
  { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom('"', '""', '"a,b"', '"yes', "\r", "\n", "\uFEFF") },
);
const header = fc.oneof(
  { weight: 4, arbitrary: fc.shuffledSubarray(names, { minLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 4 })), {
      maxLength: 10,
    }),
  },
);
const csvText = fc
  .tuple(
    header,
    fc.constantFrom(",", "\t", ";", " ", "  "),
    fc.constantFrom("\n", "\r\n", "\r"),
    fc.array(fc.array(cell, { maxLength: 10 }), { maxLength: 8 }),
  )
  .map(([h, sep, eol, rows]) => [h, ...rows].map((r) => r.join(sep)).join(eol));
const csvOptions: fc.Arbitrary<CsvOptions> = fc.record(
  {
    separator: fc.constantFrom("auto", ",", "\t", ";", " "),
    unknownColumns: fc.constantFrom("error", "ignore"),
    undeclaredStates: fc.constantFrom("error", "missing"),
    cellCoding: fc.constantFrom("names", "one-based", "zero-based"),
    missing: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
    ignoreColumns: fc.array(fc.constantFrom(...names, "INT"), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

test("CSV reader: random tables against asia give a dataset or a located error", () => {
  const check = (text: string, opts: CsvOptions) => {
    const data = valueOrLocatedError(
      () => parseCsv(text, ASIA, { ...opts, file: "f.csv" }),
      "f.csv",
      ["missing"],
    ) as ReturnType<typeof parseCsv> | undefined;
    if (!data) return;
    assert.equal(data.vars, names.length);
    assert.equal(data.data.length, data.rows * data.vars);
  };
  fc.assert(fc.property(csvText, csvOptions, check), { seed: 1407, numRuns: 2 * RUNS });
  fc.assert(fc.property(fc.string({ maxLength: 200 }), csvOptions, check), {
    seed: 1408,
    numRuns: RUNS,
  });
});
