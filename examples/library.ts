// bnformer as a library: sample a context from the Asia network, estimate one conditional
// in context by counting and with the constructed 2-layer transformer, then generate rows
// from the transformer. Run: npx tsx examples/library.ts ("bnformer" is this package's
// dist/, built by npm ci or npm run build).
import {
  loadNetwork,
  createRng,
  sampleRows,
  variableIndex,
  estimateConditional,
  generateRows,
  constructionEngine,
} from "bnformer";

const net = loadNetwork("data/bif/asia.bif");
const context = sampleRows(createRng(1), net, 500);

// P(dysp | bronc = yes, either = no): a query row holds state indices; the cells of the
// target and of variables the estimate does not condition on are ignored.
const dysp = variableIndex(net, "dysp");
const query = new Uint8Array(net.variables.length);
query[variableIndex(net, "bronc")] = 0; // "yes"
query[variableIndex(net, "either")] = 1; // "no"
const mle = estimateConditional(net, context, dysp, query, { estimator: "mle" });

const construction = constructionEngine({ eps: 1e-6, maxContext: 500 }).bind(net, context);
const transformer = construction(dysp, query);
console.log("P(dysp | bronc=yes, either=no)");
console.log("  counting MLE:     ", Array.from(mle, (p) => p.toFixed(8)).join("  "));
console.log("  2-layer construct:", Array.from(transformer, (p) => p.toFixed(8)).join("  "));

// Algorithm 1 with the transformer's conditionals: three new rows.
const rows = generateRows(createRng(7), net, 3, construction);
for (let r = 0; r < rows.rows; r++) {
  const cells = net.variables.map((v, i) => `${v.name}=${v.states[rows.data[r * rows.vars + i]!]}`);
  console.log(cells.join(" "));
}
