/**
 * Transformer parameters as jax-js arrays, and the conversions at the typed-array boundary.
 *
 * Contract: `JaxParams` has the nested layout of `TransformerWeights` (spec.ts) with jax
 * arrays as leaves; `paramsFromWeights` validates names and shapes against `paramShapes`
 * and uploads (float32 on wasm by default); `weightsFromParams` reads back without
 * consuming; `paramEntries` lists leaves by dotted name in `paramShapes` order. Requires
 * jax-js to be loaded (`loadJax`, setup.ts).
 */
import type { Array as JArray } from "@jax-js/jax";
import type { Tensor, TransformerSpec, TransformerWeights } from "../spec.ts";
import {
  flattenWeights,
  paramShapes,
  unflattenWeights,
  validateSpec,
  validateWeights,
} from "../spec.ts";
import { jaxLib } from "./setup.ts";

/** LayerNorm gain and shift, (D) each. */
export type LnParams = {
  gamma: JArray;
  beta: JArray;
};

/** One layer's parameters (optional parts as in `LayerWeights`). */
export type LayerParams = {
  ln1?: LnParams;
  attn: {
    wq: JArray;
    bq: JArray;
    wk: JArray;
    bk: JArray;
    wv: JArray;
    bv: JArray;
    wo: JArray;
    bo: JArray;
  };
  ln2?: LnParams;
  mlp?: { w1: JArray; b1: JArray; w2: JArray; b2: JArray };
};

/** Parameters as jax arrays, in the nested layout of `TransformerWeights`. */
export type JaxParams = {
  embed: { w: JArray; b: JArray };
  layers: LayerParams[];
  lnF?: LnParams;
  out: { w: JArray; b: JArray };
};

/** Where and in which precision arrays are made: float32 on wasm unless a test asks otherwise. */
export interface Placement {
  /** "float64" only for checks on the "cpu" device (wasm float64 is not true double). */
  dtype?: "float32" | "float64";
  device?: "wasm" | "cpu";
}

/** A jax array from typed data with `shape`, placed as asked (default float32 on wasm). */
export function toJax(
  data: ArrayLike<number>,
  shape: readonly number[],
  place: Placement = {},
): JArray {
  const { numpy: np } = jaxLib();
  const f64 = place.dtype === "float64";
  const typed = f64 ? Float64Array.from(data) : Float32Array.from(data);
  const opts = { dtype: f64 ? np.float64 : np.float32, device: place.device ?? "wasm" };
  return np.array(typed, opts).reshape([...shape]);
}

/** Jax parameters from typed-array weights (validated against `paramShapes`). */
export function paramsFromWeights(
  spec: TransformerSpec,
  weights: TransformerWeights,
  place: Placement = {},
): JaxParams {
  validateSpec(spec);
  validateWeights(spec, weights);
  const root: Record<string, unknown> = {};
  const flat = flattenWeights(weights);
  for (const name of paramShapes(spec).keys()) {
    const t = flat.get(name)!;
    const parts = name.split(".");
    let node: Record<string, unknown> = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const key = parts[i]!;
      node[key] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {};
      node = node[key] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = toJax(t.data, t.shape, place);
  }
  // Not loaded JSON: the tree of paramShapes' names built just above.
  return root as unknown as JaxParams;
}

/** Dotted names and arrays of `params`, in `paramShapes` order. */
export function paramEntries(spec: TransformerSpec, params: JaxParams): [string, JArray][] {
  const out: [string, JArray][] = [];
  // Not loaded JSON: walking our own params tree by the dotted names of paramShapes.
  const root = params as unknown as Record<string, unknown>;
  for (const name of paramShapes(spec).keys()) {
    let node: unknown = root;
    for (const part of name.split(".")) node = (node as Record<string, unknown>)[part];
    out.push([name, node as JArray]);
  }
  return out;
}

/** Reads `params` back as Float32 weights; does not consume them. */
export async function weightsFromParams(
  spec: TransformerSpec,
  params: JaxParams,
): Promise<TransformerWeights> {
  const flat = new Map<string, Tensor>();
  for (const [name, a] of paramEntries(spec, params)) {
    const data = (await a.ref.data()) as Float32Array;
    flat.set(name, { shape: [...a.shape], data: Float32Array.from(data) });
  }
  return unflattenWeights(spec, flat);
}
