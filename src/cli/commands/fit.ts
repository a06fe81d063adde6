/** `bnformer fit`: estimate a network's CPTs from data on a given structure. */
import type { Command } from "../command.ts";
import { str } from "../args.ts";
import { dataOptions, loadDataArg, loadStructureArg, checkedOutput } from "../shared.ts";
import { ESTIMATORS, estimatorFromArgs } from "../estimator-args.ts";
import { engineFromArgs, engineName, engineOptions } from "../engine-args.ts";
import type { EstimatorName } from "../../estimate/index.ts";
import {
  fitBmaNetwork,
  fitNetwork,
  naiveConditioning,
  tabulateConditional,
} from "../../estimate/index.ts";
import { bmaFromArgs, rejectBmaFlags } from "../bma-args.ts";
import { saveNetwork } from "../../bn/network-file.ts";
import type { Network, Structure } from "../../bn/network.ts";
import { BnformerError } from "../../errors.ts";

/** What the estimator did to the structure's edges, or null when it kept them. */
function structureChange(given: Structure, fitted: Structure): string | null {
  const key = (s: Structure) => s.parents.map((ps) => [...ps].sort((a, b) => a - b).join(","));
  if (key(given).join(";") === key(fitted).join(";")) return null;
  const edges = (s: Structure) => s.parents.reduce((n, ps) => n + ps.length, 0);
  const how =
    edges(fitted) === 0
      ? "fits every variable without parents"
      : "conditions every variable on all the variables before it in topological order";
  return `${how}: the written network has ${edges(fitted)} edges, the structure ${edges(given)}`;
}

export const fit: Command = {
  def: {
    name: "fit",
    summary: "estimate CPTs from data on a structure (the structure file's own CPTs are ignored)",
    notes: [
      "naive, bma and pretrained-free change the structure: they condition each variable on all the earlier ones",
      "(topological order), marginal on none; fit says so and writes that structure.",
    ],
    usage:
      "bnformer fit --structure NET --data rows.csv --engine mle|dirichlet|bdeu|k2|naive|marginal|bma|construction|pretrained-free|model:DIR " +
      "[--alpha A] [--ess E] [--unseen uniform|marginal|error] [--edge-prob P --max-parents K] " +
      "--out fitted.bif|fitted.json",
    options: {
      structure: {
        kind: "string",
        required: true,
        placeholder: "NET",
        help: "structure (.bif or .json); its states define the data's states",
      },
      data: {
        kind: "string",
        required: true,
        placeholder: "FILE",
        help: "data file (CSV/TSV, header = variable names)",
      },
      out: {
        kind: "string",
        required: true,
        placeholder: "FILE",
        help: "fitted network (.bif or .json)",
      },
      ...engineOptions,
      engine: {
        ...engineOptions.engine!,
        help: "what computes the CPTs: an estimator, bma, the constructed transformer (construction) or a saved model (model:DIR), tabulated at every parent configuration",
      },
      estimator: {
        kind: "choice",
        choices: [...ESTIMATORS, "bma"],
        help: "same as --engine with an estimator name (default mle)",
      },
      ...dataOptions,
    },
    examples: [
      "bnformer fit --structure data/bif/sachs.bif --data data/sachs/sachs.interventional.txt \\\n" +
        "    --cell-coding one-based --ignore-columns INT --estimator bdeu --ess 1 --out sachs-refit.bif",
    ],
  },
  run(args, io) {
    const structurePath = str(args, "structure")!;
    const dataPath = str(args, "data")!;
    const out = checkedOutput(str(args, "out")!, [structurePath, dataPath]);
    const structure = loadStructureArg(structurePath);
    const data = loadDataArg(dataPath, structure, args);
    // Zero rows would "fit" every CPT from its unseen policy alone: surely a wrong file.
    if (data.rows === 0)
      throw new BnformerError("data", "no data rows after the header; fit needs at least one", {
        file: dataPath,
      });
    const name = engineName(args);
    let net: Network;
    if (name === "bma") net = fitBmaNetwork(structure, data, bmaFromArgs(args, structure));
    else if (name === "pretrained-free") {
      // Like bma it conditions on every earlier variable: tabulate its CPTs over them.
      const engine = engineFromArgs(args, data.rows);
      const parents = structure.variables.map((_, v) => naiveConditioning(structure, v));
      net = tabulateConditional({ ...structure, parents }, engine.bind(structure, data));
    } else if ((ESTIMATORS as readonly string[]).includes(name)) {
      rejectBmaFlags(args, name);
      net = fitNetwork(structure, data, estimatorFromArgs(args, name as EstimatorName));
    } else {
      // A transformer engine conditions on the parents: its answer at every configuration.
      const engine = engineFromArgs(args, data.rows);
      net = tabulateConditional(structure, engine.bind(structure, data));
    }
    saveNetwork(out, net);
    io.err(
      `fitted ${net.variables.length} CPTs from ${data.rows} rows with ${name}; wrote ${out}\n`,
    );
    const changed = structureChange(structure, net);
    const flag = str(args, "estimator") !== undefined ? "--estimator" : "--engine";
    if (changed) io.err(`note: ${flag} ${name} ${changed}\n`);
    return 0;
  },
};
