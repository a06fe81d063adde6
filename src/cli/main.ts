/** bnformer command-line entry: dispatches to one module per command. */
export async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write("usage: bnformer <command> [options]\n");
    return 0;
  }
  process.stderr.write(`bnformer: unknown command "${cmd}"; run "bnformer --help"\n`);
  return 2;
}
