import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Structure } from "../../src/bn/network.ts";
import type { Dataset } from "../../src/bn/dataset.ts";
import { MISSING } from "../../src/bn/dataset.ts";
import { detectSeparator, parseCsv, writeCsv } from "../../src/bn/csv.ts";
import { loadCsv } from "../../src/bn/csv-file.ts";
import type { Separator } from "../../src/bn/csv.ts";
import { createRng } from "../../src/bn/rng.ts";
import { sachsGraph, SACHS_PROTEINS, SACHS_STATES } from "../../src/bn/families.ts";

const S: Structure = {
  name: "weather",
  variables: [
    { name: "rain", states: ["no", "yes"] },
    { name: "wind", states: ["calm", "breeze", "gale"] },
    { name: "wet grass", states: ["dry", "wet"] },
  ],
  parents: [[], [], [0]],
};
const _ = MISSING;

/** Rows of a dataset as arrays, for readable asserts. */
const rowsOf = (d: Dataset) =>
  Array.from({ length: d.rows }, (_r, r) =>
    Array.from(d.data.subarray(r * d.vars, (r + 1) * d.vars)),
  );

test("cells are mapped to state indices by header name, whatever the column order", () => {
  const d = parseCsv("wind,wet grass,rain\ngale,wet,yes\ncalm,dry,no\n", S);
  assert.equal(d.vars, 3);
  assert.deepEqual(rowsOf(d), [
    [1, 2, 1],
    [0, 0, 0],
  ]);
});

test("the separator is detected from the header: tab, comma, semicolon, whitespace", () => {
  assert.equal(detectSeparator("a\tb\tc\n1,2\t3"), "\t");
  assert.equal(detectSeparator("\n\na;b;c\n"), ";");
  assert.equal(detectSeparator('"x,y" b c\n'), " ");
  assert.equal(detectSeparator('"x;y",b\n'), ",");
  const want = [[1, 2, 0]];
  assert.deepEqual(rowsOf(parseCsv("rain\twind\twet grass\nyes\tgale\tdry", S)), want);
  assert.deepEqual(rowsOf(parseCsv("rain;wind;wet grass\nyes;gale;dry", S)), want);
  assert.deepEqual(rowsOf(parseCsv('  rain   wind "wet grass"\n yes gale  dry  \n', S)), want);
  const mixed = 'rain \t wind\t"wet grass"\n yes\tgale  dry\n';
  assert.deepEqual(rowsOf(parseCsv(mixed, S, { separator: " " })), want);
  assert.deepEqual(
    rowsOf(parseCsv("rain;wind;wet grass\nyes;gale;dry", S, { separator: ";" })),
    want,
  );
  // A given separator wins over detection: with "," the header is one unknown column.
  assert.throws(
    () => parseCsv("rain;wind;wet grass\n", S, { separator: "," }),
    /column "rain;wind;wet grass" is not a variable/,
  );
});

test("quotes, doubled quotes, newlines in quotes, CRLF, BOM, blank lines, no final newline", () => {
  const q: Structure = {
    name: "q",
    variables: [
      { name: "a,b", states: ['say "hi"', "two\nlines"] },
      { name: "c", states: ["x", "y"] },
    ],
    parents: [[], []],
  };
  const text =
    '\ufeff"a,b", c\r\n\r\n"say ""hi""" , y\r\n"two\nlines",x\r\n  \r\n"two\nlines",  "y"';
  assert.deepEqual(rowsOf(parseCsv(text, q)), [
    [0, 1],
    [1, 0],
    [1, 1],
  ]);
});

test("a header-only file is a dataset with 0 rows", () => {
  assert.deepEqual(parseCsv("wet grass,rain,wind", S), {
    vars: 3,
    rows: 0,
    data: new Uint8Array(0),
  });
});

test("empty cells and extra missing tokens are MISSING", () => {
  const d = parseCsv("rain,wind,wet grass\n,gale,NA\nyes,?,\n", S, { missing: ["NA", "?"] });
  assert.deepEqual(rowsOf(d), [
    [_, 2, _],
    [1, _, _],
  ]);
  assert.throws(
    () => parseCsv("rain\nno\n", S, { missing: ["no"] }),
    /missing-value token "no" is also a state of variable "rain"/,
  );
});

test("cell coding: one-based and zero-based state indices", () => {
  const h = "rain,wind,wet grass\n";
  assert.deepEqual(rowsOf(parseCsv(h + "2,3,1\n", S, { cellCoding: "one-based" })), [[1, 2, 0]]);
  assert.deepEqual(rowsOf(parseCsv(h + "1,2,0\n", S, { cellCoding: "zero-based" })), [[1, 2, 0]]);
  assert.throws(
    () => parseCsv(h + "2,0,1\n", S, { cellCoding: "one-based", file: "w.csv" }),
    (e: Error) =>
      e.message ===
      'w.csv:2:3: variable "wind": "0" is not a declared state (one-based codes 1..3 stand for calm, ' +
        'breeze, gale); set missing: ["0"] or undeclaredStates: "missing" to read such cells as missing',
  );
});

test("ignored and unknown columns", () => {
  const text = "INT,rain,wind,wet grass,note\n8,yes,calm,wet,hello\n";
  assert.throws(
    () => parseCsv(text, S, { file: "d.csv" }),
    (e: Error) =>
      (e as { code?: string }).code === "data" &&
      e.message ===
        'd.csv:1:1: column "INT" is not a variable of network "weather" (variables: rain, wind, ' +
          'wet grass); set ignoreColumns: ["INT"] or unknownColumns: "ignore" to skip it',
  );
  assert.throws(() => parseCsv(text, S, { ignoreColumns: ["INT"] }), /column "note" is not/);
  const d = parseCsv(text, S, { ignoreColumns: ["INT"], unknownColumns: "ignore" });
  assert.deepEqual(rowsOf(d), [[1, 0, 1]]);
});

test("errors name file, line, column and variable", () => {
  const cases: [string, string][] = [
    [
      "rain,wind\nyes,calm\n",
      'd.csv:1:1: variable "wet grass" of network "weather" has no column (header: rain, wind)',
    ],
    [
      "rain,wind,wet grass\nyes,calm,wet\nno,storm,dry\n",
      'd.csv:3:4: variable "wind": "storm" is not a declared state (declared states: calm, ' +
        'breeze, gale); set missing: ["storm"] or undeclaredStates: "missing" to read such cells as missing',
    ],
    [
      "rain,wind,wet grass\nyes,calm\n",
      'd.csv:2:9: row has 2 cells; expected 3 as in the header: no cell for column "wet grass"',
    ],
    [
      "rain,wind,wet grass\nyes,calm,wet,extra\n",
      'd.csv:2:14: row has 4 cells; expected 3 as in the header: cell 4 is past the last column "wet grass"',
    ],
    ["\ufeff\r\n  \n", "d.csv:1:1: empty file: expected a header line naming the variables"],
    ["rain,wind,rain\n", 'd.csv:1:11: column "rain" appears twice in the header (fields 1 and 3)'],
    [
      'rain,wind,wet grass\nyes,"calm,dry\n',
      "d.csv:2:5: unterminated quoted field (it opens here)",
    ],
    [
      'rain,wind,wet grass\nyes,"calm"x,dry\n',
      'd.csv:2:11: unexpected character "x" after a closing quote',
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseCsv(text, S, { file: "d.csv" }),
      (e: Error) => e.name === "BnformerError" && e.message === message,
      message,
    );
  }
});

test("undeclaredStates: missing reads an unknown cell as MISSING", () => {
  const d = parseCsv("rain,wind,wet grass\nmaybe,calm,wet\n", S, { undeclaredStates: "missing" });
  assert.deepEqual(rowsOf(d), [[_, 0, 1]]);
});

/** Random rows over a 3-variable structure with about 10% missing cells. */
function randomData(s: Structure, seed: number, rows: number): Dataset {
  const rng = createRng(seed);
  const data = new Uint8Array(rows * 3);
  for (let i = 0; i < data.length; i++) {
    data[i] = rng.next() < 0.1 ? MISSING : rng.nextInt(s.variables[i % 3]!.states.length);
  }
  return { vars: 3, rows, data };
}

test("write -> read returns the same dataset, for every separator and awkward names", () => {
  const awkward: Structure = {
    name: "awkward",
    variables: [
      { name: "a,b;c", states: [" lead", 'q"uote', "tab\there"] },
      { name: "d e", states: ["new\nline", "plain"] },
      { name: "f", states: ["0", "1"] },
    ],
    parents: [[], [], []],
  };
  for (const s of [S, awkward]) {
    const data = randomData(s, 7, 200);
    for (const separator of [",", "\t", ";", " "] as Separator[]) {
      const text = writeCsv(s, data, { separator });
      const back = parseCsv(text, s);
      assert.deepEqual(back, data, `${s.name} with separator ${JSON.stringify(separator)}`);
      assert.deepEqual(parseCsv(text, s, { separator }), data);
    }
  }
});

test("writeCsv writes names, quotes when needed, and leaves MISSING empty", () => {
  const d: Dataset = { vars: 3, rows: 2, data: Uint8Array.from([1, 2, 0, _, 0, _]) };
  assert.equal(writeCsv(S, d), "rain,wind,wet grass\nyes,gale,dry\n,calm,\n");
  assert.equal(
    writeCsv(S, d, { separator: " " }),
    'rain wind "wet grass"\nyes gale dry\n"" calm ""\n',
  );
  assert.throws(
    () => writeCsv(S, { vars: 3, rows: 1, data: Uint8Array.from([0, 3, 0]) }),
    /row 0 > wind: state index 3 is out of range; "wind" has 3 states/,
  );
  assert.throws(() => writeCsv(S, { vars: 2, rows: 0, data: new Uint8Array(0) }), /2 columns/);
});

const SACHS_DATA = "data/sachs/sachs.interventional.txt";

test("the Sachs interventional file reads as 5400 rows of LOW/AVG/HIGH, INT ignored", () => {
  const g = sachsGraph(readFileSync("data/sachs/GroundTruth.csv", "utf8"));
  const d = loadCsv(SACHS_DATA, g, { cellCoding: "one-based", ignoreColumns: ["INT"] });
  assert.equal(d.rows, 5400);
  assert.equal(d.vars, 11);
  // First data line of the file: 1 1 1 2 3 2 1 3 1 2 1 (INT 8), in SACHS_PROTEINS order.
  const firstRow = [1, 1, 1, 2, 3, 2, 1, 3, 1, 2, 1];
  SACHS_PROTEINS.forEach((protein, i) => {
    const v = g.variables.findIndex((x) => x.name === protein);
    assert.equal(g.variables[v]!.states[d.data[v]!], SACHS_STATES[firstRow[i]! - 1], protein);
  });
  assert.ok(
    d.data.every((x) => x <= 2),
    "every cell is one of the three levels",
  );
  // The same file against a structure in the file's own order gives the same cells.
  const listed: Structure = {
    name: "sachs-listed",
    variables: SACHS_PROTEINS.map((name) => ({ name, states: SACHS_STATES })),
    parents: SACHS_PROTEINS.map(() => []),
  };
  const d2 = loadCsv(SACHS_DATA, listed, { cellCoding: "one-based", ignoreColumns: ["INT"] });
  assert.deepEqual(
    Array.from(d2.data.subarray(0, 11)),
    firstRow.map((x) => x - 1),
  );
  assert.throws(() => loadCsv(SACHS_DATA, g), /sachs\.interventional\.txt:1:\d+: column "INT"/);
});
