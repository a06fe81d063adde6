"""The bnformer forward pass (src/model/spec.ts) in numpy, float64, for bench/construction.ts.

An independent second implementation of the same specification: it reads a checkpoint
directory (config.json + model.safetensors, parsed here with struct/json only) and an
inputs file (inputs.safetensors: "tokens" (T, I), "kinds" (T) and optionally "expected"
(Q, O)), runs the forward pass vectorised in two formulations (`forward`: every token
against every token, all maps, like the reference executor's full pass; `forward_cached`:
the context alone, then the queries, like its cached path), and prints one JSON line:
  {"queries": Q, "full": F, "cached": F} with F = {"times": [wall seconds of each run],
   "cpu": [process CPU seconds of each run],
   "max_abs_diff": max |numpy - expected| (when "expected" is given), "outputs": [...] (--print)}

Usage: python3 bench/construction_numpy.py CHECKPOINT_DIR INPUTS_FILE [--repeat R] [--print]
"""

import json
import math
import struct
import sys
import time

import numpy as np

TOKEN_CONTEXT, TOKEN_QUERY, TOKEN_PAD = 0, 1, 2
LAYER_NORM_EPS = 1e-5
DTYPES = {"F64": np.float64, "F32": np.float32}


def read_safetensors(path):
    """Tensors of a safetensors file as float64 arrays, by name."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf8"))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        arr = np.frombuffer(raw[base + begin : base + end], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = arr.astype(np.float64).reshape(e["shape"])
    return out


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, W, prefix):
    mean = x.mean(axis=-1, keepdims=True)
    c = x - mean
    var = (c * c).mean(axis=-1, keepdims=True)
    return c / np.sqrt(var + LAYER_NORM_EPS) * W[prefix + ".gamma"] + W[prefix + ".beta"]


def mask_of(kinds):
    """allowed[i, j]: i == j, or j is CONTEXT and i is not PAD (spec.ts `attends`)."""
    T = kinds.shape[0]
    allowed = (kinds[None, :] == TOKEN_CONTEXT) & (kinds[:, None] != TOKEN_PAD)
    allowed[np.arange(T), np.arange(T)] = True
    return allowed


def forward(spec, W, tokens, kinds):
    """Outputs (Q, O) at the QUERY tokens, in token order."""
    allowed = mask_of(kinds)
    h = tokens @ W["embed.w"] + W["embed.b"]  # (T, D)
    for l, ls in enumerate(spec["layers"]):
        p = f"layers.{l}"
        H, E = ls["heads"], ls["headDim"]
        x = layer_norm(h, W, p + ".ln1") if spec["layerNorm"] else h
        T = x.shape[0]
        q = (x @ W[p + ".attn.wq"] + W[p + ".attn.bq"]).reshape(T, H, E).transpose(1, 0, 2)  # (H, T, E)
        k = (x @ W[p + ".attn.wk"] + W[p + ".attn.bk"]).reshape(T, H, E).transpose(1, 0, 2)
        v = (x @ W[p + ".attn.wv"] + W[p + ".attn.bv"]).reshape(T, H, E).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(E)  # (H, T, T)
        s = np.where(allowed[None], s, -np.inf)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        a = s / s.sum(axis=-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(T, H * E)  # (T, H E)
        h = h + ctx @ W[p + ".attn.wo"] + W[p + ".attn.bo"]
        if ls["mlpHidden"] > 0:
            x = layer_norm(h, W, p + ".ln2") if spec["layerNorm"] else h
            u = x @ W[p + ".mlp.w1"] + W[p + ".mlp.b1"]
            u = np.maximum(u, 0.0) if spec["activation"] == "relu" else gelu(u)
            h = h + u @ W[p + ".mlp.w2"] + W[p + ".mlp.b2"]
    hq = h[kinds == TOKEN_QUERY]
    if spec["layerNorm"]:
        hq = layer_norm(hq, W, "lnF")
    return hq @ W["out.w"] + W["out.b"]


def attention_parts(x, W, p, H, E):
    """Queries, keys and values (H, T, E) of one layer's attention."""
    T = x.shape[0]
    return tuple(
        (x @ W[f"{p}.attn.w{n}"] + W[f"{p}.attn.b{n}"]).reshape(T, H, E).transpose(1, 0, 2)
        for n in ("q", "k", "v")
    )


def mlp(h, W, spec, p):
    x = layer_norm(h, W, p + ".ln2") if spec["layerNorm"] else h
    u = x @ W[p + ".mlp.w1"] + W[p + ".mlp.b1"]
    u = np.maximum(u, 0.0) if spec["activation"] == "relu" else gelu(u)
    return h + u @ W[p + ".mlp.w2"] + W[p + ".mlp.b2"]


def forward_cached(spec, W, tokens, kinds):
    """The same outputs as `forward`, computed the way bnformer's cached path is (reference.ts
    prepareContext + forwardQueries): the context tokens attend among themselves only, so
    they run alone, and each query attends to the context and to itself; no (T, T) score
    matrix over the queries. numpy's best formulation of the pass, timed against TS's best."""
    hc = tokens[kinds == TOKEN_CONTEXT] @ W["embed.w"] + W["embed.b"]  # (C, D)
    hq = tokens[kinds == TOKEN_QUERY] @ W["embed.w"] + W["embed.b"]  # (Q, D)
    for l, ls in enumerate(spec["layers"]):
        p = f"layers.{l}"
        H, E = ls["heads"], ls["headDim"]
        C, Q = hc.shape[0], hq.shape[0]
        xc = layer_norm(hc, W, p + ".ln1") if spec["layerNorm"] else hc
        xq = layer_norm(hq, W, p + ".ln1") if spec["layerNorm"] else hq
        qc, kc, vc = attention_parts(xc, W, p, H, E)
        qq, kq, vq = attention_parts(xq, W, p, H, E)
        sc = qc @ kc.transpose(0, 2, 1) / math.sqrt(E)  # (H, C, C)
        sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
        ctx_c = ((sc / sc.sum(axis=-1, keepdims=True)) @ vc).transpose(1, 0, 2).reshape(C, H * E)
        s_ctx = qq @ kc.transpose(0, 2, 1) / math.sqrt(E)  # (H, Q, C)
        s_self = (qq * kq).sum(axis=-1, keepdims=True) / math.sqrt(E)  # (H, Q, 1)
        top = np.maximum(s_ctx.max(axis=-1, keepdims=True), s_self)
        e_ctx, e_self = np.exp(s_ctx - top), np.exp(s_self - top)
        z = e_ctx.sum(axis=-1, keepdims=True) + e_self
        ctx_q = ((e_ctx @ vc + e_self * vq) / z).transpose(1, 0, 2).reshape(Q, H * E)
        hc = hc + ctx_c @ W[p + ".attn.wo"] + W[p + ".attn.bo"]
        hq = hq + ctx_q @ W[p + ".attn.wo"] + W[p + ".attn.bo"]
        if ls["mlpHidden"] > 0:
            hc, hq = mlp(hc, W, spec, p), mlp(hq, W, spec, p)
    if spec["layerNorm"]:
        hq = layer_norm(hq, W, "lnF")
    return hq @ W["out.w"] + W["out.b"]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ckpt, inputs_path = argv[0], argv[1]
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    with open(f"{ckpt}/config.json", encoding="utf8") as f:
        spec = json.load(f)["spec"]
    W = read_safetensors(f"{ckpt}/model.safetensors")
    inputs = read_safetensors(inputs_path)
    tokens, kinds = inputs["tokens"], inputs["kinds"].astype(np.int64)
    result = {}
    for name, f in (("full", forward), ("cached", forward_cached)):
        times, cpu = [], []
        out = None
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = f(spec, W, tokens, kinds)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        entry = {"times": times, "cpu": cpu}
        if "expected" in inputs:
            entry["max_abs_diff"] = float(np.abs(out - inputs["expected"]).max())
        if "--print" in argv:
            entry["outputs"] = out.reshape(-1).tolist()
        result[name] = entry
    result["queries"] = int(out.shape[0])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
