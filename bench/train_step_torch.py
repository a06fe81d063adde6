"""PyTorch side of bench/train-step.ts: one training step (forward + backward + clip + AdamW)
of the same model on the same kind of batch, on CPU. Bench-only; never a runtime dependency.

Model (identical math to src/model/jax/executor.ts): y = x W + b; pre-LN (two-pass LayerNorm,
eps 1e-5); masked multi-head attention with the bnformer mask (i sees j iff i == j or
(kind[j] == CONTEXT and kind[i] != PAD)) as an additive -1e9 bias; exact GELU MLP; final LN;
linear readout; cross-entropy at the QUERY tokens; global-norm clipping 1.0; AdamW
(weight decay on matrices only). Like bnformer, the last layer runs only the query rows
(keys and values from every token); --all-rows runs it on every token instead.

Run: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/train_step_torch.py --json
(torch intra-op threads 1, BLAS threads from OPENBLAS_NUM_THREADS; see docs/STACK.md).

--check FILE: instead of timing, load jax-js's initial weights and batch from FILE (a
safetensors file bench/train-step.ts writes: bnformer's weight names, plus batch.tokens,
batch.kinds, batch.labels), take two steps and print {"losses": [loss before the first
update, loss after it]} for bench/train-step.ts to compare with its own.
"""
import argparse
import json
import math
import struct
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=16)
p.add_argument("--length", type=int, default=256)
p.add_argument("--input", type=int, default=32)
p.add_argument("--output", type=int, default=4)
p.add_argument("--dmodel", type=int, default=128)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--mlp", type=int, default=512)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--torch-threads", type=int, default=1)
p.add_argument("--json", action="store_true")
p.add_argument(
    "--all-rows",
    action="store_true",
    help="run the last layer on every token (default: only the query rows, as bnformer does)",
)
p.add_argument("--check", help="safetensors file with weights and batch from bench/train-step.ts")
a = p.parse_args()


def read_safetensors(path):
    """Tensors of a safetensors file (F32/F64) as float32 torch tensors, by name."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf8"))
    dtypes = {"F32": torch.float32, "F64": torch.float64}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        data = bytearray(raw[8 + n + begin : 8 + n + end])
        out[name] = torch.frombuffer(data, dtype=dtypes[e["dtype"]]).float().reshape(e["shape"])
    return out


check = read_safetensors(a.check) if a.check else None
if check is not None:  # the model's size comes from jax-js's weights
    a.batch, a.length, a.input = check["batch.tokens"].shape
    a.dmodel, a.output = check["out.w"].shape
    a.mlp = check["layers.0.mlp.w1"].shape[1]
    a.layers = len({k.split(".")[1] for k in check if k.startswith("layers.")})
torch.set_num_threads(a.torch_threads)
torch.manual_seed(0)
B, T, I, O, D, H, F = a.batch, a.length, a.input, a.output, a.dmodel, a.heads, a.mlp
E = D // H


def lin(i, o, std=0.02):
    return [torch.nn.Parameter(torch.randn(i, o) * std), torch.nn.Parameter(torch.zeros(o))]


def ln():
    return [torch.nn.Parameter(torch.ones(D)), torch.nn.Parameter(torch.zeros(D))]


params = {"embed": lin(I, D), "lnF": ln(), "out": lin(D, O)}
for l in range(a.layers):
    for n in ["q", "k", "v"]:
        params[f"{l}.w{n}"] = lin(D, D)
    params[f"{l}.wo"] = lin(D, D, 0.02 / math.sqrt(2 * a.layers))
    params[f"{l}.ln1"] = ln()
    params[f"{l}.ln2"] = ln()
    params[f"{l}.w1"] = lin(D, F)
    params[f"{l}.w2"] = lin(F, D, 0.02 / math.sqrt(2 * a.layers))


def bnformer_names(key):
    """The names of params[key]'s weight and bias in bnformer (src/model/spec.ts)."""
    if key in ("embed", "out"):
        return f"{key}.w", f"{key}.b"
    if key == "lnF":
        return "lnF.gamma", "lnF.beta"
    l, n = key.split(".")
    if n in ("ln1", "ln2"):
        return f"layers.{l}.{n}.gamma", f"layers.{l}.{n}.beta"
    if n in ("w1", "w2"):
        return f"layers.{l}.mlp.{n}", f"layers.{l}.mlp.b{n[1]}"
    return f"layers.{l}.attn.{n}", f"layers.{l}.attn.b{n[1]}"


if check is not None:
    with torch.no_grad():
        for key, (w, b) in params.items():
            wn, bn = bnformer_names(key)
            w.copy_(check[wn])
            b.copy_(check[bn])
flat = [t for v in params.values() for t in v]
decay = [t for t in flat if t.dim() == 2]
no_decay = [t for t in flat if t.dim() != 2]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
)


def layer_norm(x, g, b):
    mean = x.mean(-1, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(-1, keepdim=True)
    return xc / torch.sqrt(var + 1e-5) * g + b


def layer(l, h, bias, rows):
    """Layer l on h (B T, D); `rows` None = every token, else the index of each sequence's
    query (the last token): then only those rows go on, (B, D)."""
    g = layer_norm(h, *params[f"{l}.ln1"])
    R = T if rows is None else 1
    gq = g if rows is None else g.reshape(B, T, D)[:, rows]
    hq = h if rows is None else h.reshape(B, T, D)[:, rows]
    q = (gq @ params[f"{l}.wq"][0] + params[f"{l}.wq"][1]).reshape(B, R, H, E).transpose(1, 2)
    k = (g @ params[f"{l}.wk"][0] + params[f"{l}.wk"][1]).reshape(B, T, H, E).permute(0, 2, 3, 1)
    v = (g @ params[f"{l}.wv"][0] + params[f"{l}.wv"][1]).reshape(B, T, H, E).transpose(1, 2)
    bq = bias if rows is None else bias[:, :, rows : rows + 1]
    s = (q @ k) * (1 / math.sqrt(E)) + bq  # (B, H, R, T)
    o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B * R, D)
    hq = hq + o @ params[f"{l}.wo"][0] + params[f"{l}.wo"][1]
    m = layer_norm(hq, *params[f"{l}.ln2"])
    u = torch.nn.functional.gelu(m @ params[f"{l}.w1"][0] + params[f"{l}.w1"][1])
    return hq + u @ params[f"{l}.w2"][0] + params[f"{l}.w2"][1]


def forward(x, bias):
    h = x.reshape(B * T, I) @ params["embed"][0] + params["embed"][1]  # (B T, D)
    for l in range(a.layers):
        last = l == a.layers - 1 and not a.all_rows
        h = layer(l, h, bias, T - 1 if last else None)
    return layer_norm(h, *params["lnF"]) @ params["out"][0] + params["out"][1]


# The same batch shape as bench/train-step.ts: T-1 context tokens and one query per sequence.
g = torch.Generator().manual_seed(1)
x = (torch.rand(B, T, I, generator=g) < 0.3).float()
kinds = torch.zeros(B, T, dtype=torch.long)
kinds[:, T - 1] = 1
ctx = (kinds == 0).float()
live = (kinds != 2).float()
allowed = torch.maximum(live[:, :, None] * ctx[:, None, :], torch.eye(T))
bias = ((allowed - 1) * 1e9).reshape(B, 1, T, T)
labels = torch.randint(0, O, (B,), generator=g)
if check is not None:
    x = check["batch.tokens"]
    if not torch.equal(check["batch.kinds"].long(), kinds):
        raise SystemExit("--check: the batch's token kinds differ from this script's layout")
    labels = check["batch.labels"].long()
query = kinds.reshape(-1) == 1


def step():
    opt.zero_grad(set_to_none=True)
    out = forward(x, bias)  # (B T, O), or (B, O) at the queries
    loss = torch.nn.functional.cross_entropy(out[query] if a.all_rows else out, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(flat, 1.0)
    opt.step()
    return loss.item()


if check is not None:
    print(json.dumps({"losses": [step(), step()]}))
    raise SystemExit(0)
for _ in range(a.warmup):
    step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
times.sort()
median = times[len(times) // 2]
res = {
    "library": f"torch {torch.__version__}",
    "last_layer": "all rows" if a.all_rows else "query rows",
    "threads": {"torch": torch.get_num_threads()},
    "median_s": median,
    "min_s": times[0],
    "steps": a.steps,
}
print(json.dumps(res) if a.json else f"torch step median {median:.3f} s (min {times[0]:.3f})")
