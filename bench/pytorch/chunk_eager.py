"""Small PyTorch eager implementations of the chunked linear-family recurrences, written for
the benchmark (docs/benchmarks.md) from the same math as engine/miras/chunk (miras.md sec. 3),
in fp32, forward by the chunk algorithm and backward by autograd. No fla code.

   python3 bench/pytorch/chunk_eager.py [--out DIR]

Layout [B, T, H, D]; S is K x V, o_t = scale * S_t^T q_t.
  linear: S_t = Diag(exp g_t) S_{t-1} + k_t v_t^T        (g: none / per-head const / scalar / per channel)
  delta:  S_t = exp(g_t) (I - b_t k_t k_t^T) S_{t-1} + b_t k_t v_t^T
Before timing, each form is checked in float64 against a token loop at a small shape.
"""
import json
import math
import os
import sys

import torch

PRESETS = [
    ("linear-attention", "linear", "none"),
    ("retnet", "linear", "const"),
    ("mamba2", "linear", "scalar"),
    ("gla", "linear", "vector"),
    ("deltanet", "delta", "none"),
    ("gated-deltanet", "delta", "scalar"),
]


def make_inputs(rule, gate, B, T, H, K, V, dtype, device, seed=0):
    gen = torch.Generator(device="cpu").manual_seed(seed)
    u = lambda *s: (torch.rand(*s, generator=gen, dtype=torch.float64) * 2 - 1).to(device=device, dtype=dtype)
    q, k, v = u(B, T, H, K), u(B, T, H, K), u(B, T, H, V)
    x = {"q": q, "k": k, "v": v}
    if rule == "delta":
        x["k"] = torch.nn.functional.normalize(k, dim=-1)
        x["beta"] = (0.05 + 0.9 * torch.rand(B, T, H, generator=gen, dtype=torch.float64)).to(device=device, dtype=dtype)
    if gate == "const":
        x["g"] = torch.log(1 - 2.0 ** (-5 - (torch.arange(H, dtype=torch.float64) % 8))).to(device=device, dtype=dtype)
    if gate == "scalar":
        x["g"] = torch.log(0.9 + 0.1 * torch.rand(B, T, H, generator=gen, dtype=torch.float64)).to(device=device, dtype=dtype)
    if gate == "vector":
        x["g"] = torch.log(0.9 + 0.1 * torch.rand(B, T, H, K, generator=gen, dtype=torch.float64)).to(device=device, dtype=dtype)
    return x


def gate_bthk(gate, g, B, T, H, K, like):
    """Log decay broadcast to [B, T, H, K]."""
    if gate == "none":
        return torch.zeros(B, T, H, K, dtype=like.dtype, device=like.device)
    if gate == "const":
        return g.view(1, 1, H, 1).expand(B, T, H, K)
    if gate == "scalar":
        return g.unsqueeze(-1).expand(B, T, H, K)
    return g


def token_loop(rule, gate, x, scale):
    q, k, v = x["q"], x["k"], x["v"]
    B, T, H, K = q.shape
    V = v.shape[-1]
    g = gate_bthk(gate, x.get("g"), B, T, H, K, q)
    S = torch.zeros(B, H, K, V, dtype=q.dtype, device=q.device)
    o = torch.empty(B, T, H, V, dtype=q.dtype, device=q.device)
    for t in range(T):
        S = S * torch.exp(g[:, t]).unsqueeze(-1)
        kt, vt = k[:, t], v[:, t]
        if rule == "delta":
            bt = x["beta"][:, t].unsqueeze(-1)
            err = vt - torch.einsum("bhk,bhkv->bhv", kt, S)
            S = S + torch.einsum("bhk,bhv->bhkv", kt, bt * err)
        else:
            S = S + torch.einsum("bhk,bhv->bhkv", kt, vt)
        o[:, t] = scale * torch.einsum("bhkv,bhk->bhv", S, q[:, t])
    return o, S


def chunked(rule, gate, x, scale, C=64):
    """The chunk algorithm (state pass over chunks, intra-chunk attention, WY for delta)."""
    q, k, v = x["q"], x["k"], x["v"]
    B, T, H, K = q.shape
    V = v.shape[-1]
    assert T % C == 0
    N = T // C
    r = lambda t, D: t.view(B, N, C, H, D).permute(0, 3, 1, 2, 4)  # [B, H, N, C, D]
    qc, kc, vc = r(q, K), r(k, K), r(v, V)
    g = r(gate_bthk(gate, x.get("g"), B, T, H, K, q).contiguous(), K)
    Bc = g.cumsum(3)  # chunk-local cumulative log decay, per channel
    BL = Bc[:, :, :, -1:, :]
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    if gate == "vector":
        # within a 64-chunk the decays of these inputs stay in range for the factorised form
        A = (qc * torch.exp(Bc)) @ (kc * torch.exp(-Bc)).transpose(-1, -2)
    else:
        b = Bc[..., 0]
        A = (qc @ kc.transpose(-1, -2)) * torch.exp(b.unsqueeze(-1) - b.unsqueeze(-2))
    A = A.masked_fill(~causal, 0)
    if rule == "delta":
        beta = x["beta"].view(B, N, C, H).permute(0, 3, 1, 2).unsqueeze(-1)
        b = Bc[..., 0]
        L = (kc @ kc.transpose(-1, -2)) * torch.exp(b.unsqueeze(-1) - b.unsqueeze(-2)) * beta
        strict = torch.ones(C, C, dtype=torch.bool, device=q.device).tril(-1)
        L = L.masked_fill(~strict, 0) + torch.eye(C, dtype=q.dtype, device=q.device)
        w = torch.linalg.solve_triangular(L, kc * beta * torch.exp(Bc), upper=False, unitriangular=True)
        u = torch.linalg.solve_triangular(L, vc * beta, upper=False, unitriangular=True)
    h = torch.zeros(B, H, K, V, dtype=q.dtype, device=q.device)
    outs = []
    for n in range(N):
        vn = u[:, :, n] - w[:, :, n] @ h if rule == "delta" else vc[:, :, n]
        outs.append(scale * ((qc[:, :, n] * torch.exp(Bc[:, :, n])) @ h + A[:, :, n] @ vn))
        h = h * torch.exp(BL[:, :, n, 0]).unsqueeze(-1) + (kc[:, :, n] * torch.exp(BL[:, :, n] - Bc[:, :, n])).transpose(-1, -2) @ vn
    o = torch.stack(outs, 2).permute(0, 2, 3, 1, 4).reshape(B, T, H, V)
    return o, h


def timed(fn, reps=10, warmup=3):
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    for a, b in ev:
        a.record()
        fn()
        b.record()
    torch.cuda.synchronize()
    ts = sorted(a.elapsed_time(b) for a, b in ev)
    return ts[len(ts) // 2]


def main():
    out_dir = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else os.environ.get("OUT", "bench/results")
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "checks": [], "timings": []}
    for name, rule, gate in PRESETS:
        # float64 check of the chunked form against the token loop (T=128, C=64)
        x = make_inputs(rule, gate, 1, 128, 2, 16, 16, torch.float64, dev, seed=1)
        for t in x.values():
            t.requires_grad_(True)
        o1, h1 = token_loop(rule, gate, x, 0.25)
        o2, h2 = chunked(rule, gate, x, 0.25)
        do = torch.randn_like(o1)
        g1 = torch.autograd.grad((o1 * do).sum() + h1.sum(), list(x.values()))
        g2 = torch.autograd.grad((o2 * do).sum() + h2.sum(), list(x.values()))
        err = max([((a - b).abs().max() / b.abs().max()).item() for a, b in zip([o1, h1, *g1], [o2, h2, *g2])])
        res["checks"].append({"preset": name, "max_rel_err_fp64": err})
        print(f"check {name}: chunked vs token loop (fp64) max rel err {err:.1e}", flush=True)
        # timing at B*H = 32, T = 4096, d = 64, fp32
        B, T, H, K, V = 2, 4096, 16, 64, 64
        x = make_inputs(rule, gate, B, T, H, K, V, torch.float32, dev, seed=2)
        scale = 1 / math.sqrt(K)
        with torch.no_grad():
            f = timed(lambda: chunked(rule, gate, x, scale))
        xs = {key: t.clone().requires_grad_(key != "g" or gate != "const") for key, t in x.items()}
        do = torch.randn(B, T, H, V, device=dev)

        def fb():
            o, h = chunked(rule, gate, xs, scale)
            torch.autograd.backward([o, h], [do, torch.ones_like(h)])

        fbt = timed(fb)
        res["timings"].append({"preset": name, "fwd_ms": f, "fwdbwd_ms": fbt, "bwd_ms": fbt - f})
        print(f"time {name:18s} eager fp32 chunked: fwd {f:.2f} ms, fwd+bwd {fbt:.2f} ms", flush=True)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "pytorch-chunk.json"), "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
