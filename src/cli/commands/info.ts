/** `bnformer info NET`: variables, states, edges, in-degrees and free parameters. */
import type { Command } from "../command.ts";
import { flag } from "../args.ts";
import { renormalizeOption, loadNetworkArg, formatTable } from "../shared.ts";
import { edgeCount, freeParameterCount } from "../../bn/network.ts";
import { parentConfigCount } from "../../bn/cpt.ts";

export const info: Command = {
  def: {
    name: "info",
    summary: "describe a network: variables, states, edges, in-degrees, free parameters",
    usage: "bnformer info NET.bif|NET.json [--json]",
    positionals: ["NET"],
    options: {
      json: { kind: "boolean", help: "print JSON instead of a table" },
      ...renormalizeOption,
    },
    examples: ["bnformer info data/bif/asia.bif"],
  },
  run(args, io) {
    const path = args.positionals[0]!;
    const net = loadNetworkArg(path, args);
    const vars = net.variables.map((v, i) => ({
      name: v.name,
      states: [...v.states],
      parents: net.parents[i]!.map((p) => net.variables[p]!.name),
      parentConfigurations: parentConfigCount(net, i),
      freeParameters: (v.states.length - 1) * parentConfigCount(net, i),
    }));
    const summary = {
      name: net.name,
      file: path,
      nodes: net.variables.length,
      edges: edgeCount(net),
      maxInDegree: Math.max(0, ...net.parents.map((p) => p.length)),
      maxStates: Math.max(...net.variables.map((v) => v.states.length)),
      freeParameters: freeParameterCount(net),
    };
    if (flag(args, "json")) {
      io.out(JSON.stringify({ ...summary, variables: vars }, null, 2) + "\n");
      return 0;
    }
    io.out(
      `network ${summary.name} (${path})\n` +
        `${summary.nodes} nodes, ${summary.edges} edges, max in-degree ${summary.maxInDegree}, ` +
        `max states ${summary.maxStates}, ${summary.freeParameters} free parameters\n\n`,
    );
    io.out(
      formatTable(
        ["variable", "states", "parents", "in-degree", "free params"],
        vars.map((v) => [
          v.name,
          v.states.join(", "),
          v.parents.length ? v.parents.join(", ") : "-",
          String(v.parents.length),
          String(v.freeParameters),
        ]),
      ),
    );
    return 0;
  },
};
