// Fuzzing the flag parser and the CLI entry (issue 14): whatever argv a user types, the
// parser returns well-typed values or a "config" error, and main() returns 0, 1 or 2
// without throwing. Fixed seeds and bounded runs keep the tests deterministic and short.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { CommandDef } from "../../src/cli/args.ts";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { BnformerError } from "../../src/errors.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { info } from "../../src/cli/commands/info.ts";
import { sample } from "../../src/cli/commands/sample.ts";
import { fit } from "../../src/cli/commands/fit.ts";
import { generate } from "../../src/cli/commands/generate.ts";
import { predict } from "../../src/cli/commands/predict.ts";
import { construct } from "../../src/cli/commands/construct.ts";
import { convert } from "../../src/cli/commands/convert.ts";
import { explain } from "../../src/cli/commands/explain.ts";
import { train } from "../../src/cli/commands/train.ts";
import { evaluate } from "../../src/cli/commands/eval.ts";
import { experiment } from "../../src/cli/commands/experiment.ts";

const DEFS: readonly CommandDef[] = [
  info,
  sample,
  fit,
  generate,
  predict,
  construct,
  convert,
  explain,
  train,
  evaluate,
  experiment,
].map((c) => c.def);

/** Values a user might type, valid or not. */
const value = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.constantFrom(
    ...["0", "-0", "1", "-1", "1.5", "1e3", "1e400", "-1e400", "NaN", "Infinity", "0x10"],
    ...["4294967295", "4294967296", "99999999999999999999", " 7", "", "--", "-", "=", "a,b"],
  ),
);

/** An argv `def` accepts: its required flags with plausible values, and its positionals. */
function baseArgv(def: CommandDef): string[] {
  const argv = (def.positionals ?? []).map((p) => `${p.toLowerCase()}.json`);
  for (const [name, o] of Object.entries(def.options)) {
    if (!o.required) continue;
    const v =
      o.kind === "choice" ? o.choices![0]! : o.kind === "int" || o.kind === "number" ? "1" : "x";
    argv.push(`--${name}`, v);
  }
  return argv;
}

/** argv pieces for `def`: its flags with values (spaced or with =), and strangers. */
function pieces(def: CommandDef): fc.Arbitrary<string[]> {
  const names = Object.keys(def.options);
  const choices = Object.values(def.options).flatMap((o) => o.choices ?? []);
  const shorts = Object.values(def.options).flatMap((o) => (o.short ? [`-${o.short}`] : []));
  const flagName = fc.constantFrom(...names);
  const flagValue = choices.length ? fc.oneof(value, fc.constantFrom(...choices)) : value;
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(flagName, flagValue).map(([n, v]) => [`--${n}`, v]) },
    { weight: 2, arbitrary: fc.tuple(flagName, flagValue).map(([n, v]) => [`--${n}=${v}`]) },
    { weight: 1, arbitrary: flagName.map((n) => [`--${n}`]) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(value, fc.constantFrom("-h", "--help", "--no-such-flag", "-x", "--", ...shorts))
        .map((t) => [t]),
    },
  );
}

/** argv for `def`: a valid one with random pieces after it, or random pieces alone. */
function argvFor(def: CommandDef): fc.Arbitrary<string[]> {
  const rest = fc.array(pieces(def), { maxLength: 6 }).map((ps) => ps.flat());
  return fc.oneof(
    { weight: 3, arbitrary: rest.map((r) => [...baseArgv(def), ...r]) },
    { weight: 1, arbitrary: rest },
  );
}

/** The checks the option table promises about a parsed value. */
function checkParsed(def: CommandDef, argv: readonly string[]): void {
  const p = parseCommandArgs(def, argv);
  for (const [name, o] of Object.entries(def.options)) {
    const v = p.values[name];
    const where = `${def.name} --${name} from ${JSON.stringify(argv)}`;
    if (v === undefined) {
      assert.ok(!o.required || p.help, `${where}: required flag missing without an error`);
      continue;
    }
    if (v === o.default) continue;
    if (o.kind === "boolean") assert.equal(typeof v, "boolean", where);
    else if (o.kind === "string") assert.equal(typeof v, "string", where);
    else if (o.kind === "choice") assert.ok(o.choices!.includes(v as string), where);
    else {
      assert.ok(typeof v === "number" && Number.isFinite(v), where);
      if (o.kind === "int") assert.ok(Number.isSafeInteger(v), where);
      if (o.min !== undefined) assert.ok(o.exclusiveMin ? v > o.min : v >= o.min, where);
      if (o.max !== undefined) assert.ok(v <= o.max, where);
    }
  }
  if (!p.help) assert.equal(p.positionals.length, def.positionals?.length ?? 0);
}

test("any argv parses to values of the declared kinds, or fails with a config error", () => {
  for (const def of DEFS) {
    fc.assert(
      fc.property(argvFor(def), (argv) => {
        try {
          checkParsed(def, argv);
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.ok(
            e instanceof BnformerError && e.code === "config",
            `${def.name} ${JSON.stringify(argv)} threw ${String(e)}`,
          );
          assert.match(e.message, new RegExp(`see "bnformer ${def.name} --help"`));
        }
      }),
      { seed: 14, numRuns: 300 },
    );
  }
});

test("numbers at the edges: huge, non-integer and out-of-range values are flag errors", () => {
  const cases: [string[], RegExp][] = [
    [["--n", "99999999999999999999"], /--n must be an integer of magnitude below 2\^53/],
    [["--n", "2.5"], /--n must be an integer; got "2.5"/],
    [["--n", "0"], /--n must be >= 1; got 0/],
    [["--n", "-3"], /--n must be >= 1; got -3/],
    [["--n", "1e400"], /--n must be a number; got "1e400"/],
    [["--seed", "4294967296"], /--seed must be <= 4294967295; got 4294967296/],
    [["--seed", "-1"], /--seed must be >= 0; got -1/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => parseCommandArgs(sample.def, ["--network", "x.bif", "--n", "1", ...flags]),
      (e: unknown) => e instanceof BnformerError && e.code === "config" && message.test(e.message),
      flags.join(" "),
    );
  }
  // The largest seed is accepted, not reduced.
  const p = parseCommandArgs(sample.def, [
    "--network",
    "x.bif",
    "--n",
    "1",
    "--seed",
    "4294967295",
  ]);
  assert.equal(p.values.seed, 4294967295);
});

test("main() answers any argv to info, convert and sample with exit 0, 1 or 2, never a throw", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-fuzz-"));
  const garbage = join(dir, "garbage.bif");
  writeFileSync(garbage, "network x { variable ; probability ( ) { table 1");
  const json = join(dir, "bad.json");
  writeFileSync(json, '{"format": "bnformer-network/1", "variables": [{"name": "A"}]}');
  mkdirSync(join(dir, "a-folder.json"));
  const inputs = [
    "data/bif/asia.bif",
    "data/bif/sachs.bif",
    garbage,
    json,
    join(dir, "missing.bif"),
    dir,
  ];
  const outputs = [
    "out.json",
    "out.bif",
    "out.csv",
    "out.tsv",
    "out.txt",
    "new/deeper/out.json",
    "a-folder.json",
    "",
  ].map((o) => join(dir, o));
  const path = fc.oneof(fc.constantFrom(...inputs), fc.constantFrom(...outputs));
  const count = fc.constantFrom("0", "1", "5", "-3", "2.5", "abc", "1e2", "99999999999999999999");
  const seed = fc.constantFrom("0", "7", "-1", "4294967295", "4294967296", "x");
  const extra = fc
    .array(
      fc.oneof(
        fc.constantFrom(["--json"], ["--renormalize"], ["--bogus"], ["-h"], ["--out"]),
        fc.tuple(fc.constant("--out"), path),
        fc.tuple(fc.constant("--seed"), seed),
        fc.tuple(fc.constant("--n"), count),
        path.map((p) => [p]),
      ),
      { maxLength: 3 },
    )
    .map((xs) => xs.flat());
  const argv = fc.oneof(
    fc.tuple(path, extra).map(([p, e]) => ["info", p, ...e]),
    fc.tuple(path, path, extra).map(([a, b, e]) => ["convert", a, b, ...e]),
    fc.tuple(path, count, extra).map(([p, n, e]) => ["sample", "--network", p, "--n", n, ...e]),
  );
  await fc.assert(
    fc.asyncProperty(argv, async ([cmd, ...rest]) => {
      const io = captureIo();
      const code = await main([cmd!, ...rest], io);
      const err = io.stderr.join("");
      assert.ok([0, 1, 2].includes(code), `${cmd} ${rest.join(" ")} -> ${code}: ${err}`);
      assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
      if (code !== 0) assert.match(err, new RegExp(`^bnformer ${cmd!}: `));
    }),
    { seed: 14, numRuns: 250 },
  );
});
