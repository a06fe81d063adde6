/**
 * The figure of a structure-free evaluation (structure-free.ts): node-averaged TV against
 * context length, one panel per network set, every method (mean over seeds), log axes,
 * rendered with figures.ts (`renderSvg`, `svgToPng`) and its colours.
 */
import type { TopLevelSpec } from "vega-lite";
import { FIGURE_FONT, methodColors, renderSvg, svgToPng } from "./figures.ts";
import type { StructureFreeEvalResult } from "./structure-free.ts";
import { STRUCTURE_FREE_METHODS, pointSummary, resultNetworks } from "./structure-free.ts";

/** Vega-Lite spec: TV vs n, one panel per network. */
export function structureFreeFigureSpec(r: StructureFreeEvalResult): TopLevelSpec {
  const methods = [...STRUCTURE_FREE_METHODS];
  const colors = methodColors(methods);
  const values = resultNetworks(r).flatMap((network) =>
    r.options.lengths.flatMap((length) =>
      methods.flatMap((method) => {
        const s = pointSummary(r, network, length, method);
        return s === null ? [] : [{ network, length, method, tv: s.mean }];
      }),
    ),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Structure-free model vs BMA: TV to the true conditional vs context length",
    data: { values },
    facet: { field: "network", type: "nominal", title: null, sort: resultNetworks(r) },
    columns: 2,
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 300,
      height: 200,
      mark: { type: "line", point: { size: 24 }, strokeWidth: 2 },
      encoding: {
        x: {
          field: "length",
          type: "quantitative",
          scale: { type: "log" },
          axis: { title: "context rows n (log scale)", values: [...r.options.lengths] },
        },
        y: {
          field: "tv",
          type: "quantitative",
          scale: { type: "log" },
          title: "TV (mean over nodes, log)",
        },
        color: {
          field: "method",
          type: "nominal",
          scale: { domain: methods, range: methods.map((m) => colors.get(m)!) },
          sort: methods,
          title: "Method",
        },
      },
    },
    config: { font: FIGURE_FONT, title: { fontSize: 15, anchor: "start" } },
  } as TopLevelSpec;
}

/** The figure as SVG and PNG. */
export async function structureFreeFigure(
  r: StructureFreeEvalResult,
): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvg(structureFreeFigureSpec(r));
  return { svg, png: await svgToPng(svg) };
}
