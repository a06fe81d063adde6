import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bandCaption,
  methodColors,
  OKABE_ITO,
  renderFigures,
  tvFigureSpec,
  writeFigures,
} from "../../src/eval/figures.ts";
import { MLE, NAIVE, POSTERIOR_MEAN } from "../../src/eval/baselines.ts";
import { smallResult, ODD_NAME } from "./fixtures.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian). */
function pngSize(png: Uint8Array): [number, number] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

/** Width and height attributes of the root <svg> element. */
function svgSize(svg: string): [number, number] {
  const m = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(m, "root <svg> with width and height");
  return [Number(m[1]), Number(m[2])];
}

function xmlEscape(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

test("every figure is an SVG naming each plotted method, and a PNG of twice its size", async () => {
  const result = await smallResult();
  const figures = await renderFigures(result, 2);
  assert.deepEqual(
    figures.map((f) => f.kind),
    ["tv", "tv-per-node", "ratio"],
  );
  for (const f of figures) {
    assert.ok(f.svg.startsWith("<svg") && f.svg.trimEnd().endsWith("</svg>"), f.kind);
    assert.equal(f.svg.match(/<svg/g)!.length, 1);
    assert.ok(f.svg.includes(xmlEscape(f.title)), `${f.kind} title`);
    const plotted = f.kind === "ratio" ? [MLE, NAIVE, ODD_NAME] : result.methods.map((m) => m.name);
    for (const name of plotted) assert.ok(f.svg.includes(xmlEscape(name)), `${f.kind}: ${name}`);
    assert.deepEqual([...f.png.subarray(0, 8)], PNG_SIGNATURE);
    const [w, h] = svgSize(f.svg);
    assert.deepEqual(pngSize(f.png), [Math.round(2 * w), Math.round(2 * h)]);
    assert.ok(w >= 300 && w <= 2000 && h >= 200 && h <= 1500, `${f.kind} is ${w}x${h}`);
  }
  // the per-node figure has one panel per node
  for (const node of result.nodes) assert.ok(figures[1]!.svg.includes(`>${node}<`), node);
});

test("a method keeps its colour in every figure; baselines have fixed colours", async () => {
  const colors = methodColors([ODD_NAME, POSTERIOR_MEAN, "model-b", MLE, NAIVE]);
  assert.equal(colors.get(POSTERIOR_MEAN), "#000000");
  assert.equal(colors.get(MLE), "#0072B2");
  assert.equal(colors.get(NAIVE), "#D55E00");
  assert.equal(new Set(colors.values()).size, 5);
  for (const c of colors.values()) assert.ok(OKABE_ITO.includes(c));
  const figures = await renderFigures(await smallResult([5]), 1);
  for (const f of figures) {
    assert.ok(f.svg.includes(`stroke="${methodColors([MLE]).get(MLE)}"`), `${f.kind}: mle colour`);
  }
});

test("bands are ± sd over seeds, or ± 2 SE with one seed, and the caption says which", async () => {
  const two = await smallResult([0, 1]);
  const one = await smallResult([5]);
  const values = (spec: ReturnType<typeof tvFigureSpec>) =>
    (
      spec as {
        data: {
          values: { method: string; length: number; mean: number; low: number; high: number }[];
        };
      }
    ).data.values;
  for (const [r, kind] of [
    [two, "sd"],
    [one, "2se"],
  ] as const) {
    for (const row of values(tvFigureSpec(r))) {
      const s = r.summary.find(
        (x) => x.method === row.method && x.length === row.length && x.node === "(mean)",
      )!;
      const half = kind === "sd" ? s.sd! : 2 * s.se;
      assert.ok(Math.abs(row.high - row.mean - half) < 1e-12);
    }
  }
  assert.match(bandCaption(two), /± 1 sd over 2 seeds/);
  assert.match(bandCaption(one), /± 2 standard errors over 30 episodes/);
});

test("writeFigures writes each figure as SVG and PNG and returns the names", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bnformer-figures-"));
  try {
    const files = await writeFigures(await smallResult([5]), dir, "g5-");
    assert.deepEqual(
      files.map((f) => [f.svg, f.png]),
      [
        ["g5-tv.svg", "g5-tv.png"],
        ["g5-tv-per-node.svg", "g5-tv-per-node.png"],
        ["g5-ratio.svg", "g5-ratio.png"],
      ],
    );
    for (const f of files) {
      assert.ok(readFileSync(join(dir, f.svg), "utf8").startsWith("<svg"));
      assert.deepEqual([...readFileSync(join(dir, f.png)).subarray(0, 8)], PNG_SIGNATURE);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
