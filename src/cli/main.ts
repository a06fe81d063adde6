/**
 * bnformer command-line entry: finds the command, parses its flags, runs it, and turns
 * errors into a message on stderr and a non-zero exit code (1 for bad input or data, 2 for
 * bad usage). Only src/cli touches argv, stdout and exit codes.
 */
import { readFileSync } from "node:fs";
import { BnformerError } from "../errors.ts";
import type { Parsed } from "./args.ts";
import { formatHelp, parseCommandArgs } from "./args.ts";
import { cliErrorMessage } from "./hints.ts";
import { guardInterrupts } from "./interrupt.ts";
import type { CliIo } from "./io.ts";
import { processIo } from "./io.ts";
import type { CommandEntry } from "./commands/index.ts";
import { commands } from "./commands/index.ts";

/** The version in package.json: two levels up from both src/cli/ and dist/cli/. */
function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "bnformer: discrete Bayesian networks, in-context estimators, and transformers that simulate them",
    "",
    "usage: bnformer <command> [options]     (bnformer <command> --help for its options)",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
  ].join("\n");
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(topHelp());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.out(`bnformer ${packageVersion()}\n`);
    return 0;
  }
  const entry: CommandEntry | undefined = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(
      `bnformer: unknown command "${name}"; commands: ${commands.map((c) => c.name).join(", ")}\n`,
    );
    return 2;
  }
  const cmd = await entry.load();
  let args: Parsed | undefined;
  try {
    args = parseCommandArgs(cmd.def, rest);
    if (args.help) {
      io.out(formatHelp(cmd.def));
      return 0;
    }
    const unguard = guardInterrupts();
    try {
      return await cmd.run(args, io);
    } finally {
      unguard();
    }
  } catch (e) {
    if (e instanceof BnformerError) {
      io.err(`bnformer ${name}: ${cliErrorMessage(e, cmd.def, args)}\n`);
      return e.code === "config" ? 2 : 1;
    }
    throw e;
  }
}
