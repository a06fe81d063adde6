/** `bnformer convert IN OUT`: between BIF and JSON, by extension. */
import type { Command } from "../command.ts";
import { renormalizeOption, loadNetworkArg, checkedOutput } from "../shared.ts";
import { saveNetwork } from "../../bn/network-file.ts";

export const convert: Command = {
  def: {
    name: "convert",
    summary: "convert a network between BIF and JSON (format from each file's extension)",
    usage: "bnformer convert IN.bif|IN.json OUT.json|OUT.bif",
    positionals: ["IN", "OUT"],
    options: { ...renormalizeOption },
    examples: ["bnformer convert data/bif/asia.bif asia.json"],
  },
  run(args, io) {
    const [input, output] = args.positionals as [string, string];
    checkedOutput(output, [input]);
    const net = loadNetworkArg(input, args);
    saveNetwork(output, net);
    io.err(`wrote ${output} (${net.variables.length} variables)\n`);
    return 0;
  },
};
