import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Network } from "../../src/bn/network.ts";
import { validateNetwork } from "../../src/bn/network.ts";
import { createRng, sampleDirichlet, type Rng } from "../../src/bn/rng.ts";
import { parentConfigCount } from "../../src/bn/cpt.ts";
import { parseBif, writeBif } from "../../src/bn/bif.ts";
import { parseNetworkJson, writeNetworkJson } from "../../src/bn/network-json.ts";
import { loadNetwork, loadStructure, saveNetwork } from "../../src/bn/network-file.ts";

const ASIA = "data/bif/asia.bif";

function withTempDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-network-file-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("loadNetwork and saveNetwork pick the format by extension and round-trip", () => {
  const asia = loadNetwork(ASIA);
  assert.equal(asia.variables.length, 8);
  withTempDir((dir) => {
    for (const name of ["a.bif", "a.json", "A.BIF", "b.Json"]) {
      saveNetwork(join(dir, name), asia);
      assert.deepEqual(loadNetwork(join(dir, name)), asia, name);
    }
    assert.deepEqual(readdirSync(dir).sort(), ["A.BIF", "a.bif", "a.json", "b.Json"]);
  });
});

test("an unknown extension is an error that lists the known ones; nothing is written", () => {
  withTempDir((dir) => {
    const path = join(dir, "net.xml");
    const expected = `${path}: unknown network file type (extension ".xml"); known extensions: .bif, .json`;
    assert.throws(() => saveNetwork(path, loadNetwork(ASIA)), { code: "io", message: expected });
    assert.throws(() => loadNetwork(path), { code: "io", message: expected });
    assert.throws(() => loadStructure(join(dir, "net")), /\(no extension\); known extensions/);
    assert.deepEqual(readdirSync(dir), []);
  });
});

test("a missing file is an io error naming it", () => {
  assert.throws(() => loadNetwork("no/such/net.bif"), {
    code: "io",
    message: "no/such/net.bif: cannot read: no such file",
  });
});

test("loadStructure accepts absent or invalid CPT numbers in BIF and JSON", () => {
  withTempDir((dir) => {
    const bif = join(dir, "s.bif");
    writeFileSync(
      bif,
      `variable A { type discrete [ 2 ] { a0, a1 }; }
variable B { type discrete [ 3 ] { b0, b1, b2 }; }
variable C { type discrete [ 2 ] { c0, c1 }; }
probability ( B | A ) { (a0) 0.5, 0.7, x; }
probability ( C | B, A ) { }
`,
    );
    const json = join(dir, "s.json");
    const vars = [
      { name: "A", states: ["a0", "a1"] },
      { name: "B", states: ["b0", "b1", "b2"], parents: ["A"], cpt: [[-1]] },
      { name: "C", states: ["c0", "c1"], parents: ["B", "A"], cpt: "none" },
    ];
    writeFileSync(json, JSON.stringify({ format: "bnformer-network/1", variables: vars }));
    const expected = {
      variables: [
        vars[0],
        { name: "B", states: ["b0", "b1", "b2"] },
        { name: "C", states: ["c0", "c1"] },
      ],
      parents: [[], [0], [1, 0]],
    };
    assert.deepEqual(loadStructure(bif), { name: "unknown", ...expected });
    assert.deepEqual(loadStructure(json), { name: "unknown", ...expected });
    assert.throws(() => loadNetwork(bif), /s\.bif:4:40: expected a number, found "x"/);
    const roots = loadStructure("data/bif-quirks/cancer-rows-ordered.bif");
    assert.deepEqual(roots.parents, [[], [], [0, 1]]);
  });
});

// Names that need quoting in BIF (spaces, quotes, punctuation, comment starts, keywords,
// non-ASCII) mixed with plain ones.
const ODD_CHARS = [
  "a",
  "Z",
  "0",
  "_",
  " ",
  "-",
  ".",
  ",",
  ";",
  "{",
  "}",
  "(",
  ")",
  "|",
  '"',
  "\\",
  "/",
  "*",
  "\n",
  "\t",
  "ü",
  "€",
  "<",
  "=",
  "+",
];
const KEYWORD_NAMES = ["table", "default", "variable", "probability", "property", "1e5", "-0.5"];

function randomName(rng: Rng, taken: Set<string>, allowEmpty: boolean): string {
  for (;;) {
    let s: string;
    if (rng.next() < 0.15) s = KEYWORD_NAMES[rng.nextInt(KEYWORD_NAMES.length)]!;
    else {
      const len = rng.nextInt(6) + (allowEmpty ? 0 : 1);
      s = Array.from({ length: len }, () => ODD_CHARS[rng.nextInt(ODD_CHARS.length)]!).join("");
    }
    if (!taken.has(s)) {
      taken.add(s);
      return s;
    }
  }
}

/** A random DAG over 2-6 variables (file order shuffled), 2-4 states, Dirichlet(0.5) CPTs. */
function randomNetwork(rng: Rng): Network {
  const n = 2 + rng.nextInt(5);
  const names = new Set<string>();
  const variables = Array.from({ length: n }, () => {
    const k = 2 + rng.nextInt(3);
    const states = new Set<string>();
    const list = Array.from({ length: k }, () => randomName(rng, states, true));
    return { name: randomName(rng, names, false), states: list };
  });
  // Topological rank r[v]: parents come from lower ranks, in a random order.
  const rank = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const parents = rank.map((r) => {
    const ps = rank.flatMap((q, u) => (q < r && rng.next() < 0.5 ? [u] : []));
    return ps.sort(() => rng.next() - 0.5).slice(0, 3);
  });
  const s = { name: randomName(rng, new Set(), true), variables, parents };
  const cpts = variables.map((v, i) => {
    const k = v.states.length;
    const cpt = new Float64Array(parentConfigCount(s, i) * k);
    for (let c = 0; c * k < cpt.length; c++)
      cpt.set(sampleDirichlet(rng, new Array(k).fill(0.5)), c * k);
    return cpt;
  });
  return validateNetwork({ ...s, cpts });
}

const PROPERTY_SEEDS = 300;

test("random networks with odd names round-trip exactly through BIF and JSON", () => {
  let quoted = 0;
  for (let seed = 1; seed <= PROPERTY_SEEDS; seed++) {
    const net = randomNetwork(createRng(seed));
    const bif = writeBif(net);
    if (bif.includes('"')) quoted++;
    try {
      assert.deepEqual(parseBif(bif), net);
      assert.deepEqual(parseNetworkJson(writeNetworkJson(net)), net);
    } catch (e) {
      console.error(`round trip failed for seed ${seed}:\n${bif}`);
      throw e;
    }
  }
  assert.ok(quoted > PROPERTY_SEEDS / 2, `only ${quoted} networks needed quotes`);
});
