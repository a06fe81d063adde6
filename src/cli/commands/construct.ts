/** `bnformer construct`: write the hand-built 2-layer transformer for a structure as a checkpoint. */
import type { Command } from "../command.ts";
import { num, str } from "../args.ts";
import { loadStructureArg, checkedOutputFolder, formatTable } from "../shared.ts";
import { DEFAULT_EPS } from "../engine-args.ts";
import { construct as buildConstruction, weightNorms } from "../../model/construction.ts";
import { saveConstruction } from "../../model/checkpoint.ts";

export const construct: Command = {
  def: {
    name: "construct",
    summary:
      "build the 2-layer transformer that simulates in-context MLE and save it (safetensors + config.json)",
    usage: "bnformer construct --structure NET --eps E --max-context N --out DIR",
    options: {
      structure: {
        kind: "string",
        required: true,
        placeholder: "NET",
        help: "structure (.bif or .json)",
      },
      eps: {
        kind: "number",
        min: 0,
        exclusiveMin: true,
        default: DEFAULT_EPS,
        help: "total-variation bound",
      },
      "max-context": {
        kind: "int",
        min: 1,
        required: true,
        help: "largest context (rows) the bound holds for",
      },
      out: { kind: "string", required: true, placeholder: "DIR", help: "checkpoint directory" },
    },
    examples: [
      "bnformer construct --structure data/bif/asia.bif --eps 1e-6 --max-context 2000 --out runs/asia-construction",
    ],
  },
  run(args, io) {
    const structurePath = str(args, "structure")!;
    const out = checkedOutputFolder(str(args, "out")!, [structurePath]);
    const structure = loadStructureArg(structurePath);
    const c = buildConstruction(structure, {
      eps: num(args, "eps")!,
      maxContext: num(args, "max-context")!,
    });
    saveConstruction(out, c);
    const { spec, params } = c;
    io.out(
      `construction for ${structure.variables.length} variables: ${spec.layers.length} layers, ` +
        `token width ${spec.inputDim}, model width ${spec.dModel}, beta = ${params.beta.toFixed(4)} ` +
        `(eps ${params.eps}, max context ${params.maxContext})\n`,
    );
    io.out(
      formatTable(
        ["weight", "max |entry|", "Frobenius"],
        [...weightNorms(c.weights)]
          .filter(([, n]) => n.maxAbs > 0)
          .map(([name, n]) => [name, fmt(n.maxAbs), fmt(n.frobenius)]),
      ),
    );
    io.out(`(all-zero tensors omitted)\nwrote ${out}/model.safetensors and ${out}/config.json\n`);
    return 0;
  },
};

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));
