/**
 * Acceptance of the construction (the criteria): on the paper's graphs and six
 * real networks, random contexts of N in {1, 5, 50, 500, 2000} rows, every target, at least
 * 1000 queries per network, the constructed transformer's distribution is within eps in TV
 * of the reference for eps = 1e-3 and 1e-6. The reference is the in-context MLE
 * (estimateConditional) when some context row matches the query on every parent, and the
 * back-off estimate otherwise. Prints the worst case seen per network.
 *
 * Every context runs through the float64 reference executor once (prepareContext) and all
 * its rows x targets queries through forwardQueries: the same numbers as forwardReference on
 * the whole token sequence (test/model/reference.test.ts), without recomputing the context.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Network } from "../../src/bn/network.ts";
import { createRng } from "../../src/bn/rng.ts";
import { paperGraph } from "../../src/bn/families.ts";
import { DEFAULT_BINARY_PRIOR, sampleNetwork } from "../../src/bn/priors.ts";
import { sampleRows } from "../../src/bn/sample.ts";
import { loadNetwork } from "../../src/bn/network-file.ts";
import { backoffIsMle, backoffSupport } from "../../src/estimate/backoff.ts";
import { estimateConditional } from "../../src/estimate/estimators.ts";
import { tvDistance } from "../../src/eval/metrics.ts";
import { construct } from "../../src/model/construction.ts";
import { encodeContext, encodeQueries, queriesForTargets } from "../../src/model/encoding.ts";
import { forwardQueries, prepareContext } from "../../src/model/reference.ts";

const CONTEXT_SIZES = [1, 5, 50, 500, 2000];
const EPSILONS = [1e-3, 1e-6];
const MIN_QUERIES = 1000;
const BIF_DIR = new URL("../../data/bif/", import.meta.url);

const networks: [string, () => Network][] = [
  ...(["chain7", "tree7", "general5", "general7"] as const).map((name): [string, () => Network] => [
    name,
    () => sampleNetwork(createRng(1000 + name.length), paperGraph(name), DEFAULT_BINARY_PRIOR),
  ]),
  ...["asia", "cancer", "earthquake", "survey", "sachs", "child"].map(
    (name): [string, () => Network] => [
      name,
      () => loadNetwork(new URL(`${name}.bif`, BIF_DIR).pathname),
    ],
  ),
];

networks.forEach(([name, load], ni) => {
  test(`${name}: within eps of the MLE (or the back-off when no row matches), every target`, () => {
    const net = load();
    const M = net.variables.length;
    const targets = net.variables.map((_, i) => i);
    // Enough query rows that contexts x rows x targets >= MIN_QUERIES.
    const rowsPerContext = Math.ceil((1.2 * MIN_QUERIES) / (CONTEXT_SIZES.length * M));
    const rng = createRng(ni + 1);
    const cases = CONTEXT_SIZES.map((N) => {
      const context = sampleRows(rng, net, N);
      const queries = queriesForTargets(sampleRows(rng, net, rowsPerContext), targets);
      const reference = queries.map((q) => {
        const s = backoffSupport(net, context, q.target, q.row);
        const mle = backoffIsMle(s, net.parents[q.target]!.length);
        const p = mle
          ? estimateConditional(net, context, q.target, q.row, { estimator: "mle" })
          : s.distribution;
        return { p, mle };
      });
      return { N, context, queries, reference };
    });
    const report: string[] = [];
    for (const eps of EPSILONS) {
      const c = construct(net, { eps, maxContext: 2000 });
      let worst = 0;
      let where = "";
      let count = 0;
      let mleCount = 0;
      for (const { N, context, queries, reference } of cases) {
        const cache = prepareContext(c.spec, c.weights, encodeContext(c.layout, context));
        const { outputs } = forwardQueries(
          c.spec,
          c.weights,
          cache,
          encodeQueries(c.layout, queries),
          { keepAttention: false },
        );
        const O = c.spec.outputDim;
        queries.forEach((q, i) => {
          const k = c.layout.cards[q.target]!;
          const got = outputs.subarray(i * O, i * O + k);
          for (let v = k; v < O; v++) assert.equal(outputs[i * O + v], 0);
          const tv = tvDistance(got, reference[i]!.p);
          if (tv > worst) {
            worst = tv;
            where = `N=${N} target ${net.variables[q.target]!.name}`;
          }
          count++;
          if (reference[i]!.mle) mleCount++;
        });
      }
      report.push(`eps ${eps}: worst TV ${worst.toExponential(3)} (${where})`);
      assert.ok(worst <= eps, `${name}: worst TV ${worst} > eps ${eps} at ${where}`);
      assert.ok(count >= MIN_QUERIES, `${count} queries`);
      if (eps === EPSILONS[0])
        report.unshift(`${count} queries (${mleCount} MLE, ${count - mleCount} back-off)`);
    }
    console.log(`${name}: ${report.join("; ")}`);
  });
});
