/**
 * Token batches on the typed-array side of the fast executor: validation, the kind masks,
 * padding to length buckets, and the query slots the forward pass reads out.
 *
 * A `TokenBatch` is B sequences of T tokens: tokens (B, T, I), kinds (B, T), with its shape
 * (the layout `encodeBatch` produces). Query slots: with Qm = the most QUERY tokens of any
 * sequence, slot (b, s) is the s-th QUERY token of sequence b; `sel` (B, Qm, T) is its
 * one-hot row (all zero for an unused slot). Outputs come back one row per slot and are
 * returned one row per QUERY token, sequences in order, tokens in order within each.
 */
import { BnformerError } from "../../errors.ts";
import type { TransformerSpec } from "../spec.ts";
import { TOKEN_CONTEXT, TOKEN_PAD, TOKEN_QUERY, contextAttentionOf } from "../spec.ts";

/** B sequences of T tokens each, flat row-major (the shape of `encodeBatch`'s output). */
export interface TokenBatch {
  /** (B, T, I) */
  readonly tokens: Float32Array | Float64Array;
  /** (B, T): TOKEN_CONTEXT | TOKEN_QUERY | TOKEN_PAD */
  readonly kinds: Uint8Array;
  /** [B, T, I] */
  readonly shape: readonly [number, number, number];
  /**
   * (B, T), optional: how many copies of each CONTEXT token the sequence stands for
   * (`countContextTokens`); other kinds' entries are ignored. Only for specs whose context
   * tokens see only themselves, and only for `forward` (not `forwardAll`).
   */
  readonly counts?: Float32Array;
}

/**
 * Float masks ctx and live, both (B, T): live = [kind != PAD]; ctx = [kind == CONTEXT],
 * times the token's count when the batch has counts.
 */
export function kindMasks(batch: TokenBatch): { ctx: Float32Array; live: Float32Array } {
  const n = batch.kinds.length;
  const ctx = new Float32Array(n);
  const live = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = batch.kinds[i]!;
    ctx[i] = k === TOKEN_CONTEXT ? (batch.counts?.[i] ?? 1) : 0;
    live[i] = k === TOKEN_PAD ? 0 : 1;
  }
  return { ctx, live };
}

/** Query slots of a batch (see the module header). */
export interface QuerySlots {
  /** Qm: slots per sequence (the most QUERY tokens of any sequence, at least 1). */
  perSequence: number;
  /** (B, Qm, T) one-hot rows selecting each slot's token; zero rows for unused slots. */
  sel: Float32Array;
  /** For each QUERY token in order: its slot index b * Qm + s. */
  slotOfQuery: Int32Array;
  /** QUERY tokens per sequence (B). */
  queriesPerSequence: Int32Array;
}

/** The query slots of `batch`. */
export function querySlots(batch: TokenBatch): QuerySlots {
  const [B, T] = batch.shape;
  const counts = new Int32Array(B);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) if (batch.kinds[b * T + t] === TOKEN_QUERY) counts[b]!++;
  const Qm = Math.max(1, ...counts);
  const sel = new Float32Array(B * Qm * T);
  const slots: number[] = [];
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      if (batch.kinds[b * T + t] !== TOKEN_QUERY) continue;
      sel[(b * Qm + s) * T + t] = 1;
      slots.push(b * Qm + s);
      s++;
    }
  }
  return { perSequence: Qm, sel, slotOfQuery: Int32Array.from(slots), queriesPerSequence: counts };
}

/** Throws unless the batch's arrays fit (B, T, I) and every kind is known. */
export function validateBatch(spec: TransformerSpec, batch: TokenBatch): void {
  const [B, T, I] = batch.shape;
  const bad = (what: string) => new BnformerError("data", what, { path: ["batch"] });
  if (![B, T, I].every((n) => Number.isInteger(n) && n >= 1))
    throw bad(`shape must be three positive integers [B, T, I], got [${batch.shape}]`);
  if (I !== spec.inputDim)
    throw bad(`tokens have width I = ${I}; the spec expects ${spec.inputDim}`);
  if (batch.tokens.length !== B * T * spec.inputDim)
    throw bad(
      `tokens have ${batch.tokens.length} values; expected B ${B} x T ${T} x I ${spec.inputDim}`,
    );
  if (batch.kinds.length !== B * T)
    throw bad(`kinds have ${batch.kinds.length} entries; expected B ${B} x T ${T}`);
  for (let i = 0; i < batch.kinds.length; i++) {
    const k = batch.kinds[i]!;
    if (k !== TOKEN_CONTEXT && k !== TOKEN_QUERY && k !== TOKEN_PAD)
      throw bad(`kinds[${i}] = ${k} is not CONTEXT, QUERY or PAD`);
  }
  if (batch.counts) {
    if (contextAttentionOf(spec) !== "self")
      throw bad('counted context tokens need a spec whose context attends only to itself ("self")');
    if (batch.counts.length !== B * T)
      throw bad(`counts have ${batch.counts.length} entries; expected B ${B} x T ${T}`);
    for (let i = 0; i < batch.kinds.length; i++) {
      const c = batch.counts[i]!;
      if (batch.kinds[i] === TOKEN_CONTEXT && !(Number.isInteger(c) && c >= 1))
        throw bad(`counts[${i}] = ${c} is not a positive integer`);
    }
  }
}

/**
 * The batch with each sequence's identical CONTEXT tokens merged into one token that
 * carries their count (first appearances in order, then the sequence's other tokens in
 * order), T shrunk to the longest sequence and the rest PAD. For a spec whose context
 * tokens see only themselves every query output is the same (a softmax over copies equals
 * one over distinct keys with log(count) added), at a cost that grows with the distinct
 * tokens rather than the context. Other fields of the batch (per-query targets) carry over.
 */
export function countContextTokens<B extends TokenBatch>(batch: B): B {
  const [Bn, T, I] = batch.shape;
  const seqs: { tokens: number[]; kinds: number[]; counts: number[] }[] = [];
  for (let b = 0; b < Bn; b++) {
    const index = new Map<string, number>();
    const order: number[] = []; // token positions kept
    const kinds: number[] = [];
    const counts: number[] = [];
    for (let t = 0; t < T; t++) {
      const at = b * T + t;
      const kind = batch.kinds[at]!;
      if (kind === TOKEN_PAD) continue;
      const c = batch.counts?.[at] ?? 1;
      if (kind === TOKEN_CONTEXT) {
        const key = Array.prototype.join.call(batch.tokens.subarray(at * I, (at + 1) * I), ",");
        const seen = index.get(key);
        if (seen !== undefined) {
          counts[seen]! += c;
          continue;
        }
        index.set(key, order.length);
      }
      order.push(at);
      kinds.push(kind);
      counts.push(c);
    }
    seqs.push({ tokens: order, kinds, counts });
  }
  const T2 = Math.max(1, ...seqs.map((s) => s.tokens.length));
  const tokens = new Float32Array(Bn * T2 * I);
  const kinds = new Uint8Array(Bn * T2).fill(TOKEN_PAD);
  const counts = new Float32Array(Bn * T2).fill(1);
  seqs.forEach((s, b) =>
    s.tokens.forEach((at, t) => {
      tokens.set(batch.tokens.subarray(at * I, (at + 1) * I), (b * T2 + t) * I);
      kinds[b * T2 + t] = s.kinds[t]!;
      counts[b * T2 + t] = s.counts[t]!;
    }),
  );
  return { ...batch, tokens, kinds, counts, shape: [Bn, T2, I] };
}

/**
 * Pads each sequence to length `T2 >= T` with PAD tokens (zeros): PAD tokens attend only to
 * themselves and nobody attends to them, so no other output changes.
 */
export function padBatch(batch: TokenBatch, T2: number): TokenBatch {
  const [B, T, inputDim] = batch.shape;
  if (T2 === T) return batch;
  if (T2 < T)
    throw new BnformerError("data", `cannot pad length ${T} down to ${T2}`, { path: ["batch"] });
  const tokens = new Float32Array(B * T2 * inputDim);
  const kinds = new Uint8Array(B * T2).fill(TOKEN_PAD);
  const counts = batch.counts ? new Float32Array(B * T2).fill(1) : undefined;
  for (let b = 0; b < B; b++) {
    tokens.set(batch.tokens.subarray(b * T * inputDim, (b + 1) * T * inputDim), b * T2 * inputDim);
    kinds.set(batch.kinds.subarray(b * T, (b + 1) * T), b * T2);
    counts?.set(batch.counts!.subarray(b * T, (b + 1) * T), b * T2);
  }
  return { tokens, kinds, shape: [B, T2, inputDim], ...(counts ? { counts } : {}) };
}

/** The smallest bucket >= T (buckets ascending); T itself when no bucket fits. */
export function bucketLength(T: number, buckets: readonly number[]): number {
  for (const b of buckets) if (b >= T) return b;
  return T;
}
