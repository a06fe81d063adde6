/**
 * The explorer's worker: every computation of the page (compute.ts) runs here, off the
 * main thread. A view is computed in stages, each posted as soon as it is ready (network,
 * context, one answer per method, attention, then the TV plot point by point); between
 * stages the worker yields to its message queue, and a newer request abandons the older.
 */
import type { Dataset, FamilyModel, Network } from "../src/core.ts";
import { BnformerError, writeBif, writeCsv } from "../src/core.ts";
import type { AttentionEngine, ExplorerModelFile, NetworkSource, Query } from "./compute.ts";
import {
  MODEL_JSON,
  MODEL_WEIGHTS,
  answer,
  constructionAttention,
  familyModelFromFiles,
  generate,
  givenText,
  loadNetworkSource,
  paperSource,
  pretrainedAttention,
  resolveQuery,
  sampleContext,
  truthOf,
  tvPoint,
  tvSizes,
} from "./compute.ts";
import type { Reply, Request } from "./protocol.ts";
import type { Method, ViewState } from "./state.ts";
import { METHODS } from "./state.ts";

/** The built-in networks: data/bif/*.bif, bundled as text, each loaded when first picked. */
const BUILTIN = import.meta.glob<string>("../data/bif/*.bif", { query: "?raw", import: "default" });

const post = (r: Reply) => self.postMessage(r);

let pretrained: FamilyModel | null = null;
let pretrainedShipped = false;
let methods: Method[] = METHODS.filter((m) => m !== "pretrained");
let upload: { file: string; text: string } | null = null;
let ready: Promise<void> = Promise.resolve();
/** The newest view and generation requests; older ones stop at their next stage. */
const latest = { view: 0, generate: 0 };

async function init(base: string): Promise<void> {
  let description: string | null = null;
  try {
    const json = await fetch(new URL(MODEL_JSON, base));
    if (json.ok) {
      const weights = await fetch(new URL(MODEL_WEIGHTS, base));
      if (!weights.ok) throw new Error(`${MODEL_WEIGHTS}: HTTP ${weights.status}`);
      const file: unknown = await json.json();
      pretrained = familyModelFromFiles(file, new Uint8Array(await weights.arrayBuffer()));
      const { description: what, shipped } = file as ExplorerModelFile;
      description = shipped ? what : `${what} (a development model, not --engine pretrained)`;
      pretrainedShipped = shipped;
      methods = [...METHODS];
    }
  } catch (e) {
    // The page works without the model; say why it is absent.
    post({
      type: "error",
      id: -1,
      message: `pretrained model not loaded: ${(e as Error).message}`,
    });
  }
  post({ type: "ready", pretrained: description, shipped: pretrainedShipped, methods });
}

let networkCache: { key: string; net: Network; file: string } | null = null;
let contextCache: { key: string; context: Dataset } | null = null;

async function networkOf(s: ViewState): Promise<{ net: Network; file: string; key: string }> {
  let source: NetworkSource;
  let key: string;
  let file: string;
  const paper = paperSource(s.network, s.cpts);
  if (paper !== null) {
    source = paper;
    key = `paper:${s.network}:${s.cpts}`;
    file = `${s.network}-cpts${s.cpts}.bif`;
  } else if (s.network === "upload") {
    if (upload === null)
      throw new BnformerError("config", "no uploaded network: choose a BIF file first");
    source = { kind: "bif", ...upload };
    key = `upload:${upload.file}:${upload.text.length}:${upload.text}`;
    file = upload.file;
  } else {
    file = `data/bif/${s.network}.bif`;
    const load = BUILTIN[`../${file}`];
    if (load === undefined)
      throw new BnformerError("config", `unknown network "${s.network}"`, { path: ["network"] });
    source = { kind: "bif", file, text: await load() };
    key = `bif:${s.network}`;
  }
  if (networkCache?.key !== key) networkCache = { key, net: loadNetworkSource(source), file };
  return networkCache;
}

function contextOf(netKey: string, net: Network, n: number, seed: number): Dataset {
  const key = `${netKey}|${n}|${seed}`;
  if (contextCache?.key !== key) contextCache = { key, context: sampleContext(net, n, seed) };
  return contextCache.context;
}

/** Lets queued messages in; true when request `id` of `kind` has been superseded. */
async function superseded(id: number, kind: keyof typeof latest = "view"): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return id !== latest[kind];
}

/** The rows of `data` as state names ("" for a missing cell). */
function namedRows(net: Network, data: Dataset, limit = data.rows): string[][] {
  const out: string[][] = [];
  for (let r = 0; r < Math.min(limit, data.rows); r++)
    out.push(net.variables.map((v, j) => v.states[data.data[r * data.vars + j]!] ?? ""));
  return out;
}

/** Context rows the page lists (all of them are in the CSV download). */
const CONTEXT_PREVIEW_ROWS = 50;

/** The network last posted to the page (sent again only when it changes). */
let postedNetwork = "";

async function view(id: number, s: ViewState): Promise<void> {
  await ready;
  const { net, file, key } = await networkOf(s);
  if (postedNetwork !== key) {
    const variables = net.variables.map((v) => ({ name: v.name, states: [...v.states] }));
    const parents = net.parents.map((p) => [...p]);
    post({
      type: "network",
      id,
      network: { name: net.name, file, variables, parents, bif: writeBif(net) },
    });
    postedNetwork = key;
  }
  const q: Query = resolveQuery(net, s.target, s.given);
  const truth = truthOf(net, q);
  post({ type: "query", id, target: q.target, given: givenText(net, q), truth });
  if (await superseded(id)) return;
  const context = contextOf(key, net, s.n, s.seed);
  const csv = writeCsv(net, context);
  post({
    type: "context",
    id,
    rows: context.rows,
    csv,
    preview: namedRows(net, context, CONTEXT_PREVIEW_ROWS),
  });
  const attentions: AttentionEngine[] =
    pretrained === null ? ["construction"] : ["construction", "pretrained"];
  const steps = methods.length + attentions.length + tvSizes(s.n).length;
  let done = 0;
  const progress = (label: string) => post({ type: "progress", id, label, fraction: done / steps });
  for (const method of methods) {
    progress(`answering with ${method}`);
    if (await superseded(id)) return;
    post({ type: "answer", id, answer: answer(net, context, q, method, pretrained, truth) });
    done++;
  }
  for (const engine of attentions) {
    progress(`attention of the ${engine === "construction" ? "construction" : "pretrained model"}`);
    if (await superseded(id)) return;
    post({ type: "attention", id, engine, ...attentionOf(engine, net, context, q) });
    done++;
  }
  const sizes = tvSizes(s.n);
  for (const m of sizes) {
    progress(`TV at n = ${m}`);
    if (await superseded(id)) return;
    post({ type: "tv", id, point: tvPoint(net, m, s.seed, q, methods, pretrained), sizes });
    done++;
  }
  post({ type: "done", id });
}

/** The picture of `engine`'s attention, or why it has none (a family beyond the model's limits). */
function attentionOf(engine: AttentionEngine, net: Network, context: Dataset, q: Query) {
  try {
    const a =
      engine === "construction"
        ? constructionAttention(net, context, q)
        : pretrainedAttention(pretrained!, net, context, q);
    return { picture: { svg: a.svg, distribution: a.distribution, summaries: a.summaries } };
  } catch (e) {
    if (!(e instanceof BnformerError)) throw e;
    return { picture: null, error: e.message };
  }
}

async function generateFor(id: number, s: ViewState): Promise<void> {
  await ready;
  const { net, key } = await networkOf(s);
  const context = contextOf(key, net, s.n, s.seed);
  if (await superseded(id, "generate")) return;
  const start = performance.now();
  const rows = generate(net, context, s.gen, s.rows, s.gseed, pretrained);
  const ms = performance.now() - start;
  const csv = writeCsv(net, rows);
  post({ type: "generated", id, method: s.gen, csv, rows: namedRows(net, rows), ms });
}

function fail(id: number, e: unknown): void {
  const message = e instanceof BnformerError ? e.message : `unexpected error: ${String(e)}`;
  post({ type: "error", id, message });
  if (!(e instanceof BnformerError)) console.error(e);
}

self.onmessage = (event: MessageEvent<Request>) => {
  const r = event.data;
  switch (r.type) {
    case "init":
      ready = init(r.base);
      return;
    case "upload":
      upload = { file: r.file, text: r.text };
      return;
    case "view":
      latest.view = r.id;
      view(r.id, r.state).catch((e: unknown) => fail(r.id, e));
      return;
    case "generate":
      latest.generate = r.id;
      generateFor(r.id, r.state).catch((e: unknown) => fail(r.id, e));
      return;
  }
};
