// The pretrained evaluation's figures on a hand-made result (no model, no training): which
// figures a result gets, the methods and series each one names, the numbers behind the
// lines, bars, bands and target rules (recomputed here from the points), and the files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  PretrainedEvalResult,
  PretrainedPoint,
  PretrainedTarget,
} from "../../src/eval/pretrained.ts";
import {
  HELD_OUT_NAME,
  MODEL,
  defaultPretrainedOptions,
  pretrainedChecks,
} from "../../src/eval/pretrained.ts";
import {
  pretrainedRatioFigureSpec,
  pretrainedRealFigureSpec,
  pretrainedTvFigureSpec,
  renderPretrainedFigures,
  writePretrainedFigures,
} from "../../src/eval/pretrained-figures.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "../../src/eval/baselines.ts";
import { methodColors } from "../../src/eval/figures.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const HELD_OUT = [1, 10, 100];
const LONG = [1000];
const REAL = ["asia", "cancer"];
const REAL_LENGTHS = [50, 500];

/** A TV that differs by method, length and seed, so every mean, sd and ratio is distinct. */
function tvOf(method: string, length: number, seed: number, network: string): number {
  const level = { [MODEL]: 1.05, [POSTERIOR_MEAN]: 1, [MLE]: 1.2, [NAIVE]: 2 }[method]!;
  const shift = network === HELD_OUT_NAME ? 0 : 0.01 * (REAL.indexOf(network) + 1);
  return (level + 0.03 * seed + shift) / Math.sqrt(length + 1);
}

/** A result with targets 1-3 (as `targets` selects) over `seeds` seeds. */
function result(seeds: number, targets: readonly PretrainedTarget[]): PretrainedEvalResult {
  const points: PretrainedPoint[] = [];
  const add = (target: PretrainedTarget, network: string, length: number, methods: string[]) => {
    for (let seed = 0; seed < seeds; seed++)
      for (const method of methods)
        points.push({
          target,
          network,
          length,
          method,
          seed,
          tv: tvOf(method, length, seed, network),
          episodes: 10,
          generatorTv: null,
        });
  };
  const all = [MODEL, POSTERIOR_MEAN, MLE, NAIVE];
  if (targets.includes("held-out"))
    for (const n of HELD_OUT) add("held-out", HELD_OUT_NAME, n, all);
  if (targets.includes("length")) for (const n of LONG) add("length", HELD_OUT_NAME, n, all);
  if (targets.includes("real"))
    for (const net of REAL) for (const n of REAL_LENGTHS) add("real", net, n, [MODEL, MLE, NAIVE]);
  const options = {
    ...defaultPretrainedOptions([], null),
    episodes: 10,
    seeds,
    heldOutLengths: targets.includes("held-out") ? HELD_OUT : [],
    longLengths: targets.includes("length") ? LONG : [],
    realLengths: REAL_LENGTHS,
  };
  return { model: "hand-made", options, points, checks: pretrainedChecks(options, points) };
}

const FULL: PretrainedTarget[] = ["held-out", "length", "real"];

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Every layer of a spec, nested layers included. */
function layers(spec: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (s: { layer?: unknown[] }) => {
    for (const l of s.layer ?? []) {
      out.push(l as Record<string, unknown>);
      walk(l as { layer?: unknown[] });
    }
  };
  walk(spec as { layer?: unknown[] });
  return out;
}
const markOf = (l: Record<string, unknown>) =>
  typeof l.mark === "string" ? l.mark : (l.mark as { type: string } | undefined)?.type;

interface Row {
  method?: string;
  series?: string;
  network?: string;
  length: number | string;
  mean?: number;
  ratio?: number;
  low: number;
  high: number;
}
const rowsOf = (spec: unknown) => (spec as { data: { values: Row[] } }).data.values;

function meanSd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))];
}
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

test("three figures, each an SVG naming its methods and series, and a PNG of twice its size", async () => {
  const figures = await renderPretrainedFigures(result(2, FULL), 2);
  assert.deepEqual(
    figures.map((f) => f.kind),
    ["pretrained-tv", "pretrained-ratio", "pretrained-real"],
  );
  const named: Record<string, string[]> = {
    "pretrained-tv": [MODEL, POSTERIOR_MEAN, MLE, NAIVE, "target 2 →"],
    "pretrained-ratio": [
      `${MODEL} ÷ ${POSTERIOR_MEAN}`,
      `${MODEL} ÷ ${MLE}`,
      `target 1: 1.10 × ${POSTERIOR_MEAN}`,
      `target 2: 1.15 × ${MLE}`,
    ],
    "pretrained-real": [...REAL, "n = 50 (target ≤ 1.00)", "n = 500 (target ≤ 1.15)"],
  };
  for (const f of figures) {
    assert.ok(f.svg.startsWith("<svg") && f.svg.trimEnd().endsWith("</svg>"), f.kind);
    assert.ok(f.svg.includes(xmlEscape(f.title)), `${f.kind}: title`);
    for (const name of named[f.kind]!)
      assert.ok(f.svg.includes(xmlEscape(name)), `${f.kind}: ${name}`);
    assert.match(f.caption, /± 1 sd over 2 seeds \(10 episodes each\)/);
    assert.deepEqual([...f.png.subarray(0, 8)], PNG_SIGNATURE);
    const m = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(f.svg)!;
    const view = new DataView(f.png.buffer, f.png.byteOffset, f.png.byteLength);
    assert.deepEqual(
      [view.getUint32(16), view.getUint32(20)],
      [Math.round(2 * Number(m[1])), Math.round(2 * Number(m[2]))],
    );
  }
  // the model keeps the colour it has in every other figure
  const tv = figures[0]!.svg;
  assert.ok(tv.includes(`stroke="${methodColors([MODEL, POSTERIOR_MEAN]).get(MODEL)}"`));
});

test("the TV figure: targets 1 and 2 on one log-log plot, mean ± sd over seeds", () => {
  const r = result(3, FULL);
  const spec = pretrainedTvFigureSpec(r)!;
  const rows = rowsOf(spec);
  assert.deepEqual([...new Set(rows.map((x) => x.length))], [...HELD_OUT, ...LONG]);
  assert.deepEqual([...new Set(rows.map((x) => x.method))], [MODEL, POSTERIOR_MEAN, MLE, NAIVE]);
  for (const row of rows) {
    const [m, sd] = meanSd(
      [0, 1, 2].map((s) => tvOf(row.method!, row.length as number, s, HELD_OUT_NAME)),
    );
    assert.ok(close(row.mean!, m) && close(row.low, m - sd) && close(row.high, m + sd));
  }
  const line = layers(spec).find((l) => markOf(l) === "line")!;
  const enc = line.encoding as Record<string, { scale?: { type?: string } }>;
  assert.equal(enc.x!.scale!.type, "log");
  assert.equal(enc.y!.scale!.type, "log");
  assert.ok(
    layers(spec).some((l) => markOf(l) === "area"),
    "a band",
  );
  // the boundary between the targets sits between their lengths
  const boundary = layers(spec).find(
    (l) => (l.data as { values?: { x: number }[] } | undefined)?.values?.[0]?.x !== undefined,
  )!;
  const x = (boundary.data as { values: { x: number }[] }).values[0]!.x;
  assert.ok(x > 100 && x < 1000, `boundary at ${x}`);
});

test("the ratio figure: per-seed ratios to each reference, and each target's rule over its lengths", () => {
  const r = result(2, FULL);
  const spec = pretrainedRatioFigureSpec(r)!;
  const rows = rowsOf(spec);
  assert.equal(rows.length, 2 * (HELD_OUT.length + LONG.length));
  for (const row of rows) {
    const reference = row.series === `${MODEL} ÷ ${POSTERIOR_MEAN}` ? POSTERIOR_MEAN : MLE;
    const n = row.length as number;
    const [m, sd] = meanSd(
      [0, 1].map((s) => tvOf(MODEL, n, s, HELD_OUT_NAME) / tvOf(reference, n, s, HELD_OUT_NAME)),
    );
    assert.ok(close(row.mean!, m) && close(row.high - row.mean!, sd), `${row.series} ${n}`);
  }
  // the ratio at a checked length is the check's own ratio
  const check = r.checks.find((c) => c.target === "length" && c.length === 1000)!;
  const plotted = rows.find((x) => x.series === `${MODEL} ÷ ${MLE}` && x.length === 1000)!;
  assert.ok(close(plotted.mean!, check.ratio!));
  const rules = layers(spec)
    .flatMap(
      (l) => (l.data as { values?: { y?: number; x?: number; x2?: number }[] })?.values ?? [],
    )
    .filter((v) => v.x2 !== undefined);
  assert.deepEqual(
    rules.map((v) => v.y),
    [1.1, 1.15],
  );
  assert.ok(rules[0]!.x! < 1 && rules[0]!.x2! > 100 && rules[0]!.x2! < 1000);
  assert.ok(rules[1]!.x! > 100 && rules[1]!.x! < 1000 && rules[1]!.x2! > 1000);
});

test("the real-network figure: model ÷ MLE per network and length, with each length's target", () => {
  const r = result(2, FULL);
  const spec = pretrainedRealFigureSpec(r)!;
  const rows = rowsOf(spec);
  assert.deepEqual(rows.map((x) => `${x.network} ${x.length}`).sort(), [
    "asia n = 50 (target ≤ 1.00)",
    "asia n = 500 (target ≤ 1.15)",
    "cancer n = 50 (target ≤ 1.00)",
    "cancer n = 500 (target ≤ 1.15)",
  ]);
  for (const row of rows) {
    const n = Number(/n = (\d+)/.exec(row.length as string)![1]);
    const [m, sd] = meanSd(
      [0, 1].map((s) => tvOf(MODEL, n, s, row.network!) / tvOf(MLE, n, s, row.network!)),
    );
    assert.ok(close(row.ratio!, m) && close(row.high - row.ratio!, sd), `${row.network} ${n}`);
  }
  const factors = layers(spec).flatMap(
    (l) => (l.data as { values?: { factor?: number }[] })?.values?.map((v) => v.factor) ?? [],
  );
  assert.deepEqual(factors, [1, 1.15]);
  assert.ok(layers(spec).some((l) => markOf(l) === "bar"));
  assert.ok(layers(spec).some((l) => markOf(l) === "rule" && "y2" in (l.encoding as object)));
});

test("one seed: no bands or error bars, and the captions say so", async () => {
  const r = result(1, FULL);
  for (const spec of [
    pretrainedTvFigureSpec(r),
    pretrainedRatioFigureSpec(r),
    pretrainedRealFigureSpec(r),
  ]) {
    assert.ok(!layers(spec).some((l) => markOf(l) === "area"));
    assert.ok(!layers(spec).some((l) => "y2" in ((l.encoding as object | undefined) ?? {})));
  }
  for (const f of await renderPretrainedFigures(r, 1))
    assert.match(f.caption, /none \(one seed, 10 episodes\)/, f.kind);
});

test("a result gets only the figures it has data for", async () => {
  const real = await renderPretrainedFigures(result(2, ["real"]), 1);
  assert.deepEqual(
    real.map((f) => f.kind),
    ["pretrained-real"],
  );
  const heldOut = result(2, ["held-out"]);
  assert.equal(pretrainedRealFigureSpec(heldOut), null);
  const ratio = pretrainedRatioFigureSpec(heldOut)!;
  // target 1 alone: its rule only, and no boundary between targets
  const ys = layers(ratio).flatMap(
    (l) => (l.data as { values?: { x2?: number; y: number }[] })?.values ?? [],
  );
  assert.deepEqual(
    ys.filter((v) => v.x2 !== undefined).map((v) => v.y),
    [1.1],
  );
  assert.ok(!JSON.stringify(ratio).includes("target 2 →"));
});

test("writePretrainedFigures writes each figure as SVG and PNG and returns the report's links", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-pretrained-figures-"));
  try {
    const files = await writePretrainedFigures(result(2, FULL), dir);
    assert.deepEqual(
      files.map((f) => [f.svg, f.png]),
      [
        ["pretrained-tv.svg", "pretrained-tv.png"],
        ["pretrained-ratio.svg", "pretrained-ratio.png"],
        ["pretrained-real.svg", "pretrained-real.png"],
      ],
    );
    for (const f of files) {
      assert.ok(readFileSync(join(dir, f.svg), "utf8").startsWith("<svg"));
      assert.deepEqual([...readFileSync(join(dir, f.png)).subarray(0, 8)], PNG_SIGNATURE);
      assert.ok(f.title.length > 0 && f.caption.length > 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
