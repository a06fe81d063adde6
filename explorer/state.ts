/**
 * The explorer's view state and its URL form, so that a view can be shared:
 *   ?network=asia&n=500&seed=1&target=dysp&given=bronc%3Dyes%2Ceither%3Dno
 *    &gen=construction&rows=20&gseed=1
 * `network` is a built-in network (data/bif/NAME.bif), a paper graph (chain7, ...; its
 * CPTs drawn with seed `cpts`), or "upload" (a BIF the user chose; not restorable from the
 * URL). `given` is the query's parent states in the CLI's --given syntax. Values the page
 * cannot use fall back to defaults; the page then rewrites the URL. DOM-free.
 */
import type { PaperGraphName } from "../src/bn/families.ts";
import { PAPER_GRAPH_NAMES } from "../src/bn/families.ts";

/** Methods the page compares; "pretrained" only when a model ships with the build. */
export const METHODS = ["mle", "bdeu", "construction", "pretrained"] as const;
export type Method = (typeof METHODS)[number];

export interface ViewState {
  network: string;
  /** Seed of a paper graph's CPTs (ignored for BIF networks). */
  cpts: number;
  /** Context rows. */
  n: number;
  /** Seed of the context (`bnformer sample --seed`). */
  seed: number;
  /** Target variable's name; "" picks the last variable. */
  target: string;
  /** The query's known states, "A=a,B=b" (--given); missing parents get their first state. */
  given: string;
  /** Engine that generates rows (`bnformer generate --engine`). */
  gen: Method;
  /** Rows to generate. */
  rows: number;
  /** Seed of the generation (`bnformer generate --seed`). */
  gseed: number;
}

export const DEFAULT_STATE: ViewState = {
  network: "asia",
  cpts: 1,
  n: 500,
  seed: 1,
  target: "",
  given: "",
  gen: "construction",
  rows: 20,
  gseed: 1,
};

/** Largest context the slider offers (the pretrained model's attention is quadratic in it). */
export const MAX_CONTEXT = 2000;
/** Most rows the page generates at once. */
export const MAX_GENERATED = 1000;
const MAX_SEED = 2 ** 32 - 1;

function intIn(text: string | null, lo: number, hi: number, fallback: number): number {
  if (text === null || !/^\d+$/.test(text)) return fallback;
  const x = Number(text);
  return x >= lo && x <= hi ? x : fallback;
}

/** The state a query string describes (defaults for absent or unusable values). */
export function parseState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const gen = q.get("gen");
  return {
    network: q.get("network") || DEFAULT_STATE.network,
    cpts: intIn(q.get("cpts"), 0, MAX_SEED, DEFAULT_STATE.cpts),
    n: intIn(q.get("n"), 1, MAX_CONTEXT, DEFAULT_STATE.n),
    seed: intIn(q.get("seed"), 0, MAX_SEED, DEFAULT_STATE.seed),
    target: q.get("target") ?? DEFAULT_STATE.target,
    given: q.get("given") ?? DEFAULT_STATE.given,
    gen: (METHODS as readonly string[]).includes(gen ?? "") ? (gen as Method) : DEFAULT_STATE.gen,
    rows: intIn(q.get("rows"), 1, MAX_GENERATED, DEFAULT_STATE.rows),
    gseed: intIn(q.get("gseed"), 0, MAX_SEED, DEFAULT_STATE.gseed),
  };
}

/** The query string of `s` ("?network=...&n=..."), in a fixed key order. */
export function formatState(s: ViewState): string {
  const q = new URLSearchParams();
  q.set("network", s.network);
  if (isPaperGraphName(s.network)) q.set("cpts", String(s.cpts));
  q.set("n", String(s.n));
  q.set("seed", String(s.seed));
  if (s.target !== "") q.set("target", s.target);
  if (s.given !== "") q.set("given", s.given);
  q.set("gen", s.gen);
  q.set("rows", String(s.rows));
  q.set("gseed", String(s.gseed));
  return "?" + q.toString();
}

/** True for the names of the paper's graphs (chain7, tree5, ...). */
export function isPaperGraphName(name: string): name is PaperGraphName {
  return (PAPER_GRAPH_NAMES as readonly string[]).includes(name);
}

/** "A=a,B=b" as [name, state] pairs (empty parts skipped; a part without "=" is ignored). */
export function parseGivenText(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}
