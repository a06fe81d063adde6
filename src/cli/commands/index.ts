/** Every CLI command, in the order `bnformer --help` lists them. */
import type { Command } from "../command.ts";
import { info } from "./info.ts";
import { sample } from "./sample.ts";
import { fit } from "./fit.ts";
import { generate } from "./generate.ts";
import { predict } from "./predict.ts";
import { structure } from "./structure.ts";
import { construct } from "./construct.ts";
import { convert } from "./convert.ts";
import { demo } from "./demo.ts";
import { explain } from "./explain.ts";
import { train } from "./train.ts";
import { evaluate } from "./eval.ts";
import { experiment } from "./experiment.ts";

export const commands: readonly Command[] = [
  demo,
  info,
  sample,
  fit,
  generate,
  predict,
  structure,
  construct,
  explain,
  train,
  evaluate,
  experiment,
  convert,
];
