// The package as another project gets it: `npm pack` (of the dist/ the test runner keeps
// current), installed from the tarball into a fresh project, imported by name under plain
// node, type-checked as a consumer's TypeScript, and its bin run. No TypeScript compiler
// or tsx is involved at run time there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import type { SpawnSyncReturns } from "node:child_process";
import { loadNetwork } from "../src/bn/network-file.ts";
import { createRng } from "../src/bn/rng.ts";
import { sampleRows } from "../src/bn/sample.ts";
import { estimateConditional } from "../src/estimate/estimators.ts";

const TSC = resolve("node_modules", "typescript", "bin", "tsc");

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

/**
 * The consumer's package.json and lockfile: the tarball plus this repository's locked
 * runtime dependencies, so `npm ci --offline` needs only the tarballs that npm's cache holds
 * after `npm ci` here (without a lock, npm needs registry metadata to resolve versions).
 */
function consumerProject(tarball: string): { manifest: object; lock: object } {
  const ours = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const root = ours.packages[""]!;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { bnformer: spec } },
    "node_modules/bnformer": {
      version: root["version"],
      resolved: spec,
      license: root["license"],
      dependencies: root["dependencies"],
      bin: root["bin"],
      engines: root["engines"],
    },
  };
  for (const [path, entry] of Object.entries(ours.packages))
    if (path !== "" && entry.dev !== true) packages[path] = entry;
  return {
    manifest: { name: "consumer", private: true, type: "module", dependencies: { bnformer: spec } },
    lock: { name: "consumer", lockfileVersion: 3, requires: true, packages },
  };
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// Run under the consumer's node: sample Asia, estimate one conditional, parse text with the
// browser-safe entry; print what the same calls give here from src/.
const CONSUMER_SCRIPT = `
import { loadNetwork, createRng, sampleRows, estimateConditional } from "bnformer";
import { parseBif } from "bnformer/core";
import { readFileSync } from "node:fs";
const path = process.argv[1];
const net = loadNetwork(path);
const rows = sampleRows(createRng(3), net, 300);
const p = estimateConditional(net, rows, 7, new Uint8Array(8), { estimator: "mle" });
const fromText = parseBif(readFileSync(path, "utf8"));
console.log(JSON.stringify({
  vars: net.variables.map((v) => v.name),
  rows: Array.from(rows.data),
  p: Array.from(p),
  sameFromText: fromText.variables.length === net.variables.length,
}));
`;

// Type-checked in the consumer project: the right uses compile, the wrong one must not.
const CONSUMER_TS = `
import { loadNetwork, createRng, sampleRows, type Network } from "bnformer";
import { constructionEngine } from "bnformer/core";
const net: Network = loadNetwork("asia.bif");
const rows = sampleRows(createRng(1), net, 10);
const engine = constructionEngine({ eps: 1e-6, maxContext: 10 });
export const n: number = rows.rows + (engine ? 0 : 1);
`;
const WRONG_TS = `
import { createRng } from "bnformer";
export const rng = createRng("not a seed");
`;

test(
  "the packed tarball installs in another project: import by name, types, bin",
  { timeout: 170_000 },
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), "bnformer-pack-"));
    try {
      // dist/ is already current (scripts/run-tests.mjs builds it), so pack skips `prepare`.
      const packed = ok(
        spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
          encoding: "utf8",
        }),
        "npm pack",
      );
      const [{ filename, files }] = JSON.parse(packed) as [
        { filename: string; files: { path: string }[] },
      ];
      const shipped = files.map((f) => f.path);
      for (const f of ["dist/index.js", "dist/core.d.ts", "bin/bnformer.mjs", "data/bif/asia.bif"])
        assert.ok(shipped.includes(f), `the tarball holds ${f}`);
      assert.deepEqual(
        shipped.filter((f) => f.startsWith("src/") || f.startsWith("test/")),
        [],
      );

      const project = join(dir, "consumer");
      mkdirSync(project);
      const { manifest, lock } = consumerProject(join("..", filename));
      writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
      writeFileSync(join(project, "package-lock.json"), JSON.stringify(lock, null, 2));
      const quiet = ["--no-audit", "--no-fund"];
      let installed = spawnSync("npm", ["ci", "--offline", ...quiet], {
        cwd: project,
        encoding: "utf8",
      });
      if (installed.status !== 0) {
        // A cache without some locked tarball: let npm resolve and fetch what it lacks.
        t.diagnostic(`npm ci --offline failed (${installed.stderr.trim().split("\n").at(-1)})`);
        t.diagnostic("installing with npm install --prefer-offline instead");
        rmSync(join(project, "package-lock.json"));
        installed = spawnSync("npm", ["install", "--prefer-offline", ...quiet], {
          cwd: project,
          encoding: "utf8",
        });
      }
      ok(installed, "npm install of the tarball");

      const asia = join(project, "node_modules", "bnformer", "data", "bif", "asia.bif");
      const run = ok(
        spawnSync(process.execPath, ["--input-type=module", "-e", CONSUMER_SCRIPT, asia], {
          cwd: project,
          encoding: "utf8",
        }),
        "import from bnformer",
      );
      const got = JSON.parse(run) as {
        vars: string[];
        rows: number[];
        p: number[];
        sameFromText: boolean;
      };
      const net = loadNetwork("data/bif/asia.bif");
      const rows = sampleRows(createRng(3), net, 300);
      const p = estimateConditional(net, rows, 7, new Uint8Array(8), { estimator: "mle" });
      assert.deepEqual(got, {
        vars: net.variables.map((v) => v.name),
        rows: Array.from(rows.data),
        p: Array.from(p),
        sameFromText: true,
      });

      // One tsc run, strict, without skipLibCheck or Node's types: the right file compiles
      // and the only error is the wrong call.
      writeFileSync(join(project, "use.ts"), CONSUMER_TS);
      writeFileSync(join(project, "wrong.ts"), WRONG_TS);
      const args = [
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
      ];
      const tsc = spawnSync(process.execPath, [TSC, ...args, "use.ts", "wrong.ts"], {
        cwd: project,
        encoding: "utf8",
      });
      assert.equal(tsc.status, 2, tsc.stdout + tsc.stderr);
      assert.deepEqual(
        tsc.stdout
          .trim()
          .split("\n")
          .map((line) => line.replace(/: error (TS\d+).*/, " $1")),
        ["wrong.ts(3,30) TS2345"],
      );

      const bin = join(project, "node_modules", ".bin", "bnformer");
      const info = ok(spawnSync(bin, ["info", asia], { encoding: "utf8" }), "bnformer info");
      assert.match(info, /8 nodes, 8 edges, max in-degree 2, max states 2, 18 free parameters/);
      // The demo's default network is the packaged data/bif/asia.bif.
      const demo = ok(
        spawnSync(bin, ["demo", "--n", "50"], { cwd: project, encoding: "utf8" }),
        "bnformer demo",
      );
      assert.match(demo, /^Network .*asia\.bif: 8 variables, 8 edges, 18 free parameters\./);
      // The shipped pretrained model travels in the package: --engine pretrained needs nothing else.
      const ctx = join(project, "ctx.csv");
      ok(
        spawnSync(bin, ["sample", "--network", asia, "--n", "60", "--seed", "3", "--out", ctx], {
          encoding: "utf8",
        }),
        "bnformer sample",
      );
      const predicted = ok(
        spawnSync(
          bin,
          ["predict", "--structure", asia, "--context", ctx, "--target", "dysp"].concat([
            "--given",
            "bronc=yes,either=no",
            "--engine",
            "pretrained",
            "--format",
            "json",
          ]),
          { encoding: "utf8" },
        ),
        "bnformer predict --engine pretrained",
      );
      const dist = Object.values(JSON.parse(predicted).distribution as Record<string, number>);
      assert.equal(dist.length, 2);
      assert.ok(Math.abs(dist[0]! + dist[1]! - 1) < 1e-9 && dist[0]! > 0.5, predicted);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
