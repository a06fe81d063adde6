/** What a CLI command is: its option table (src/cli/args.ts) and its action. */
import type { CommandDef, Parsed } from "./args.ts";
import type { CliIo } from "./io.ts";

export interface Command {
  readonly def: CommandDef;
  /** Returns the exit code (0 on success). Throws BnformerError on bad input. */
  run(args: Parsed, io: CliIo): Promise<number> | number;
}
