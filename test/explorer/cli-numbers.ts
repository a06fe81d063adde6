// What the CLI prints for one explorer view (test helper, not a test file): the context of
// `sample`, each engine's `predict --format json`, each transformer's `explain --format json`
// and its SVG, and the rows of `generate`. The explorer's tests compare the page's numbers with these.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";

export interface CliView {
  /** The network file (BIF). */
  network: string;
  n: number;
  seed: number;
  target: string;
  /** --given, "A=a,B=b" ("" for a root). */
  given: string;
  /** --engine values of predict ("construction" gets the default --eps). */
  engines: readonly string[];
  /** generate --engine, --n and --seed. */
  gen: { engine: string; rows: number; seed: number };
  /** explain --engine values (default: the construction only). */
  explainEngines?: readonly string[];
}

/** `explain --format json`: the distribution and every head's summary. */
export interface CliExplanation {
  target: string;
  parents: string[];
  distribution: Record<string, number>;
  shown: { layer: number; head: number };
  heads: {
    layer: number;
    head: number;
    rowsByAgreement: number[];
    massByAgreement: number[];
    self: number;
    fullMatchTv: number | null;
  }[];
}

export interface CliNumbers {
  contextCsv: string;
  /** predict's distribution (state -> probability) per engine. */
  predict: Record<string, Record<string, number>>;
  /** explain --format json, per --engine. */
  explain: Record<string, CliExplanation>;
  /** explain --svg, per --engine. */
  explainSvg: Record<string, string>;
  generatedCsv: string;
}

/** Runs `bnformer argv` in-process; its stdout (a failure is an assertion naming stderr). */
export async function cli(argv: string[]): Promise<string> {
  const io = captureIo();
  const code = await main(argv, io);
  assert.equal(code, 0, `bnformer ${argv.join(" ")}: ${io.stderr.join("")}`);
  return io.stdout.join("");
}

/** Runs `bnformer sample`, `predict` (per engine), `explain` and `generate` for `v`. */
export async function cliNumbers(v: CliView): Promise<CliNumbers> {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-explorer-"));
  try {
    const contextCsv = await cli([
      ...["sample", "--network", v.network, "--n", String(v.n), "--seed", String(v.seed)],
    ]);
    const context = join(dir, "context.csv");
    writeFileSync(context, contextCsv);
    const query = [
      ...["--structure", v.network, "--context", context, "--target", v.target],
      ...(v.given === "" ? [] : ["--given", v.given]),
    ];
    const predict: CliNumbers["predict"] = {};
    for (const engine of v.engines) {
      const out = await cli(["predict", ...query, "--engine", engine, "--format", "json"]);
      predict[engine] = (JSON.parse(out) as { distribution: Record<string, number> }).distribution;
    }
    const explain: CliNumbers["explain"] = {};
    const explainSvg: CliNumbers["explainSvg"] = {};
    for (const [i, engine] of (v.explainEngines ?? ["construction"]).entries()) {
      const svg = join(dir, `attention-${i}.svg`);
      const out = await cli([
        "explain",
        ...query,
        "--engine",
        engine,
        "--format",
        "json",
        "--svg",
        svg,
      ]);
      explain[engine] = JSON.parse(out) as CliExplanation;
      explainSvg[engine] = readFileSync(svg, "utf8");
    }
    const generatedCsv = await cli([
      ...["generate", "--structure", v.network, "--context", context],
      ...["--n", String(v.gen.rows), "--seed", String(v.gen.seed), "--engine", v.gen.engine],
    ]);
    return { contextCsv, predict, explain, explainSvg, generatedCsv };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
