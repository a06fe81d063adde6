/**
 * A quick progress check of a family (network-agnostic) training run, on held-out random
 * networks from the training prior: node-averaged total variation to the true CPT row at a
 * fresh row's parent configuration, for the run's latest checkpoint, the exact posterior
 * mean under the prior (the Bayes floor, told the true parents) and the MLE (the unseen
 * policy's marginal when no context row matches). Not the issue-9 evaluation; a look during
 * training.
 *
 *   npx tsx scripts/family-check.ts RUN_DIR [--episodes 40] [--lengths 20,100,500] [--seed 7]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { createRng } from "../src/bn/rng.ts";
import { modularRandomDag } from "../src/bn/families.ts";
import { BROAD_PRIOR, sampleNetwork } from "../src/bn/priors.ts";
import { sampleRows } from "../src/bn/sample.ts";
import { cptRow, parentConfigIndex } from "../src/bn/cpt.ts";
import { posteriorMean, queryCounts, estimateConditional } from "../src/estimate/index.ts";
import { familyEngine } from "../src/model/engine.ts";
import { familyLayout } from "../src/model/family-encoding.ts";
import { loadTrainCheckpoint } from "../src/train/saved-model.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    episodes: { type: "string", default: "40" },
    lengths: { type: "string", default: "20,100,500" },
    seed: { type: "string", default: "7" },
  },
});
const run = positionals[0];
if (run === undefined) throw new Error("usage: npx tsx scripts/family-check.ts RUN_DIR");
const ck = loadTrainCheckpoint(join(run, "checkpoint"));
const engine = familyEngine({ spec: ck.spec, weights: ck.weights, layout: familyLayout(4, 6) });
const episodes = Number(values.episodes);
const tv = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += Math.abs(a[j]! - b[j]!);
  return s / 2;
};
console.log(`${run}: checkpoint at step ${ck.meta.step}`);
console.log("N      model    posterior-mean  mle      model/pm");
for (const n of values.lengths.split(",").map(Number)) {
  const sums = { model: 0, pm: 0, mle: 0, cells: 0 };
  for (let e = 0; e < episodes; e++) {
    const rng = createRng(Number(values.seed)).fork(e);
    const structure = modularRandomDag(rng.fork(0), {
      nodes: { min: 12, max: 12 },
      states: { min: 2, max: 4 },
      edgeProb: 0.35,
      maxParents: 3,
    });
    const net = sampleNetwork(rng.fork(1), structure, BROAD_PRIOR);
    const context = sampleRows(rng.fork(2), net, n);
    const query = sampleRows(rng.fork(3), net, 1).data;
    const conditional = engine.bind(structure, context);
    structure.variables.forEach((variable, v) => {
      const k = variable.states.length;
      const truth = cptRow(net.cpts[v]!, k, parentConfigIndex(net, v, query));
      const parents = structure.parents[v]!;
      const pm = posteriorMean(BROAD_PRIOR, queryCounts(structure, context, v, parents, query));
      const mle = estimateConditional(structure, context, v, query, { estimator: "mle" });
      sums.model += tv(conditional(v, query), truth);
      sums.pm += tv(pm, truth);
      sums.mle += tv(mle, truth);
      sums.cells++;
    });
  }
  const f = (x: number) => (x / sums.cells).toFixed(4);
  console.log(
    `${String(n).padEnd(6)} ${f(sums.model)}   ${f(sums.pm)}          ${f(sums.mle)}   ${(sums.model / sums.pm).toFixed(3)}`,
  );
}
