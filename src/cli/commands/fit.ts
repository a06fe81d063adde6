/** `bnformer fit`: estimate a network's CPTs from data on a given structure. */
import type { Command } from "../command.ts";
import { str } from "../args.ts";
import { dataOptions, loadDataArg, loadStructureArg, checkedOutput } from "../shared.ts";
import { ESTIMATORS, estimatorOptions, estimatorFromArgs } from "../estimator-args.ts";
import { fitBmaNetwork, fitNetwork } from "../../estimate/index.ts";
import { bmaFromArgs, bmaOptions, rejectBmaFlags } from "../bma-args.ts";
import { saveNetwork } from "../../bn/network-file.ts";
import type { Structure } from "../../bn/network.ts";
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
      "naive and marginal change the structure: naive conditions each variable on all the earlier ones",
      "(topological order), marginal on none; fit says so and writes that structure.",
    ],
    usage:
      "bnformer fit --structure NET --data rows.csv --estimator mle|dirichlet|bdeu|k2|naive|marginal|bma " +
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
      ...estimatorOptions,
      estimator: { ...estimatorOptions.estimator!, choices: [...ESTIMATORS, "bma"] },
      ...bmaOptions,
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
    const name = str(args, "estimator")!;
    if (name !== "bma") rejectBmaFlags(args, name);
    const net =
      name === "bma"
        ? fitBmaNetwork(structure, data, bmaFromArgs(args, structure))
        : fitNetwork(structure, data, estimatorFromArgs(args));
    saveNetwork(out, net);
    io.err(
      `fitted ${net.variables.length} CPTs from ${data.rows} rows with ${name}; wrote ${out}\n`,
    );
    const changed = structureChange(structure, net);
    if (changed) io.err(`note: --estimator ${name} ${changed}\n`);
    return 0;
  },
};
