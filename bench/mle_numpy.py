"""Batched in-context MLE in numpy, in the vectorised style of the authors' evaluation code.

Reads the contexts and queries written by bench/mle.ts (bench/out/mle/), computes for every
context length and node the known-structure MLE of P(X=1 | query's parents) over all
episodes at once (boolean match masks of the context parents against the query, broadcast
over episodes, then sums), with the context marginal where no row matches, and optionally
the naive (full-prefix) MLE. Prints one JSON line with timings and the numpy build; writes
the MLE and unseen flags for bench/mle.ts to compare.

A second formulation, `mle_cumsum`, makes one pass per node with cumulative sums read at
each length; it is the faster numpy program and the one bench/mle.ts states its headline
against. Both must give the same numbers.

The one liberty over a literal per-length loop: the element-wise comparison of every
context cell with the query is done once for the longest context and sliced per length
(hoisting loop-invariant work is what a careful numpy programmer does).

Timings: wall (perf_counter) and process CPU time (process_time) per repeat, after a warm-up.
"""

import json
import platform
import sys
import time

import numpy as np


def load(folder):
    with open(f"{folder}/meta.json") as f:
        meta = json.load(f)
    s, n, m = meta["episodes"], meta["rows"], meta["vars"]
    contexts = np.fromfile(f"{folder}/contexts.bin", dtype=np.uint8).reshape(s, n, m)
    queries = np.fromfile(f"{folder}/queries.bin", dtype=np.uint8).reshape(s, m)
    return meta, contexts, queries


def mle(contexts, queries, parents, lengths, naive):
    """p1 [S, L, M] float64 and unseen [S, L, M] bool; naive adds the prefix MLE."""
    s, _, m = contexts.shape
    eq = contexts == queries[:, None, :]  # (S, N, M): context cell equals the query's value
    is1 = contexts == 1  # (S, N, M)
    p1 = np.empty((s, len(lengths), m))
    unseen = np.empty((s, len(lengths), m), dtype=bool)
    np1 = np.empty((s, len(lengths), m)) if naive else None
    for li, n in enumerate(lengths):
        eq_n = eq[:, :n, :]
        is1_n = is1[:, :n, :]
        marginal = is1_n.sum(axis=1) / n  # (S, M): the fallback for unseen configurations
        for v in range(m):
            ps = parents[v]
            match = eq_n[:, :, ps].all(axis=2) if ps else np.ones(eq_n.shape[:2], bool)  # (S, n)
            cnt = match.sum(axis=1)
            cnt1 = (match & is1_n[:, :, v]).sum(axis=1)
            unseen[:, li, v] = cnt == 0
            p1[:, li, v] = np.where(cnt == 0, marginal[:, v], cnt1 / np.maximum(cnt, 1))
            if naive:
                nm = eq_n[:, :, :v].all(axis=2)  # general7: topological order = file order
                ncnt = nm.sum(axis=1)
                ncnt1 = (nm & is1_n[:, :, v]).sum(axis=1)
                np1[:, li, v] = np.where(ncnt == 0, marginal[:, v], ncnt1 / np.maximum(ncnt, 1))
    return p1, unseen, np1


def mle_cumsum(contexts, queries, parents, lengths, naive):
    """The same MLE (and naive MLE) with one pass per node: match masks over all N rows,
    cumulative sums along the rows, read at each length. Not the authors' style, but the
    fastest numpy formulation found here: the reference the headline ratio is taken against."""
    s, _, m = contexts.shape
    eq = contexts == queries[:, None, :]  # (S, N, M)
    is1 = contexts == 1
    idx = np.asarray(lengths) - 1
    p1 = np.empty((s, len(lengths), m))
    np1 = np.empty((s, len(lengths), m)) if naive else None
    marginal = np.cumsum(is1, axis=1, dtype=np.int32)[:, idx, :] / np.asarray(lengths)[None, :, None]
    for v in range(m):
        ps = parents[v]
        match = eq[:, :, ps].all(axis=2) if ps else np.ones(eq.shape[:2], bool)  # (S, N)
        cnt = np.cumsum(match, axis=1, dtype=np.int32)[:, idx]  # (S, L)
        cnt1 = np.cumsum(match & is1[:, :, v], axis=1, dtype=np.int32)[:, idx]
        p1[:, :, v] = np.where(cnt == 0, marginal[:, :, v], cnt1 / np.maximum(cnt, 1))
        if naive:
            nm = eq[:, :, :v].all(axis=2)  # general7: topological order = file order
            ncnt = np.cumsum(nm, axis=1, dtype=np.int32)[:, idx]
            ncnt1 = np.cumsum(nm & is1[:, :, v], axis=1, dtype=np.int32)[:, idx]
            np1[:, :, v] = np.where(ncnt == 0, marginal[:, :, v], ncnt1 / np.maximum(ncnt, 1))
    return p1, np1


def numpy_info():
    info = {"numpy": np.__version__, "python": platform.python_version()}
    try:
        cfg = np.show_config(mode="dicts")
        simd = cfg.get("SIMD Extensions", {})
        info["simd_baseline"] = simd.get("baseline")
        info["simd_found"] = simd.get("found")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception as e:  # older numpy: no dict mode
        info["config_error"] = str(e)
    return info


def main():
    folder = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    meta, contexts, queries = load(folder)
    parents = meta["parents"]
    lengths = meta["lengths"]
    timings = {}
    cpu = {}  # process CPU seconds per repeat: not inflated by waiting for a shared core
    for naive in (False, True):
        mle(contexts, queries, parents, lengths, naive)  # warm-up
        times, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            p1, unseen, np1 = mle(contexts, queries, parents, lengths, naive)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        timings["mle+naive" if naive else "mle"] = times
        cpu["mle+naive" if naive else "mle"] = cpus
    for naive in (False, True):
        mle_cumsum(contexts, queries, parents, lengths, naive)  # warm-up
        times, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            c1, cn1 = mle_cumsum(contexts, queries, parents, lengths, naive)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        task = "mle+naive (numpy cumsum)" if naive else "mle (numpy cumsum)"
        timings[task] = times
        cpu[task] = cpus
    # both formulations must give the same numbers (bench/mle.ts then compares with TS)
    if not np.array_equal(c1, p1) or not np.array_equal(cn1, np1):
        raise SystemExit(
            f"cumsum variant disagrees: max {np.abs(c1 - p1).max()}, naive {np.abs(cn1 - np1).max()}"
        )
    p1.astype(np.float64).tofile(f"{folder}/numpy_p1.bin")
    unseen.astype(np.uint8).tofile(f"{folder}/numpy_unseen.bin")
    np1.astype(np.float64).tofile(f"{folder}/numpy_naive_p1.bin")
    print(json.dumps({"seconds": timings, "cpu": cpu, "info": numpy_info()}))


if __name__ == "__main__":
    main()
