import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Structure } from "../../src/bn/network.ts";
import { validateStructure, edgeCount } from "../../src/bn/network.ts";
import { createRng } from "../../src/bn/rng.ts";
import {
  PAPER_GRAPH_NAMES,
  paperGraph,
  randomDag,
  modularRandomDag,
  sampleModularParentSet,
  sachsGraph,
  SACHS_PROTEINS,
} from "../../src/bn/families.ts";
import type { PaperGraphName } from "../../src/bn/families.ts";

/** "child<-p1,p2" for every variable with parents, in variable order: the graph as text. */
function edgesText(s: Structure): string[] {
  return s.variables.flatMap((v, i) =>
    s.parents[i]!.length === 0
      ? []
      : [`${v.name}<-${s.parents[i]!.map((p) => s.variables[p]!.name).join(",")}`],
  );
}

// Written out by hand from PAPER.md §3, not derived from the module's tables.
const EXPECTED: Record<PaperGraphName, string[]> = {
  chain5: ["B<-A", "C<-B", "D<-C", "E<-D"],
  chain7: ["B<-A", "C<-B", "D<-C", "E<-D", "F<-E", "G<-F"],
  chain10: ["B<-A", "C<-B", "D<-C", "E<-D", "F<-E", "G<-F", "H<-G", "I<-H", "J<-I"],
  tree5: ["B<-A", "C<-A", "D<-B", "E<-B"],
  tree7: ["B<-A", "C<-A", "D<-B", "E<-B", "F<-C", "G<-C"],
  tree10: ["B<-A", "C<-A", "D<-B", "E<-B", "F<-C", "G<-C", "H<-D", "I<-D", "J<-I"],
  general5: ["C<-A,B", "D<-A,C", "E<-D"],
  general7: ["C<-A,B", "D<-A,C", "E<-D", "F<-D,E", "G<-C,E"],
  general10: ["C<-A,B", "D<-A,C", "E<-D", "F<-D,E", "G<-C,E", "H<-F,G", "I<-E,H", "J<-G,I"],
};

for (const name of PAPER_GRAPH_NAMES) {
  test(`${name} has exactly the paper's edges`, () => {
    const g = paperGraph(name);
    assert.deepEqual(edgesText(g), EXPECTED[name]);
  });
}

test("paper graphs are binary, named A, B, ... in topological index order, and valid", () => {
  for (const name of PAPER_GRAPH_NAMES) {
    const g = paperGraph(name);
    const n = Number(/\d+$/.exec(name)![0]);
    assert.equal(g.name, name);
    assert.deepEqual(
      g.variables.map((v) => v.name),
      "ABCDEFGHIJ".slice(0, n).split(""),
    );
    for (const v of g.variables) assert.deepEqual(v.states, ["0", "1"]);
    g.parents.forEach((ps, i) =>
      ps.forEach((p) => assert.ok(p < i, `${name}: parent after child`)),
    );
    validateStructure(g);
  }
});

test("an unknown paper graph name lists the valid ones", () => {
  assert.throws(
    () => paperGraph("tree6" as PaperGraphName),
    /unknown paper graph "tree6"; expected one of chain5, chain7, chain10, tree5/,
  );
});

test("randomDag is deterministic per seed, ordered i < j, valid, and has no isolated node", () => {
  for (let seed = 0; seed < 200; seed++) {
    const g = randomDag(createRng(seed), 7, { pMin: 0.1, pMax: 0.8 });
    assert.deepEqual(g, randomDag(createRng(seed), 7, { pMin: 0.1, pMax: 0.8 }));
    validateStructure(g);
    const hasChild = new Set(g.parents.flat());
    g.parents.forEach((ps, j) => {
      assert.ok(ps.length > 0 || hasChild.has(j), `seed ${seed}: X${j} is isolated`);
      assert.deepEqual(
        ps,
        [...ps].sort((a, b) => a - b),
        `seed ${seed}: parents sorted`,
      );
      ps.forEach((i) => assert.ok(i < j, `seed ${seed}: edge ${i} -> ${j} against the order`));
    });
  }
  const g = randomDag(createRng(1), 4, { pMin: 0.5, pMax: 0.5, states: 3 });
  assert.deepEqual(
    g.variables.map((v) => v.name),
    ["X0", "X1", "X2", "X3"],
  );
  assert.deepEqual(g.variables[0]!.states, ["0", "1", "2"]);
});

test("randomDag with p = 1 is the complete DAG; with p = 0 each isolated node gets one edge", () => {
  assert.equal(edgeCount(randomDag(createRng(3), 10, { pMin: 1, pMax: 1 })), 45);
  for (let seed = 0; seed < 50; seed++) {
    const g = randomDag(createRng(seed), 10, { pMin: 0, pMax: 0 });
    // Node 0 is fixed first; later nodes may already be linked by an earlier fix.
    const m = edgeCount(g);
    assert.ok(m >= 5 && m <= 10, `seed ${seed}: ${m} edges`);
  }
});

// p is drawn once per call: the per-call edge density then varies like U(0.1, 0.9)
// (sd 0.23), far more than a per-pair p would give (binomial sd ~0.07 for 45 pairs).
// Over 400 DAGs the mean density has sd ~0.012; tolerance 0.05 is 4 of those.
test("randomDag draws p once per call from U(pMin, pMax)", () => {
  const densities = Array.from({ length: 400 }, (_, seed) => {
    return edgeCount(randomDag(createRng(1000 + seed), 10, { pMin: 0.1, pMax: 0.9 })) / 45;
  });
  const mean = densities.reduce((a, b) => a + b, 0) / densities.length;
  const sd = Math.sqrt(densities.reduce((a, b) => a + (b - mean) ** 2, 0) / densities.length);
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean density ${mean}`);
  assert.ok(sd > 0.18 && sd < 0.28, `sd of density ${sd}`);
});

test("randomDag rejects bad arguments", () => {
  const rng = createRng(0);
  assert.throws(() => randomDag(rng, 1, { pMin: 0, pMax: 1 }), /n must be an integer >= 2, got 1/);
  assert.throws(
    () => randomDag(rng, 5, { pMin: 0.8, pMax: 0.2 }),
    /need 0 <= pMin <= pMax <= 1, got pMin 0.8, pMax 0.2/,
  );
  assert.throws(
    () => randomDag(rng, 5, { pMin: 0, pMax: 1, states: 1 }),
    /states must be an integer in 2..254/,
  );
});

const GROUND_TRUTH = "data/sachs/GroundTruth.csv";

test("sachsGraph reads GroundTruth.csv: 17 edges, topological order, parents by name", () => {
  const g = sachsGraph(readFileSync(GROUND_TRUTH, "utf8"), { file: GROUND_TRUTH });
  assert.equal(edgeCount(g), 17);
  // Stable topological sort of Raf Mek Plcg PIP2 PIP3 Erk Akt PKA PKC P38 Jnk.
  assert.deepEqual(
    g.variables.map((v) => v.name),
    ["Plcg", "PIP3", "PIP2", "PKA", "PKC", "Raf", "Mek", "Erk", "Akt", "P38", "Jnk"],
  );
  for (const v of g.variables) assert.deepEqual(v.states, ["LOW", "AVG", "HIGH"]);
  // The 17 edges of the file, grouped by child; parents in ASCII order as bnlearn lists them.
  assert.deepEqual(edgesText(g), [
    "PIP3<-Plcg",
    "PIP2<-PIP3,Plcg",
    "PKC<-PIP2",
    "Raf<-PKA,PKC",
    "Mek<-PKA,PKC,Raf",
    "Erk<-Mek,PKA",
    "Akt<-Erk,PKA",
    "P38<-PKA,PKC",
    "Jnk<-PKA,PKC",
  ]);
  g.parents.forEach((ps, i) => ps.forEach((p) => assert.ok(p < i)));
  assert.equal(new Set(g.variables.map((v) => v.name)).size, SACHS_PROTEINS.length);
});

test("sachsGraph names an unknown protein at its line and column, and rejects cycles", () => {
  assert.throws(
    () => sachsGraph('"from","to"\n"Raf","Mek"\n"Raf","MEK"\n', { file: "g.csv" }),
    /^BnformerError: g\.csv:3:7: variable "to": "MEK" is not a declared state \(declared states: Raf, Mek,/,
  );
  assert.throws(
    () => sachsGraph("from,to\nRaf,Mek\nMek,Raf\n"),
    /cycle: (Raf -> Mek -> Raf|Mek -> Raf -> Mek)/,
  );
  assert.throws(() => sachsGraph("from,to\nRaf,Mek\nRaf,Mek\n"), /edge Raf -> Mek is listed twice/);
});

test("modular parent sets follow P(S) ∝ p^|S| (1-p)^(j-|S|) on |S| <= K, checked subset by subset", () => {
  const rng = createRng(17);
  const j = 4;
  const p = 0.35;
  const k = 2;
  const draws = 40_000;
  const seen = new Map<string, number>();
  for (let t = 0; t < draws; t++) {
    const s = sampleModularParentSet(rng, j, p, k).join(",");
    seen.set(s, (seen.get(s) ?? 0) + 1);
  }
  // Exact probabilities by enumerating all 2^j subsets by hand (not with the module's weights).
  const allowed: [string, number][] = [];
  for (let mask = 0; mask < 1 << j; mask++) {
    const members = [0, 1, 2, 3].filter((i) => mask & (1 << i));
    if (members.length > k) continue;
    allowed.push([members.join(","), p ** members.length * (1 - p) ** (j - members.length)]);
  }
  const z = allowed.reduce((a, [, w]) => a + w, 0);
  assert.equal(allowed.length, 11); // 1 + 4 + 6
  assert.deepEqual([...seen.keys()].sort(), allowed.map(([s]) => s).sort());
  for (const [s, w] of allowed) {
    const q = w / z;
    const sd = Math.sqrt((q * (1 - q)) / draws);
    assert.ok(
      Math.abs(seen.get(s)! / draws - q) < 4.5 * sd,
      `subset {${s}}: ${seen.get(s)! / draws} vs ${q}`,
    );
  }
});

test("modularRandomDag draws sizes and cardinalities in range, respects K, and is seeded", () => {
  const opts = {
    nodes: { min: 3, max: 12 },
    states: { min: 2, max: 4 },
    edgeProb: 0.5,
    maxParents: 3,
  };
  const sizes = new Set<number>();
  const cards = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const g = modularRandomDag(createRng(seed), opts);
    validateStructure(g);
    sizes.add(g.variables.length);
    g.variables.forEach((v) => cards.add(v.states.length));
    g.parents.forEach((ps, i) => {
      assert.ok(ps.length <= 3);
      ps.forEach((q) => assert.ok(q < i));
    });
  }
  assert.deepEqual(
    [...sizes].sort((a, b) => a - b),
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual([...cards].sort(), [2, 3, 4]);
  assert.deepEqual(modularRandomDag(createRng(5), opts), modularRandomDag(createRng(5), opts));
  assert.throws(
    () => modularRandomDag(createRng(1), { ...opts, states: { min: 1, max: 3 } }),
    /states/,
  );
  assert.throws(() => modularRandomDag(createRng(1), { ...opts, edgeProb: 1.5 }), /edgeProb/);
  // p = 1 with K = 2: every node j >= 2 has exactly two parents.
  const full = modularRandomDag(createRng(3), { ...opts, edgeProb: 1, maxParents: 2 });
  full.parents.forEach((ps, i) => assert.equal(ps.length, Math.min(i, 2)));
});
