/** Messages between the page (main.ts) and its worker (worker.ts). */
import type { AgreementSummary } from "../src/eval/attention-svg.ts";
import type { Answer, AttentionEngine, TvPoint } from "./compute.ts";
import type { Method, ViewState } from "./state.ts";

/** Page to worker. */
export type Request =
  /** Where the static folder is (the pretrained model is fetched relative to it). */
  | { type: "init"; base: string }
  /** A BIF file the user chose; the view "upload" uses it from then on. */
  | { type: "upload"; file: string; text: string }
  /** Compute the view `state` (abandons any view or generation still running). */
  | { type: "view"; id: number; state: ViewState }
  /** Generate rows for `state` (gen, rows, gseed). */
  | { type: "generate"; id: number; state: ViewState };

/** A network as the page draws it. */
export interface NetworkInfo {
  name: string;
  /** The file the CLI commands on the page name. */
  file: string;
  variables: { name: string; states: string[] }[];
  parents: number[][];
  /** The network as BIF (a paper graph's drawn CPTs included), for download. */
  bif: string;
}

/** Worker to page; `id` is the request answered. */
export type Reply =
  /** pretrained: the model's description; shipped: it is what `--engine pretrained` runs. */
  | { type: "ready"; pretrained: string | null; shipped: boolean; methods: Method[] }
  | { type: "network"; id: number; network: NetworkInfo }
  | { type: "query"; id: number; target: number; given: string; truth: number[] }
  /** The context as `bnformer sample` writes it, and its first rows as state names. */
  | { type: "context"; id: number; rows: number; csv: string; preview: string[][] }
  | { type: "answer"; id: number; answer: Answer }
  /** One transformer's attention (`explain --engine E`), or why it has none for this query. */
  | {
      type: "attention";
      id: number;
      engine: AttentionEngine;
      picture: { svg: string; distribution: number[]; summaries: AgreementSummary[] } | null;
      error?: string;
    }
  | { type: "tv"; id: number; point: TvPoint; sizes: number[] }
  | { type: "progress"; id: number; label: string; fraction: number }
  | { type: "done"; id: number }
  /** Generated rows as `bnformer generate` writes them, and as state names. */
  | { type: "generated"; id: number; method: Method; csv: string; rows: string[][]; ms: number }
  | { type: "error"; id: number; message: string };
