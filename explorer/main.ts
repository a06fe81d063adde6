/**
 * The explorer page: controls, the network drawn as a DAG (laid out by dagre), the query's
 * answers, the construction's and the pretrained model's attention, the TV-versus-n plot, the
 * context and generated rows.
 * It computes nothing itself: every number comes from the worker (worker.ts, compute.ts),
 * so the page stays responsive; the view state lives in the URL (state.ts).
 */
import type { EdgeLabel, Point } from "@dagrejs/dagre";
import { Graph, layout } from "@dagrejs/dagre";
import type { NetworkInfo, Reply, Request } from "./protocol.ts";
import type { AgreementSummary } from "../src/eval/attention-svg.ts";
import type { Answer, AttentionEngine, TvPoint } from "./compute.ts";
import type { Method, ViewState } from "./state.ts";
import { MAX_CONTEXT, MAX_GENERATED, formatState, isPaperGraphName, parseState } from "./state.ts";
import { PAPER_GRAPH_NAMES } from "../src/bn/families.ts";

/** Built-in network names, from the files bundled with the worker (contents not loaded here). */
const BUILTIN = Object.keys(import.meta.glob("../data/bif/*.bif", { query: "?raw" }))
  .map((p) => p.replace(/^.*\/|\.bif$/g, ""))
  .sort();

const METHOD_LABEL: Record<Method, string> = {
  mle: "MLE",
  bdeu: "BDeu",
  construction: "construction",
  pretrained: "pretrained",
};
const METHOD_COLOR: Record<Method | "truth", string> = {
  truth: "#222",
  mle: "#1f77b4",
  bdeu: "#2ca02c",
  construction: "#d62728",
  pretrained: "#9467bd",
};

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (el === null) throw new Error(`missing element ${sel}`);
  return el;
};
const SVG_NS = "http://www.w3.org/2000/svg";
function svgEl(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
function html(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

let state: ViewState = parseState(location.search);
let methods: Method[] = ["mle", "bdeu", "construction"];
let pretrainedDescription: string | null = null;
let pretrainedShipped = false;
let network: NetworkInfo | null = null;
let target = -1;
let truth: number[] = [];
let given = "";
const answers = new Map<Method, Answer>();
let tvPoints: TvPoint[] = [];
let tvSizes: number[] = [];
let contextCsv = "";
let generatedCsv = "";
let viewId = 0;
let genId = 0;
let firstRenderDone = false;

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const send = (r: Request) => worker.postMessage(r);

// ---- Controls ----

function fillPicker(): void {
  const picker = $<HTMLSelectElement>("#network");
  picker.replaceChildren();
  const group = (label: string, names: readonly string[]) => {
    const g = html("optgroup", { label });
    for (const n of names) g.append(html("option", { value: n }, n));
    picker.append(g);
  };
  group("Built-in (data/bif)", BUILTIN);
  group("Paper graph families (CPTs drawn from U(0.1, 0.9))", PAPER_GRAPH_NAMES);
  const uploaded = html("optgroup", { label: "Uploaded" });
  uploaded.append(html("option", { value: "upload" }, "uploaded BIF"));
  picker.append(uploaded);
}

function syncControls(): void {
  $<HTMLSelectElement>("#network").value = state.network;
  $<HTMLInputElement>("#n").value = String(state.n);
  $<HTMLInputElement>("#n-number").value = String(state.n);
  $<HTMLInputElement>("#seed").value = String(state.seed);
  $<HTMLInputElement>("#cpts").value = String(state.cpts);
  $("#cpts-label").hidden = !isPaperGraphName(state.network);
  $<HTMLSelectElement>("#gen-engine").value = state.gen;
  $<HTMLInputElement>("#gen-rows").value = String(state.rows);
  $<HTMLInputElement>("#gen-seed").value = String(state.gseed);
}

function setState(patch: Partial<ViewState>, recompute = true): void {
  state = { ...state, ...patch };
  history.replaceState(null, "", formatState(state));
  syncControls();
  renderCli();
  if (recompute) requestView();
}

let viewTimer: ReturnType<typeof setTimeout> | undefined;
/** Asks the worker for the current view (slider moves are coalesced). */
function requestView(delay = 0): void {
  clearTimeout(viewTimer);
  // "busy" until the worker has answered this view in full (tests wait for "done").
  document.documentElement.dataset["view"] = "busy";
  viewTimer = setTimeout(() => {
    viewId++;
    answers.clear();
    tvPoints = [];
    renderAnswers();
    renderTvPlot();
    setProgress("computing", 0);
    send({ type: "view", id: viewId, state });
  }, delay);
}

function intValue(el: HTMLInputElement, lo: number, hi: number): number | null {
  const x = Number(el.value);
  return Number.isInteger(x) && x >= lo && x <= hi ? x : null;
}

function wireControls(): void {
  const n = $<HTMLInputElement>("#n");
  const nNumber = $<HTMLInputElement>("#n-number");
  n.max = nNumber.max = String(MAX_CONTEXT);
  $<HTMLInputElement>("#gen-rows").max = String(MAX_GENERATED);
  $<HTMLSelectElement>("#network").addEventListener("change", (e) => {
    const value = (e.target as HTMLSelectElement).value;
    if (value === "upload") {
      $<HTMLInputElement>("#upload").click();
      syncControls();
      return;
    }
    setState({ network: value, target: "", given: "" });
  });
  n.addEventListener("input", () => {
    nNumber.value = n.value;
    state = { ...state, n: Number(n.value) };
    history.replaceState(null, "", formatState(state));
    requestView(60);
  });
  nNumber.addEventListener("change", () => {
    const x = intValue(nNumber, 1, MAX_CONTEXT);
    if (x === null) syncControls();
    else setState({ n: x });
  });
  $<HTMLInputElement>("#seed").addEventListener("change", (e) => {
    const x = intValue(e.target as HTMLInputElement, 0, 2 ** 32 - 1);
    if (x === null) syncControls();
    else setState({ seed: x });
  });
  $<HTMLInputElement>("#cpts").addEventListener("change", (e) => {
    const x = intValue(e.target as HTMLInputElement, 0, 2 ** 32 - 1);
    if (x === null) syncControls();
    else setState({ cpts: x });
  });
  $<HTMLInputElement>("#upload").addEventListener("change", async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    send({ type: "upload", file: file.name, text: await file.text() });
    setState({ network: "upload", target: "", given: "" });
  });
  $<HTMLSelectElement>("#target").addEventListener("change", (e) => {
    setState({ target: (e.target as HTMLSelectElement).value, given: "" });
  });
  $<HTMLSelectElement>("#gen-engine").addEventListener("change", (e) => {
    setState({ gen: (e.target as HTMLSelectElement).value as Method }, false);
  });
  $<HTMLInputElement>("#gen-rows").addEventListener("change", (e) => {
    const x = intValue(e.target as HTMLInputElement, 1, MAX_GENERATED);
    if (x === null) syncControls();
    else setState({ rows: x }, false);
  });
  $<HTMLInputElement>("#gen-seed").addEventListener("change", (e) => {
    const x = intValue(e.target as HTMLInputElement, 0, 2 ** 32 - 1);
    if (x === null) syncControls();
    else setState({ gseed: x }, false);
  });
  $("#generate").addEventListener("click", () => {
    genId++;
    $("#gen-status").textContent = "generating…";
    send({ type: "generate", id: genId, state });
  });
  $("#download-generated").addEventListener("click", () =>
    download(`generated-${state.gen}-${state.rows}-seed${state.gseed}.csv`, generatedCsv),
  );
  $("#download-context").addEventListener("click", () =>
    download(`context-${state.n}-seed${state.seed}.csv`, contextCsv),
  );
  $("#download-network").addEventListener("click", () => {
    if (network) download(network.file.replace(/^.*\//, ""), network.bif);
  });
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = html("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function setProgress(label: string, fraction: number): void {
  const bar = $<HTMLProgressElement>("#progress-bar");
  bar.value = fraction;
  $("#progress-label").textContent = label;
  $("#progress").dataset["busy"] = fraction < 1 ? "true" : "false";
}

// ---- The network ----

function renderQueryControls(): void {
  if (!network) return;
  const t = $<HTMLSelectElement>("#target");
  t.replaceChildren(...network.variables.map((v) => html("option", { value: v.name }, v.name)));
  t.value = network.variables[target]?.name ?? "";
  const box = $("#given");
  box.replaceChildren();
  const current = new Map(given.split(",").map((p) => p.split("=") as [string, string]));
  for (const p of network.parents[target] ?? []) {
    const v = network.variables[p]!;
    const sel = html("select", { "data-parent": v.name }) as HTMLSelectElement;
    sel.append(...v.states.map((s) => html("option", { value: s }, s)));
    sel.value = current.get(v.name) ?? v.states[0]!;
    sel.addEventListener("change", () => {
      const parts = [...box.querySelectorAll<HTMLSelectElement>("select")].map(
        (s) => `${s.dataset["parent"]}=${s.value}`,
      );
      setState({ given: parts.join(",") });
    });
    const label = html("label", {}, `${v.name} = `);
    label.append(sel);
    box.append(label);
  }
  if ((network.parents[target] ?? []).length === 0)
    box.append(html("span", { class: "muted" }, "(no parents: the marginal)"));
}

function renderDag(): void {
  if (!network) return;
  const svg = $<SVGSVGElement & HTMLElement>("#dag");
  const g = new Graph();
  g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 36, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  network.variables.forEach((v, i) =>
    g.setNode(String(i), { width: Math.max(36, 7.5 * v.name.length + 16), height: 26 }),
  );
  network.parents.forEach((ps, i) => ps.forEach((p) => g.setEdge(String(p), String(i))));
  layout(g);
  const { width = 100, height = 100 } = g.graph();
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  // Drawn at 1.25x its layout size, so a wide network scrolls instead of shrinking to dots.
  svg.style.width = `${(1.25 * width).toFixed(0)}px`;
  svg.setAttribute("data-nodes", String(network.variables.length));
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", {
    id: "arrow",
    viewBox: "0 0 10 10",
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#666" }));
  defs.append(marker);
  svg.append(defs);
  const parents = new Set(network.parents[target] ?? []);
  for (const e of g.edges()) {
    const pts = (g.edge(e) as EdgeLabel).points ?? [];
    const d = pts.map(
      (p: Point, i: number) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`,
    );
    const into = Number(e.w) === target && parents.has(Number(e.v));
    svg.append(
      svgEl("path", {
        d: d.join(" "),
        class: into ? "edge edge-query" : "edge",
        "marker-end": "url(#arrow)",
      }),
    );
  }
  network.variables.forEach((v, i) => {
    const n = g.node(String(i));
    const role = i === target ? "target" : parents.has(i) ? "parent" : "other";
    const node = svgEl("g", {
      class: `node node-${role}`,
      transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`,
      "data-variable": v.name,
    });
    node.append(svgEl("rect", { width: n.width, height: n.height, rx: 6 }));
    node.append(svgEl("text", { x: n.width / 2, y: n.height / 2 + 4 }, v.name));
    node.append(svgEl("title", {}, `${v.name}: ${v.states.join(", ")}`));
    node.addEventListener("click", () => setState({ target: v.name, given: "" }));
    svg.append(node);
  });
}

// ---- Answers ----

const fmt = (x: number) => (Number.isNaN(x) ? "–" : x.toFixed(4));

function renderAnswers(): void {
  const table = $<HTMLTableElement>("#answers");
  table.replaceChildren();
  if (!network || target < 0) return;
  const v = network.variables[target]!;
  const head = html("tr");
  head.append(html("th", {}, "state"), html("th", { "data-method": "truth" }, "truth"));
  for (const m of methods) head.append(html("th", { "data-method": m }, METHOD_LABEL[m]));
  table.append(html("thead"));
  table.tHead!.append(head);
  const body = html("tbody");
  v.states.forEach((s, k) => {
    const tr = html("tr");
    tr.append(html("th", {}, s));
    const t = html("td", { "data-method": "truth", "data-state": s }, fmt(truth[k]!));
    t.dataset["value"] = String(truth[k]);
    tr.append(t);
    for (const m of methods) {
      const a = answers.get(m);
      const p = a?.distribution?.[k];
      const td = html("td", { "data-method": m, "data-state": s }, p === undefined ? "…" : fmt(p));
      if (p !== undefined) {
        td.dataset["value"] = String(p);
        td.append(bar(p, METHOD_COLOR[m]));
      } else if (a?.error) td.textContent = "—";
      tr.append(td);
    }
    body.append(tr);
  });
  const extra = (label: string, cell: (a: Answer) => string, key: string) => {
    const tr = html("tr", { class: "summary" });
    tr.append(html("th", {}, label), html("td", {}, key === "tv" ? "0" : ""));
    for (const m of methods) {
      const a = answers.get(m);
      const td = html("td", { "data-method": m, "data-row": key }, a ? cell(a) : "…");
      if (a) td.dataset["value"] = String(key === "tv" ? a.tv : a.ms);
      if (a?.error) td.title = a.error;
      tr.append(td);
    }
    body.append(tr);
  };
  extra("TV to truth", (a) => fmt(a.tv), "tv");
  extra("time (ms)", (a) => a.ms.toFixed(1), "ms");
  table.append(body);
  const refusals = methods.flatMap((m) => {
    const e = answers.get(m)?.error;
    return e ? [`${METHOD_LABEL[m]}: ${e}`] : [];
  });
  $("#answer-notes").textContent = refusals.join(" ");
}

function bar(p: number, color: string): HTMLElement {
  const b = html("span", { class: "bar" });
  b.style.width = `${(100 * p).toFixed(1)}%`;
  b.style.background = color;
  return b;
}

// ---- TV plot ----

function renderTvPlot(): void {
  const svg = $<SVGSVGElement & HTMLElement>("#tv-plot");
  svg.replaceChildren();
  const W = 560;
  const H = 300;
  const M = { l: 62, r: 130, t: 14, b: 40 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("data-points", String(tvPoints.length));
  const sizes = tvSizes.length > 0 ? tvSizes : [10, 2000];
  const lo = Math.log(sizes[0]!);
  const hi = Math.log(sizes[sizes.length - 1]!);
  const x = (n: number) => M.l + ((Math.log(n) - lo) / Math.max(1e-9, hi - lo)) * (W - M.l - M.r);
  const values = tvPoints.flatMap((p) => Object.values(p.tv).filter((t) => Number.isFinite(t)));
  const top = niceCeiling(Math.max(0.01, ...values));
  const y = (t: number) => H - M.b - (t / top) * (H - M.t - M.b);
  const axis = svgEl("g", { class: "axis" });
  axis.append(svgEl("line", { x1: M.l, y1: H - M.b, x2: W - M.r, y2: H - M.b }));
  axis.append(svgEl("line", { x1: M.l, y1: M.t, x2: M.l, y2: H - M.b }));
  for (const n of sizes) {
    axis.append(svgEl("line", { x1: x(n), y1: H - M.b, x2: x(n), y2: H - M.b + 4 }));
    axis.append(svgEl("text", { x: x(n), y: H - M.b + 16, "text-anchor": "middle" }, String(n)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = (top / 4) * i;
    axis.append(svgEl("line", { x1: M.l - 4, y1: y(t), x2: M.l, y2: y(t) }));
    axis.append(
      svgEl("text", { x: M.l - 7, y: y(t) + 4, "text-anchor": "end" }, String(+t.toFixed(4))),
    );
  }
  axis.append(
    svgEl(
      "text",
      { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" },
      "context rows n (log scale)",
    ),
  );
  axis.append(
    svgEl(
      "text",
      {
        x: 14,
        y: (M.t + H - M.b) / 2,
        transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})`,
        "text-anchor": "middle",
      },
      "TV to the true conditional",
    ),
  );
  svg.append(axis);
  svg.append(
    svgEl("line", { class: "current-n", x1: x(state.n), y1: M.t, x2: x(state.n), y2: H - M.b }),
  );
  methods.forEach((m, i) => {
    const pts = tvPoints.filter((p) => Number.isFinite(p.tv[m] ?? NaN));
    if (pts.length > 1)
      svg.append(
        svgEl("polyline", {
          points: pts.map((p) => `${x(p.n).toFixed(1)},${y(p.tv[m]!).toFixed(1)}`).join(" "),
          fill: "none",
          stroke: METHOD_COLOR[m],
          "stroke-width": 2,
          "stroke-dasharray": m === "construction" ? "5 3" : "",
        }),
      );
    for (const p of pts)
      svg.append(
        svgEl("circle", {
          cx: x(p.n),
          cy: y(p.tv[m]!),
          r: 3,
          fill: METHOD_COLOR[m],
          "data-method": m,
          "data-n": p.n,
          "data-tv": p.tv[m]!,
        }),
      );
    const ly = M.t + 8 + 18 * i;
    svg.append(
      svgEl("line", {
        x1: W - M.r + 12,
        y1: ly,
        x2: W - M.r + 32,
        y2: ly,
        stroke: METHOD_COLOR[m],
        "stroke-width": 2,
      }),
    );
    svg.append(svgEl("text", { x: W - M.r + 36, y: ly + 4 }, METHOD_LABEL[m]));
  });
}

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x (the plot's top). */
function niceCeiling(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= x * (1 - 1e-12))!;
}

// ---- Context, generation, CLI ----

function renderRows(table: HTMLTableElement, header: string[], rows: string[][]): void {
  table.replaceChildren();
  const head = html("tr");
  head.append(html("th", {}, "#"), ...header.map((h) => html("th", {}, h)));
  const thead = html("thead");
  thead.append(head);
  const body = html("tbody");
  rows.forEach((r, i) => {
    const tr = html("tr");
    tr.append(html("td", { class: "muted" }, String(i + 1)), ...r.map((c) => html("td", {}, c)));
    body.append(tr);
  });
  table.append(thead, body);
}

function renderCli(): void {
  if (!network) return;
  const net = network.file;
  const v = network.variables[target]?.name ?? "";
  const g = given === "" ? "" : ` --given "${given}"`;
  // A development model (EXPLORER_MODEL) is no CLI engine: its lines are left out.
  const cliMethods = methods.filter((m) => m !== "pretrained" || pretrainedShipped);
  const engine = (m: Method) => (m === "construction" ? "construction --eps 1e-6" : m);
  const lines = [
    isPaperGraphName(state.network) || state.network === "upload"
      ? `# ${net}: the network's BIF (download it above)`
      : `# from the repository root, after npm ci`,
    `npx bnformer sample --network ${net} --n ${state.n} --seed ${state.seed} --out context.csv`,
    ...cliMethods.map(
      (m) =>
        `npx bnformer predict --structure ${net} --context context.csv --target ${v}${g} --engine ${engine(m)} --format json`,
    ),
    `npx bnformer explain --structure ${net} --context context.csv --target ${v}${g} --svg attention.svg`,
    cliMethods.includes("pretrained")
      ? `npx bnformer explain --structure ${net} --context context.csv --target ${v}${g} --engine pretrained --svg attention-pretrained.svg`
      : "",
    cliMethods.includes(state.gen)
      ? `npx bnformer generate --structure ${net} --context context.csv --n ${state.rows} --seed ${state.gseed} --engine ${engine(state.gen)}`
      : "",
  ];
  $("#cli").textContent = lines.filter((l) => l !== "").join("\n");
}

// ---- Attention ----

/** Attention weights: 4 decimals, or 2 significant digits below 1e-4. */
const fmtWeight = (x: number) => (x === 0 || x >= 1e-4 ? x.toFixed(4) : x.toExponential(1));

/**
 * One transformer's attention: `explain`'s SVG, and every head's mass by number of agreeing
 * parents as a table (the summary `explain` prints; full precision in data-value).
 */
function renderAttention(
  engine: AttentionEngine,
  picture: { svg: string; summaries: AgreementSummary[] } | null,
  error?: string,
): void {
  const box = $(`#attention-${engine}`);
  const svg = box.querySelector<HTMLElement>(".attention-svg")!;
  const table = box.querySelector<HTMLTableElement>(".attention-summary")!;
  const note = box.querySelector<HTMLElement>(".attention-note")!;
  table.replaceChildren();
  if (picture === null) {
    svg.replaceChildren();
    delete svg.dataset["massByAgreement"];
    note.textContent = `No attention for this query: ${error ?? "refused"}`;
    return;
  }
  svg.innerHTML = picture.svg;
  // Each head's attention mass by number of agreeing parents (explain --format json).
  svg.dataset["massByAgreement"] = JSON.stringify(picture.summaries.map((x) => x.mass));
  const first = picture.summaries[0]!;
  const full = first.rows.length - 1;
  const levels = Array.from({ length: full + 1 }, (_, i) => full - i);
  const head = html("tr");
  head.append(html("th", {}, "layer"), html("th", {}, "head"));
  for (const a of levels)
    head.append(
      html("th", { title: `rows agreeing on ${a} of ${full} parents` }, `${a} of ${full}`),
    );
  head.append(html("th", {}, "self"));
  head.append(html("th", { title: `within the ${full} of ${full} rows` }, "TV to uniform"));
  const counts = html("tr", { class: "muted" });
  counts.append(html("td", { colspan: "2" }, "rows"));
  for (const a of levels)
    counts.append(html("td", { "data-rows": String(a) }, String(first.rows[a])));
  counts.append(html("td", {}, "1"), html("td"));
  const thead = html("thead");
  thead.append(head, counts);
  const body = html("tbody");
  const cell = (x: number, key: string) => {
    const td = html("td", { "data-key": key }, Number.isNaN(x) ? "–" : fmtWeight(x));
    td.dataset["value"] = String(x);
    return td;
  };
  for (const x of picture.summaries) {
    const tr = html("tr", { "data-layer": String(x.layer), "data-head": String(x.head) });
    tr.append(html("td", {}, String(x.layer)), html("td", {}, String(x.head)));
    for (const a of levels) tr.append(cell(x.mass[a]!, `mass${a}`));
    tr.append(cell(x.self, "self"), cell(x.fullMatchTv, "tv"));
    body.append(tr);
  }
  table.append(thead, body);
  // The head that singles out the full matches most (uniform attention would give them rows / (N + 1)).
  const best = picture.summaries.reduce((a, b) => (b.mass[full]! > a.mass[full]! ? b : a));
  const rows = best.rows.reduce((a, b) => a + b, 0);
  note.textContent =
    `Layer ${best.layer}, head ${best.head}: ${(100 * best.mass[full]!).toFixed(2)}% of the ` +
    `query's attention is on the ${best.rows[full]} rows that agree on every parent ` +
    `(${((100 * best.rows[full]!) / (rows + 1)).toFixed(2)}% if spread evenly).`;
}

// ---- Worker replies ----

worker.onmessage = (event: MessageEvent<Reply>) => {
  const r = event.data;
  if (r.type === "ready") {
    methods = r.methods;
    pretrainedDescription = r.pretrained;
    pretrainedShipped = r.shipped;
    $("#pretrained-note").textContent = pretrainedDescription
      ? `Pretrained model: ${pretrainedDescription}.`
      : "No pretrained model ships with this build (models/pretrained/ is absent), so it has no column and no attention.";
    $("#attention-pretrained").hidden = pretrainedDescription === null;
    const gen = $<HTMLSelectElement>("#gen-engine");
    gen.replaceChildren(...methods.map((m) => html("option", { value: m }, METHOD_LABEL[m])));
    if (!methods.includes(state.gen)) state = { ...state, gen: "construction" };
    syncControls();
    renderAnswers();
    renderCli();
    return;
  }
  if (r.type === "generated") {
    if (r.id !== genId) return;
    generatedCsv = r.csv;
    const header = network?.variables.map((v) => v.name) ?? [];
    renderRows($<HTMLTableElement>("#generated"), header, r.rows);
    $("#generated").dataset["method"] = r.method;
    $("#gen-status").textContent =
      `${r.rows.length} rows by Algorithm 1 with ${METHOD_LABEL[r.method]} in ${r.ms.toFixed(0)} ms`;
    $<HTMLButtonElement>("#download-generated").disabled = false;
    return;
  }
  if (r.type === "error") {
    $("#error").textContent = r.message;
    if (r.id === genId) $("#gen-status").textContent = "";
    if (r.id === viewId) {
      setProgress("stopped", 1);
      document.documentElement.dataset["view"] = "error";
    }
    return;
  }
  if (r.id !== viewId) return;
  switch (r.type) {
    case "network":
      network = r.network;
      // Rows generated for another network no longer apply.
      $("#generated").replaceChildren();
      $("#gen-status").textContent = "";
      $<HTMLButtonElement>("#download-generated").disabled = true;
      // Many BIF files name their network "unknown": the picker's name says more.
      $("#network-title").textContent =
        `${r.network.name === "unknown" ? state.network : r.network.name} ` +
        `(${r.network.file}): ${r.network.variables.length} variables`;
      break;
    case "query":
      $("#error").textContent = "";
      target = r.target;
      truth = r.truth;
      given = r.given;
      state = { ...state, target: network!.variables[target]!.name, given };
      history.replaceState(null, "", formatState(state));
      renderDag();
      renderQueryControls();
      renderAnswers();
      renderCli();
      break;
    case "context": {
      contextCsv = r.csv;
      const header = network?.variables.map((v) => v.name) ?? [];
      renderRows($<HTMLTableElement>("#context"), header, r.preview);
      $("#context-note").textContent =
        `first ${r.preview.length} of ${r.rows} rows sampled with seed ${state.seed}`;
      break;
    }
    case "answer":
      answers.set(r.answer.method, r.answer);
      renderAnswers();
      if (r.answer.method === "construction")
        $("#construction-ms").textContent = r.answer.ms.toFixed(1);
      if (!firstRenderDone && methods.every((m) => answers.has(m))) {
        firstRenderDone = true;
        const ms = performance.now();
        document.documentElement.dataset["firstRenderMs"] = ms.toFixed(0);
        $("#first-render").textContent = ms.toFixed(0);
      }
      break;
    case "attention":
      renderAttention(r.engine, r.picture, r.error);
      break;
    case "tv":
      tvSizes = r.sizes;
      tvPoints = [...tvPoints.filter((p) => p.n !== r.point.n), r.point].sort((a, b) => a.n - b.n);
      renderTvPlot();
      break;
    case "progress":
      setProgress(r.label, r.fraction);
      break;
    case "done":
      setProgress("done", 1);
      document.documentElement.dataset["view"] = "done";
      break;
  }
};

fillPicker();
wireControls();
syncControls();
history.replaceState(null, "", formatState(state));
send({ type: "init", base: document.baseURI });
requestView();
