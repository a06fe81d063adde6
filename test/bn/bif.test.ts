import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { BnformerError } from "../../src/errors.ts";
import { parseBif, parseBifPartial, parseBifStructure, writeBif } from "../../src/bn/bif.ts";
import { edgeCount, freeParameterCount } from "../../src/bn/network.ts";

const BIF_DIR = "data/bif";
const QUIRKS_DIR = "data/bif-quirks";
const read = (path: string) => readFileSync(path, "utf8");

/** The bnlearn table of data/SOURCES.md: file -> [nodes, edges, max in-degree, max states, free params]. */
function sourcesTable(): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const line of read("data/SOURCES.md").split("\n")) {
    const m = /^\| ([^/|\s]+\.bif) \|/.exec(line); // the bnlearn table names bare files
    if (!m) continue;
    const cells = line.split("|").map((c) => c.trim());
    rows.set(m[1]!, cells.slice(4, 9).map(Number));
  }
  return rows;
}

test("every shared BIF file reads, with the sizes SOURCES.md lists", () => {
  const table = sourcesTable();
  const files = readdirSync(BIF_DIR).filter((f) => f.endsWith(".bif"));
  assert.deepEqual([...table.keys()].sort(), files.sort(), "SOURCES.md lists every file");
  for (const f of files) {
    const net = parseBif(read(`${BIF_DIR}/${f}`), { file: f });
    const got = [
      net.variables.length,
      edgeCount(net),
      Math.max(...net.parents.map((p) => p.length)),
      Math.max(...net.variables.map((v) => v.states.length)),
      freeParameterCount(net),
    ];
    assert.deepEqual(got, table.get(f), f);
  }
});

test("asia keeps declaration order, header parent order and the hand-checked CPTs", () => {
  const net = parseBif(read(`${BIF_DIR}/asia.bif`));
  assert.equal(net.name, "unknown");
  const names = net.variables.map((v) => v.name);
  assert.deepEqual(names, ["asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp"]);
  const either = names.indexOf("either");
  assert.deepEqual(net.parents[either], [names.indexOf("lung"), names.indexOf("tub")]);
  // probability ( either | lung, tub ): (yes, yes) 1 0; (no, yes) 1 0; (yes, no) 1 0; (no, no) 0 1.
  // Our rows: config = lung * 2 + tub (last parent fastest): yy, yn, ny, nn.
  assert.deepEqual(Array.from(net.cpts[either]!), [1, 0, 1, 0, 1, 0, 0, 1]);
  assert.deepEqual(Array.from(net.cpts[1]!), [0.05, 0.95, 0.01, 0.99]);
});

test("the JavaBayes dog problem and its default-keyword version read as the same model", () => {
  const java = parseBif(read(`${QUIRKS_DIR}/dog-problem.javabayes.bif`));
  const def = parseBif(read(`${QUIRKS_DIR}/dog-problem.default-keyword.bif`));
  assert.deepEqual(def, java);
  assert.equal(java.name, "Dog-Problem");
  const names = java.variables.map((v) => v.name);
  assert.deepEqual(names, ["light-on", "bowel-problem", "dog-out", "hear-bark", "family-out"]);
  // table 0.99 0.97 0.9 0.3 0.01 0.03 0.1 0.7 is [dogOut][bowel, family], family fastest:
  // P(dog-out=true | bowel, family) = .99 (t,t), .97 (t,f), .9 (f,t), .3 (f,f).
  assert.deepEqual(java.parents[2], [1, 4]);
  assert.deepEqual(Array.from(java.cpts[2]!), [0.99, 0.01, 0.97, 0.03, 0.9, 0.1, 0.3, 0.7]);
  assert.deepEqual(Array.from(java.cpts[3]!), [0.7, 0.3, 0.01, 0.99]);
});

test("conditional rows in any order read as the same CPT", () => {
  const a = parseBifPartial(read(`${QUIRKS_DIR}/cancer-rows-ordered.bif`));
  const b = parseBifPartial(read(`${QUIRKS_DIR}/cancer-rows-reordered.bif`));
  assert.deepEqual(b, a);
  // Parents (Pollution, Smoker): rows (low,True) (low,False) (high,True) (high,False).
  assert.deepEqual(Array.from(a.cpts[2]!), [0.03, 0.97, 0.001, 0.999, 0.05, 0.95, 0.02, 0.98]);
  // Pollution and Smoker have no probability block: no numbers are invented for them.
  assert.deepEqual(a.cpts.slice(0, 2), [null, null]);
  assert.throws(
    () => parseBif(read(`${QUIRKS_DIR}/cancer-rows-ordered.bif`), { file: "c.bif" }),
    /^BnformerError: c\.bif:3:10: variable "Pollution" has no probability block$/,
  );
});

// A 3-state child with parents A (2 states) and B (3 states), first as rows ...
const HEAD = `network n {}
variable A { type discrete [ 2 ] { a0, a1 }; }
variable B { type discrete [ 3 ] { b0, b1, b2 }; }
variable C { type discrete [ 3 ] { c0, c1, c2 }; }
probability ( A ) { table 0.25, 0.75; }
probability ( B ) { table 0.2, 0.3, 0.5; }
`;
const ROWS: number[][] = [
  [0.1, 0.2, 0.7],
  [0.3, 0.3, 0.4],
  [0.5, 0.25, 0.25],
  [0.6, 0.1, 0.3],
  [0.05, 0.05, 0.9],
  [1, 0, 0],
];
const rowsBlock = (order: number[]) => {
  const lines = order.map((c) => {
    const a = Math.floor(c / 3);
    return `  (a${a}, b${c % 3}) ${ROWS[c]!.join(", ")};`;
  });
  return `probability ( C | A, B ) {\n${lines.join("\n")}\n}\n`;
};

test("a full table for a node with parents is child-major with the last parent fastest", () => {
  const byRows = parseBif(HEAD + rowsBlock([0, 1, 2, 3, 4, 5]));
  // ... then as a JavaBayes table: entry [state][config], written state by state.
  const table = [0, 1, 2].flatMap((s) => ROWS.map((r) => r[s]!));
  const byTable = parseBif(HEAD + `probability ( C | A, B ) { table ${table.join(" ")} ; }`);
  assert.deepEqual(byTable, byRows);
  assert.deepEqual(Array.from(byRows.cpts[2]!), ROWS.flat());
  assert.deepEqual(parseBif(HEAD + rowsBlock([5, 3, 1, 0, 4, 2])), byRows);
});

test("a one-row default fills exactly the rows not listed", () => {
  const text = HEAD + `probability ( C | A, B ) { (a1, b2) 1, 0, 0; default 0.2 0.3 0.5; }`;
  const cpt = Array.from(parseBif(text).cpts[2]!);
  assert.deepEqual(cpt, [...[0, 1, 2, 3, 4].flatMap(() => [0.2, 0.3, 0.5]), 1, 0, 0]);
});

test("comments, CRLF, quotes, odd states, exponents and both separators read alike", () => {
  const plain = parseBif(`network "my net" {}
variable "x y" { type discrete [ 3 ] { <5, 5-12, "12+ \\"q\\"" }; }
variable Asy/Patch { type discrete [ 2 ] { >=7.5, Transp. }; }
probability ( "x y" ) { table 0.5, 0.25, 0.25; }
probability ( Asy/Patch | "x y" ) {
  (<5) 0.1, 0.9;
  (5-12) 1e-1, 9e-1;
  ("12+ \\"q\\"") 0.5, 0.5;
}
`);
  const odd = parseBif(
    [
      "// a line comment",
      'property "top-level property" ;',
      'network "my net" { property "p = (1, 2)" ; }',
      "/* a block comment { } ; spanning",
      '   two lines */ variable "x y" { //3 values',
      '  property "first" ;',
      '  type discrete[3] { "<5" "5-12" "12+ \\"q\\"" }',
      "}",
      'variable "Asy/Patch" { type discrete [2] { ">=7.5" Transp. } ; }',
      'probability ( "x y" ) { property "x"; table 5.0E-1 2.5e-1 .25 ; }',
      'probability ( "Asy/Patch" "x y" ) {',
      '  ("12+ \\"q\\"") 0.5 0.5 ; (5-12) 0.1, 0.9;',
      "  (<5) 1e-1 9.0e-1;",
      "}",
    ].join("\r\n"),
  );
  assert.deepEqual(odd, plain);
  assert.deepEqual(plain.variables[0], { name: "x y", states: ["<5", "5-12", '12+ "q"'] });
  assert.equal(plain.name, "my net");
});

test("parseBifStructure skips absent or invalid numbers and reads blockless variables as roots", () => {
  const s = parseBifStructure(
    HEAD.split("probability")[0]! +
      `probability ( C | B, A ) { (b0, a0) 2, x, -1; table ; }\nprobability ( A ) { }\n`,
  );
  assert.deepEqual(s.parents, [[], [], [1, 0]]);
  assert.deepEqual(s.variables[1], { name: "B", states: ["b0", "b1", "b2"] });
});

test("writeBif output reads back to the identical network for every shared file", () => {
  const files = readdirSync(BIF_DIR).map((f) => `${BIF_DIR}/${f}`);
  files.push(`${QUIRKS_DIR}/dog-problem.javabayes.bif`);
  for (const f of files) {
    const net = parseBif(read(f));
    assert.deepEqual(parseBif(writeBif(net), { file: f }), net, f);
  }
});

test("writeBif quotes names that are not plain identifiers and keywords", () => {
  const net = parseBif(HEAD + rowsBlock([0, 1, 2, 3, 4, 5]));
  const odd = {
    ...net,
    name: "table",
    variables: [{ name: 'a "b"\\', states: ["0", "x\ny"] }, ...net.variables.slice(1)],
  };
  const text = writeBif(odd);
  assert.match(text, /^network "table" \{$/m);
  assert.match(text, /^variable "a \\"b\\"\\\\" \{$/m);
  assert.match(text, /\{ 0, "x\\ny" \};/);
  assert.deepEqual(parseBif(text), odd);
});

/** Asserts that parsing `text` throws `code` at `where` ("line:col") with exactly `message`. */
function assertBifError(text: string, where: string, message: string, code = "parse") {
  const [line, column] = where.split(":").map(Number);
  assert.throws(
    () => parseBif(text, { file: "bad.bif" }),
    (e: unknown) => {
      assert.ok(e instanceof BnformerError);
      assert.equal(e.code, code);
      assert.deepEqual(
        [e.location.file, e.location.line, e.location.column],
        ["bad.bif", line, column],
      );
      assert.equal(e.message, `bad.bif:${line}:${column}: ${message}`);
      return true;
    },
  );
}

const AB = `network t {}
variable A { type discrete [ 2 ] { a0, a1 }; }
variable B { type discrete [ 2 ] { b0, b1 }; }
`; // the error lines below are 4 and 5
const ROOT_A = "probability ( A ) { table 0.5, 0.5; }\n";
const B_GIVEN_A = "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 0.5, 0.5; }\n";

test("malformed BIF: unknown variables and states, with their location", () => {
  assertBifError(
    AB + ROOT_A + "probability ( B | C ) { }",
    "5:19",
    `unknown variable "C" as a parent of "B"; declared variables: A, B`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( D ) { }",
    "5:15",
    `unknown variable "D" as the child of a probability block; declared variables: A, B`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a2) 0.5, 0.5; }",
    "5:41",
    `unknown state "a2" of parent "A" (states: a0, a1)`,
  );
});

test("malformed BIF: wrong numbers of values and states", () => {
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 0.5, 0.3, 0.2; }",
    "5:55",
    `the row of "B" has 3 value(s); expected 2 (one per state of "B")`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 1; }",
    "5:46",
    `the row of "B" has 1 value(s); expected 2 (one per state of "B")`,
  );
  assertBifError(
    AB + "probability ( A ) { table 0.5 0.5 0 ; }",
    "4:35",
    `the table of "A" has 3 value(s); expected 2 (1 parent configuration(s) x 2 states)`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { table 0.5 0.5 0.5 ; }",
    "5:43",
    `the table of "B" has 3 value(s); expected 4 (2 parent configuration(s) x 2 states)`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a0, a1) 1 0; }",
    "5:25",
    `row lists 2 parent state(s); expected 1 (A)`,
  );
  assertBifError(
    "variable A {\n  type discrete [ 3 ] { a0, a1 };\n}",
    "2:19",
    `variable "A" declares 3 states but lists 2 (a0, a1)`,
  );
});

test("malformed BIF: unterminated blocks, strings and comments", () => {
  assertBifError(
    "variable A { type discrete [ 2 ] { a0, a1 };\n",
    "2:1",
    `expected "type", "property" or "}" closing the variable block opened at 1:12, found end of file`,
  );
  assertBifError(
    AB + "probability ( A ) { table 0.5, 0.5; ",
    "4:37",
    `expected "(", "table", "default", "property" or "}" closing the block opened at 4:19, found end of file`,
  );
  assertBifError(
    AB + "probability ( A ) { table 0.5, 0.5 }",
    "4:36",
    `expected a number or ";" ending the table, found "}"`,
  );
  assertBifError(
    AB + "probability ( A  { table 0.5, 0.5; }",
    "4:18",
    `expected a parent name or ")" closing the list opened at 4:13, found "{"`,
  );
  assertBifError(
    'variable "A { }',
    "1:10",
    `unterminated string: expected a closing '"', found end of file`,
  );
  assertBifError(
    "network n {}\n  /* note",
    "2:3",
    `unterminated /* comment: expected "*/", found end of file`,
  );
  assertBifError(
    "network n {}\nvariables A {}",
    "2:1",
    `expected "network", "variable" or "probability", found "variables"`,
  );
});

test("malformed BIF: bad and negative numbers", () => {
  assertBifError(
    AB + "probability ( A ) { table 0.5, 0.5x; }\n" + B_GIVEN_A,
    "4:32",
    `expected a number, found "0.5x"`,
  );
  assertBifError(
    AB + "probability ( A ) { table 1.5, -0.5; }\n" + B_GIVEN_A,
    "4:32",
    `probability -0.5 is negative`,
  );
  assertBifError(
    AB + "probability ( A ) { table NaN, 1; }\n" + B_GIVEN_A,
    "4:27",
    `expected a number, found "NaN"`,
  );
});

test("malformed BIF: duplicates and missing parts", () => {
  assertBifError(
    AB + "variable A { type discrete [ 2 ] { x, y }; }",
    "4:10",
    `variable "A" is declared twice (first at 2:10)`,
  );
  assertBifError(
    AB + ROOT_A + B_GIVEN_A + "probability ( A ) { table 0.5, 0.5; }",
    "6:15",
    `a second probability block for "A" (the first is at 4:1)`,
  );
  assertBifError(AB + ROOT_A, "3:10", `variable "B" has no probability block`);
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 0.5, 0.5; (a0) 0.1 0.9; }",
    "5:55",
    `the row for (a0) is listed twice (first at 5:25)`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A ) { (a1) 0.5, 0.5; }",
    "5:1",
    `"B" lists 1 of 2 parent configurations; (a0) is missing and there is no default`,
  );
  assertBifError(
    "variable A { type discrete [ 2 ] { a, a }; }",
    "1:39",
    `state "a" of "A" is listed twice`,
  );
  assertBifError(
    AB + ROOT_A + "probability ( B | A, A ) { }",
    "5:22",
    `parent "A" is listed twice`,
  );
});

test("malformed BIF: model errors from the validator carry the file location", () => {
  const cycle = AB + "probability ( A | B ) { (b0) 0.5, 0.5; (b1) 0.5, 0.5; }\n" + B_GIVEN_A;
  assertBifError(cycle, "5:19", "structure: the graph has a cycle: A -> B -> A", "network");
  const sum = AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 0.5, 0.4; }";
  assertBifError(
    sum,
    "5:40",
    "cpt > B > row 1: row sums to 0.9, not 1 (tolerance 0.000001)",
    "network",
  );
  const table = AB + ROOT_A + "probability ( B | A ) { table 0.5 0.5 0.5 0.4 ; }";
  assertBifError(
    table,
    "5:25",
    "cpt > B > row 1: row sums to 0.9, not 1 (tolerance 0.000001)",
    "network",
  );
  const oneState = "variable A { type discrete [ 1 ] { a }; }\nprobability ( A ) { table 1; }";
  assertBifError(
    oneState,
    "1:10",
    'A: variable "A" has 1 state(s); at least 2 are needed',
    "network",
  );
});

test("renormalize passes through to the validator", () => {
  const text = AB + ROOT_A + "probability ( B | A ) { (a0) 0.5, 0.5; (a1) 0.30004, 0.7; }";
  assert.throws(() => parseBif(text), /set renormalize: true to rescale rounded rows/);
  const net = parseBif(text, { renormalize: true });
  assert.ok(Math.abs(net.cpts[1]![2]! + net.cpts[1]![3]! - 1) < 1e-15);
});
