// The command list that `bnformer --help` prints without loading any command module: each
// entry's name and summary are those of the module it loads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { commands } from "../../src/cli/commands/index.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";

test("every command entry loads a module whose def has the entry's name and summary", async () => {
  assert.equal(new Set(commands.map((c) => c.name)).size, commands.length);
  for (const entry of commands) {
    const cmd = await entry.load();
    assert.deepEqual(
      { name: cmd.def.name, summary: cmd.def.summary },
      { name: entry.name, summary: entry.summary },
    );
  }
});

test("a command's --help comes from its loaded module; --help lists every command", async () => {
  const io = captureIo();
  assert.equal(await main(["--help"], io), 0);
  for (const entry of commands) assert.ok(io.stdout.join("").includes(`  ${entry.name} `));
  const info = captureIo();
  assert.equal(await main(["info", "--help"], info), 0);
  assert.match(info.stdout.join(""), /--json/);
});

test("every module in src/cli/commands/ is a listed command", async () => {
  const { readdirSync } = await import("node:fs");
  const modules = readdirSync("src/cli/commands")
    .filter((f) => f.endsWith(".ts") && f !== "index.ts")
    .sort();
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const listed = new Set(loaded);
  for (const f of modules) {
    const mod = (await import(`../../src/cli/commands/${f}`)) as Record<string, unknown>;
    const exported = Object.values(mod).filter(
      (v) => typeof v === "object" && v !== null && "def" in v,
    );
    assert.ok(
      exported.length > 0 && exported.every((c) => listed.has(c as never)),
      `${f} is not in the index`,
    );
  }
});

test("--version prints package.json's version", async () => {
  const { readFileSync } = await import("node:fs");
  const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
  const io = captureIo();
  assert.equal(await main(["--version"], io), 0);
  assert.equal(io.stdout.join(""), `bnformer ${version}\n`);
});
