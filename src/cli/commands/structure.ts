/** `bnformer structure`: each possible edge's posterior probability given a context (BMA). */
import type { Command } from "../command.ts";
import { str } from "../args.ts";
import {
  contextInputOptions,
  dataOptions,
  formatTable,
  loadDataArg,
  loadStructureArg,
} from "../shared.ts";
import { bmaAlphaOption, bmaFromArgs, bmaOptions } from "../bma-args.ts";
import { edgePosteriors } from "../../estimate/index.ts";
import { priorLabel } from "../../bn/priors.ts";

export const structure: Command = {
  def: {
    name: "structure",
    summary: "print each edge's posterior probability given a context (exact BMA over parent sets)",
    usage:
      "bnformer structure --structure NET --context rows.csv [--engine bma] [--edge-prob P] " +
      "[--max-parents K] [--prior uniform|beta|dirichlet] [--format text|json]",
    options: {
      ...contextInputOptions,
      structure: {
        kind: "string",
        required: true,
        placeholder: "NET",
        help: "variables, states and order (.bif or .json); its edges and CPTs are ignored",
      },
      engine: { kind: "choice", choices: ["bma"], default: "bma", help: "structure posterior" },
      ...bmaOptions,
      ...bmaAlphaOption,
      format: { kind: "choice", choices: ["text", "json"], default: "text", help: "output format" },
      ...dataOptions,
    },
    examples: [
      "bnformer structure --structure data/bif/cancer.bif --context cancer-500.csv --max-parents 2",
    ],
  },
  run(args, io) {
    const net = loadStructureArg(str(args, "structure")!);
    const context = loadDataArg(str(args, "context")!, net, args);
    const opts = bmaFromArgs(args, net);
    const edges = edgePosteriors(net, context, opts);
    const name = (v: number) => net.variables[v]!.name;
    const maxParents = opts.maxParents ?? null;
    if (str(args, "format") === "json") {
      const json = {
        engine: "bma",
        rows: context.rows,
        edgeProb: opts.edgeProb,
        maxParents,
        prior: opts.prior,
        edges: edges.map((e) => ({
          from: name(e.from),
          to: name(e.to),
          probability: e.probability,
        })),
      };
      io.out(JSON.stringify(json) + "\n");
      return 0;
    }
    io.out(
      `P(edge | ${context.rows} rows) by bma: edge prob ${opts.edgeProb}, ` +
        `max parents ${maxParents ?? "unlimited"}, CPT prior ${priorLabel(opts.prior!)}\n`,
    );
    io.out(
      formatTable(
        ["from", "to", "probability"],
        edges.map((e) => [name(e.from), name(e.to), e.probability.toFixed(6)]),
      ),
    );
    return 0;
  },
};
