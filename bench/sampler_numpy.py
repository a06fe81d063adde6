"""NumPy reference for bench/sampler.ts: batched ancestral sampling of S CPT sets x N rows.

Written in the vectorised style of the authors' code (data/bn_sampler.py in
Hibb-bb/JASACODE): one pass per node in topological order, vectorised over all sets and
rows at once -- compute the parent-configuration index array, gather the thresholds,
compare with uniform draws. Improvements over a literal port, to make it a fair, good
numpy: columns stored contiguously per node, the configuration index built in place
(Horner, last parent fastest) on intp arrays, flat np.take gathers of precomputed
cumulative thresholds (K-1 per row, +inf from the last positive state on), roots
compared by broadcasting without a gather.

Reads a JSON job on stdin (from bench/sampler.ts), prints a JSON result on stdout; a job
with "check" instead samples the CPT sets bench/sampler.ts wrote, for its cross-check.
Timed: threshold tables + sampling + the final [S, N, M] layout. Not timed: CPT draws.
"""

import json
import os
import sys
import time

import numpy as np


def draw_cpts(gen, prior, sets, configs, k):
    """(S, C, K) CPT rows from the prior, like src/bn/priors.ts (not timed)."""
    if prior["kind"] == "uniform":
        p1 = gen.uniform(prior["low"], prior["high"], size=(sets, configs))
        return np.stack([1.0 - p1, p1], axis=-1)
    if prior["kind"] == "beta":
        p1 = gen.beta(prior["alpha"], prior["alpha"], size=(sets, configs))
        return np.stack([1.0 - p1, p1], axis=-1)
    return gen.dirichlet(np.full(k, prior["alpha"]), size=(sets, configs))


def thresholds(cpt):
    """K-1 flat tables over (set, config): running sums, +inf from the last positive state."""
    k = cpt.shape[-1]
    cum = np.cumsum(cpt, axis=-1)
    last = k - 1 - np.argmax(cpt[..., ::-1] > 0, axis=-1)
    cum = np.where(np.arange(k) >= last[..., None], np.inf, cum)
    return [np.ascontiguousarray(cum[..., j]).ravel() for j in range(k - 1)]


def sample(gen, job, cpts, sets, rows):
    """[S, N, M] uint8 rows: per node, vectorised over all sets and rows."""
    cards = job["cards"]
    m = len(cards)
    cols = np.empty((m, sets, rows), dtype=np.uint8)
    cfg = np.empty((sets, rows), dtype=np.intp)
    for v in job["order"]:
        parents = job["parents"][v]
        configs = cpts[v].shape[1]
        tables = thresholds(cpts[v])
        u = gen.random((sets, rows))
        if not parents:
            # one row per set: compare by broadcasting, no gather needed
            x = (u >= tables[0].reshape(sets, 1)).view(np.uint8)
            for t in tables[1:]:
                x += u >= t.reshape(sets, 1)
        else:
            np.copyto(cfg, cols[parents[0]])
            for p in parents[1:]:
                cfg *= cards[p]
                cfg += cols[p]
            cfg += (np.arange(sets, dtype=np.intp) * configs)[:, None]
            x = (u >= tables[0].take(cfg)).view(np.uint8)
            for t in tables[1:]:
                x += u >= t.take(cfg)
        cols[v] = x
    return np.ascontiguousarray(np.moveaxis(cols, 0, -1))


def check(job, cpts, data):
    """Sanity: each root's overall frequency of state 0 matches the mean P(0) (8 SE)."""
    for v in job["order"]:
        if job["parents"][v]:
            continue
        p = cpts[v][:, 0, 0]
        freq = (data[:, :, v] == 0).mean()
        se = np.sqrt((p * (1 - p)).sum() * data.shape[1]) / data[:, :, v].size
        if abs(freq - p.mean()) > 8 * se + 1e-12:
            raise SystemExit(f"numpy sampler check failed: node {v} freq {freq} vs {p.mean()}")


def blas_info():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        simd = cfg.get("SIMD Extensions", {})
        return {
            "blas": f"{blas.get('name')} {blas.get('version')}",
            "simd_found": simd.get("found", []),
        }
    except Exception as e:  # older numpy: no dict mode
        return {"blas": f"unknown ({e})"}


def cross_check(job):
    """Samples check rows from the CPT sets bench/sampler.ts wrote (DIR/I-cpts.bin: each
    node's [S, C, K] float64 in turn) and writes them to DIR/I-numpy.bin ([S, N, M] uint8)."""
    c = job["check"]
    for i, w in enumerate(job["workloads"]):
        raw = np.fromfile(f"{c['dir']}/{i}-cpts.bin", dtype="<f8")
        cpts, at = [], 0
        for ps, k in zip(w["parents"], w["cards"]):
            configs = int(np.prod([w["cards"][p] for p in ps], dtype=int))
            size = c["sets"] * configs * k
            cpts.append(raw[at : at + size].reshape(c["sets"], configs, k))
            at += size
        if at != raw.size:
            raise SystemExit(f"{i}-cpts.bin holds {raw.size} numbers, expected {at}")
        data = sample(np.random.default_rng(w["seed"]), w, cpts, c["sets"], c["rows"])
        data.tofile(f"{c['dir']}/{i}-numpy.bin")


def main():
    job = json.load(sys.stdin)
    if "check" in job:
        cross_check(job)
        return
    sets, rows, reps = job["sets"], job["rows"], job["reps"]
    results = []
    for w in job["workloads"]:
        gen = np.random.default_rng(w["seed"])
        cpts = [
            draw_cpts(gen, w["prior"], sets, int(np.prod([w["cards"][p] for p in ps], dtype=int)), k)
            for ps, k in zip(w["parents"], w["cards"])
        ]
        data = sample(gen, w, cpts, sets, min(rows, 20))  # warm-up
        wall, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            data = sample(gen, w, cpts, sets, rows)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        check(w, cpts, data)
        results.append({"name": w["name"], "wall": wall, "cpu": cpu, "cells": int(data.size)})
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(json.dumps({"numpy": np.__version__, "python": sys.version.split()[0],
                      "kernel": blas_info(), "openblas_env": env, "results": results}))


if __name__ == "__main__":
    main()
