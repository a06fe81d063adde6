/**
 * Benchmark: what exact BMA over parent sets (src/estimate/bma.ts) costs against the
 * posterior mean with the structure known (posteriorMean on the true parents' counts), in
 * the same run, on random binary DAGs of 7 and 10 nodes (edge probability 0.5), CPT rows
 * P(X=1|cfg) ~ U(0.1, 0.9), contexts of N rows.
 *
 *   npx tsx bench/bma.ts [--rows 500] [--queries 200] [--repeats 3] [--tiny]
 *
 * Per network and in-degree limit K: "fit" = scoring every parent set of every target
 * (edgePosteriors); "query" = the BMA predictive of every target at `queries` fresh rows
 * (a new bmaConditional per repeat, so fitting is included once per target); reference =
 * the known-structure posterior mean of the same targets at the same rows, cached per
 * parent configuration as bmaConditional caches per configuration. Times are CPU
 * seconds (process.cpuUsage), the minimum over repeats; the ratio is BMA / reference.
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { createRng } from "../src/bn/rng.ts";
import { randomDag } from "../src/bn/families.ts";
import { sampleNetwork } from "../src/bn/priors.ts";
import type { CptPrior } from "../src/bn/priors.ts";
import { topologicalOrder } from "../src/bn/network.ts";
import { generateRows, networkConditional } from "../src/estimate/generate.ts";
import { bmaConditional, edgePosteriors } from "../src/estimate/bma.ts";
import { posteriorMean } from "../src/estimate/posterior.ts";
import { queryCounts } from "../src/estimate/counts.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "500" },
    queries: { type: "string", default: "200" },
    repeats: { type: "string", default: "3" },
    tiny: { type: "boolean", default: false },
  },
});
// --tiny: one quick pass so CI sees the script still runs (bench/smoke.sh); its times mean nothing.
const rows = values.tiny ? 50 : Number(values.rows);
const queries = values.tiny ? 10 : Number(values.queries);
const repeats = values.tiny ? 1 : Number(values.repeats);
const PRIOR: CptPrior = { kind: "uniform", low: 0.1, high: 0.9 };

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Minimum CPU seconds of `fn` over the repeats. */
function time(fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = cpuSeconds();
    fn();
    best = Math.min(best, cpuSeconds() - t0);
  }
  return best;
}

console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(`N = ${rows} rows, ${queries} query rows x every target, min of ${repeats} repeats`);
console.log("| nodes | K | sets (last node) | fit s | query s | ref s | query / ref |");
console.log("|---|---|---|---|---|---|---|");
for (const nodes of [7, 10]) {
  const rng = createRng(nodes);
  const structure = randomDag(rng, nodes, { pMin: 0.5, pMax: 0.5 });
  const net = sampleNetwork(rng.fork(1), structure, PRIOR);
  const context = generateRows(rng.fork(2), net, rows, networkConditional(net));
  const probes = generateRows(rng.fork(3), net, queries, networkConditional(net));
  const order = topologicalOrder(structure);
  const m = structure.variables.length;
  const ref = time(() => {
    const caches = order.map(() => new Map<string, Float64Array>()); // as bmaConditional caches
    for (let q = 0; q < queries; q++) {
      const row = probes.data.subarray(q * m, (q + 1) * m);
      for (const v of order) {
        const parents = structure.parents[v]!;
        const key = parents.map((p) => row[p]!).join(",");
        if (caches[v]!.has(key)) continue;
        const counts = queryCounts(structure, context, v, parents, row);
        caches[v]!.set(key, posteriorMean(PRIOR, counts));
      }
    }
  });
  for (const maxParents of [2, 3, Infinity]) {
    const opts = { edgeProb: 0.5, maxParents, prior: PRIOR };
    const fit = time(() => edgePosteriors(structure, context, opts));
    const query = time(() => {
      const cond = bmaConditional(structure, context, opts);
      for (let q = 0; q < queries; q++) {
        const row = probes.data.subarray(q * m, (q + 1) * m);
        for (const v of order) cond(v, row);
      }
    });
    let sets = 0;
    for (let s = 0, c = 1; s <= Math.min(nodes - 1, maxParents); s++) {
      sets += c;
      c = (c * (nodes - 1 - s)) / (s + 1);
    }
    console.log(
      `| ${nodes} | ${maxParents === Infinity ? "none" : maxParents} | ${sets} | ${fit.toFixed(3)} | ${query.toFixed(3)} | ${ref.toFixed(3)} | ${(query / ref).toFixed(1)} |`,
    );
  }
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
