/**
 * The mechanism probe's report (markdown tables) and figures (Vega-Lite through figures.ts):
 * attention mass on full parent matches against n, and training dynamics.
 */
import type { TopLevelSpec } from "vega-lite";
import { FIGURE_FONT, OKABE_ITO, renderSvg, svgToPng } from "./figures.ts";
import { markdownTable } from "./report.ts";
import type { AttentionPoint, DynamicsPoint, ProbeReference, ProbeResult } from "./probe.ts";
import { PROBE_REFERENCES, countingHead, distanceOf, probeInterventions } from "./probe.ts";

const f3 = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(3));
const f4 = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(4));

/** A markdown table as one string (report.ts), the blank line after it left to the caller. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return markdownTable(header, rows).join("\n").trimEnd();
}

/** The estimators only (the references besides the truth). */
const ESTIMATORS = PROBE_REFERENCES.filter((r) => r !== "truth");

/** The estimator a variant's output is closest to, with that TV. */
export function nearestEstimator(
  r: ProbeResult,
  n: number,
  variant: string,
): { to: ProbeReference; tv: number } | null {
  let best: { to: ProbeReference; tv: number } | null = null;
  for (const to of ESTIMATORS) {
    const tv = distanceOf(r, n, variant, to);
    if (tv !== null && (best === null || tv < best.tv)) best = { to, tv };
  }
  return best;
}

/** The head with the most mass on `node`'s full matches. */
export function bestHeadOf(points: readonly AttentionPoint[], node: string): AttentionPoint {
  return points.filter((a) => a.node === node).sort((a, b) => b.fullMass - a.fullMass)[0]!;
}

/** Markdown: attention, distances, interventions, structure (and dynamics when given). */
export function renderProbeReport(
  r: ProbeResult,
  dynamics: readonly DynamicsPoint[] = [],
  figures: readonly string[] = [],
): string {
  const o = r.options;
  const out: string[] = [];
  out.push(`# Mechanism probe: ${r.subject} on ${r.network}`, "");
  out.push(
    `${o.episodes} episodes per length (CPTs from the prior ${JSON.stringify(o.prior)}, ` +
      `evaluation seed ${o.seed}); each episode asks its query row for every node.`,
    "",
  );
  for (const fig of figures) out.push(`![${fig}](${fig})`, "");
  const head = countingHead(r);
  if (r.attention.length > 0) {
    out.push("## Attention on the rows agreeing with the query on every parent", "");
    out.push(
      "Mean over nodes with parents. *full*: mass on full matches; *chance*: share of rows " +
        "fully matching (what uniform attention would give); *self*: weight on the query " +
        "itself; *within TV*: total variation between the weights within the full matches " +
        "and uniform (0 = counting).",
      "",
    );
    const heads = [...new Set(r.attention.map((a) => `${a.layer}|${a.head}`))];
    out.push(
      table(
        [
          "n",
          ...heads.flatMap((k) => [`L${k.replace("|", "H")} full`, "self", "within TV"]),
          "chance",
        ],
        o.lengths.map((n) => {
          const at = (k: string) =>
            r.attention.find((a) => a.n === n && a.node === "all" && `${a.layer}|${a.head}` === k);
          return [
            String(n),
            ...heads.flatMap((k) => [f3(at(k)?.fullMass), f3(at(k)?.self), f3(at(k)?.withinTv)]),
            f3(at(heads[0]!)?.chance),
          ];
        }),
      ),
      "",
    );
    const n = Math.max(...(o.interventionLengths.length > 0 ? o.interventionLengths : o.lengths));
    const perNode = r.attention.filter((a) => a.n === n && a.node !== "all");
    const nodes = [...new Set(perNode.map((a) => a.node))];
    const at = (node: string, k: string) =>
      perNode.find((a) => a.node === node && `${a.layer}|${a.head}` === k);
    out.push(
      `### Per node, n = ${n}`,
      "",
      "Each head's mass on the full matches (and within-match TV), and the share of rows fully matching.",
      "",
      table(
        [
          "node",
          "parents",
          "chance",
          ...heads.flatMap((k) => [`L${k.replace("|", "H")} full`, "within TV"]),
          "best head",
        ],
        nodes.map((node) => {
          const first = at(node, heads[0]!)!;
          const best = bestHeadOf(perNode, node);
          return [
            node,
            String(first.massByAgree.length - 1),
            f3(first.chance),
            ...heads.flatMap((k) => [f3(at(node, k)?.fullMass), f3(at(node, k)?.withinTv)]),
            `L${best.layer}H${best.head}`,
          ];
        }),
      ),
      "",
    );
    const withParents = nodes.filter((node) => at(node, heads[0]!)!.massByAgree.length > 1);
    if (withParents.length > 0) {
      const bests = withParents.map((node) => bestHeadOf(perNode, node));
      const mean = (f: (a: AttentionPoint) => number | null) =>
        bests.reduce((acc, a) => acc + (f(a) ?? 0), 0) / bests.length;
      out.push(
        `Each node's best head (most mass on its full matches), averaged over the nodes with parents: ` +
          `full-match mass ${f3(mean((a) => a.fullMass))}, within-match TV ${f3(mean((a) => a.withinTv))}.`,
        "",
      );
    }
    if (head) {
      out.push(
        `Counting head L${head.layer}H${head.head} (the last layer's head with the most mass on full matches), ` +
          "mass on the rows agreeing on a = |parents| .. 0 parents, and on the query itself:",
        "",
      );
      out.push(
        table(
          ["node", "mass by parents agreeing (all .. none)", "self"],
          nodes.map((node) => {
            const a = at(node, `${head.layer}|${head.head}`)!;
            return [node, [...a.massByAgree].reverse().map(f3).join(" / "), f3(a.self)];
          }),
        ),
        "",
      );
    }
  }
  out.push("## TV of the model's output, by length", "");
  out.push(
    "Node-averaged TV from the model's output to the truth and to each estimator on the same " +
      "context; the last columns are the estimators' own TV to the truth.",
    "",
  );
  out.push(
    table(
      ["n", ...PROBE_REFERENCES.map((t) => `model↔${t}`), ...ESTIMATORS.map((e) => `${e}↔truth`)],
      o.lengths.map((n) => [
        String(n),
        ...PROBE_REFERENCES.map((t) => f4(distanceOf(r, n, "model", t))),
        ...ESTIMATORS.map((e) => f4(distanceOf(r, n, e, "truth"))),
      ]),
    ),
    "",
  );
  const variants = probeInterventions(
    [...new Set(r.attention.map((a) => a.layer))].map((l) =>
      Math.max(...r.attention.filter((a) => a.layer === l).map((a) => a.head)),
    ),
  ).map((d) => d.name);
  for (const n of o.interventionLengths) {
    if (distanceOf(r, n, variants[0] ?? "", "truth") === null) continue;
    const base = distanceOf(r, n, "model", "truth")!;
    out.push(`## Interventions at n = ${n}`, "");
    out.push(
      "*:= construction*: the head's query attention replaced by the construction's pattern " +
        "(uniform over the back-off rows, nothing on the query); *uniform within matches*: " +
        "the model's own mass on each group kept, spread evenly within the full matches; " +
        "*no attention / no MLP*: the sublayer's output zeroed at every token. Change: TV to " +
        "the truth relative to the unchanged model's.",
      "",
    );
    out.push(
      table(
        ["variant", "TV to truth", "change", "nearest estimator", "its TV"],
        ["model", ...variants].map((v) => {
          const tv = distanceOf(r, n, v, "truth")!;
          const near = nearestEstimator(r, n, v);
          return [
            v,
            f4(tv),
            v === "model" ? "" : `${(((tv - base) / base) * 100).toFixed(1)}%`,
            near?.to ?? "-",
            f4(near?.tv),
          ];
        }),
      ),
      "",
    );
  }
  if (r.structure.length > 0) {
    out.push("## Parents from the model's features", "");
    out.push(
      "AUROC of a per-pair score against the true edges over every pair (p, i) with p before " +
        "i in the topological order, pooled over episodes. *attention lift*: mass on the rows " +
        "agreeing with the query on p minus the share of such rows; *MLP 1 sensitivity*: how " +
        "far layer 1's MLP output at the query moves when p's value is flipped.",
      "",
    );
    out.push(
      table(
        ["n", "score", "AUROC", "pairs", "edges"],
        r.structure.map((s) => [
          String(s.n),
          s.score,
          f3(s.auroc),
          String(s.pairs),
          String(s.edges),
        ]),
      ),
      "",
    );
  }
  if (dynamics.length > 0) {
    out.push("## Training dynamics", "");
    out.push("TV from each snapshot's output to the truth and to each estimator.", "");
    const steps = [...new Set(dynamics.map((d) => d.step))].sort((a, b) => a - b);
    const lengths = [...new Set(dynamics.map((d) => d.n))].sort((a, b) => a - b);
    for (const n of lengths) {
      out.push(`n = ${n}:`, "");
      out.push(
        table(
          ["step", ...PROBE_REFERENCES.map((t) => `↔${t}`), "closest estimator"],
          steps.map((step) => {
            const at = (to: ProbeReference) =>
              dynamics.find((d) => d.step === step && d.n === n && d.to === to)?.tv ?? null;
            const near = ESTIMATORS.map((e) => ({ e, tv: at(e) ?? Infinity })).sort(
              (a, b) => a.tv - b.tv,
            )[0]!;
            return [String(step), ...PROBE_REFERENCES.map((t) => f4(at(t))), near.e];
          }),
        ),
        "",
      );
    }
  }
  return out.join("\n");
}

/** Vega-Lite: full-match mass of every head against n, with the chance level. */
export function probeMassFigureSpec(r: ProbeResult): TopLevelSpec {
  const best = r.options.lengths.flatMap((n) => {
    const perNode = r.attention.filter((a) => a.n === n && a.node !== "all");
    const nodes = [...new Set(perNode.filter((a) => a.massByAgree.length > 1).map((a) => a.node))];
    if (nodes.length === 0) return [];
    const mass = nodes.reduce((acc, node) => acc + bestHeadOf(perNode, node).fullMass, 0);
    return [{ n, series: "each node's counting head", mass: mass / nodes.length }];
  });
  const values = r.attention
    .filter((a) => a.node === "all")
    .flatMap((a) => [
      { n: a.n, series: `L${a.layer}H${a.head}`, mass: a.fullMass },
      ...(a.layer === 1 && a.head === 1
        ? [{ n: a.n, series: "chance (uniform)", mass: a.chance }]
        : []),
    ])
    .concat(best);
  const series = [...new Set(values.map((v) => v.series))];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${r.subject} on ${r.network}: attention on full parent matches`,
    data: { values },
    width: 420,
    height: 240,
    mark: { type: "line", point: { size: 30 }, strokeWidth: 2 },
    encoding: {
      x: {
        field: "n",
        type: "quantitative",
        scale: {
          type: "log",
          domain: [Math.min(...r.options.lengths), Math.max(...r.options.lengths)],
          nice: false,
        },
        axis: { title: "context rows n (log scale)", values: r.options.lengths },
      },
      y: {
        field: "mass",
        type: "quantitative",
        scale: { domain: [0, 1] },
        axis: { title: "query attention mass on full matches" },
      },
      color: {
        field: "series",
        type: "nominal",
        title: "attention of",
        legend: { labelLimit: 320 },
        scale: { domain: series, range: OKABE_ITO.slice(0, series.length) },
      },
      strokeDash: {
        condition: { test: "datum.series === 'chance (uniform)'", value: [4, 3] },
        value: [1, 0],
      },
    },
    config: { font: FIGURE_FONT },
  } as TopLevelSpec;
}

/** Vega-Lite: TV to each reference against the training step, one panel per length. */
export function probeDynamicsFigureSpec(
  subject: string,
  dynamics: readonly DynamicsPoint[],
): TopLevelSpec {
  const refs = [...PROBE_REFERENCES];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${subject}: distance to each estimator over training`,
    data: { values: dynamics.map((d) => ({ ...d })) },
    facet: { field: "n", type: "ordinal", title: "context rows n" },
    spec: {
      width: 300,
      height: 220,
      mark: { type: "line", point: { size: 24 }, strokeWidth: 2 },
      encoding: {
        x: {
          field: "step",
          type: "quantitative",
          scale: { type: "log" },
          axis: { title: "training step (log scale)" },
        },
        y: {
          field: "tv",
          type: "quantitative",
          scale: { type: "log" },
          axis: { title: "node-averaged TV (log scale)" },
        },
        color: {
          field: "to",
          type: "nominal",
          title: "TV to",
          scale: { domain: refs, range: OKABE_ITO.slice(0, refs.length) },
        },
      },
    },
    config: { font: FIGURE_FONT },
  } as TopLevelSpec;
}

/** SVG and PNG of a spec. */
export async function renderProbeFigure(
  spec: TopLevelSpec,
): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvg(spec);
  return { svg, png: await svgToPng(svg) };
}
