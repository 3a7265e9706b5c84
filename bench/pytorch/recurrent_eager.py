"""Small PyTorch eager token-loop implementations of the fused-recurrent presets' recurrences, written for the
benchmark from the same math as engine/miras/recurrent (engine/miras/math/combo.ts): forward by a Python loop over
the (sub-)steps, backward by autograd. No fla code.

   python3 bench/pytorch/recurrent_eager.py [--out DIR] [--reps N] [--only a,b]

Layout [B, T, H, D]; S is K x V; per sub-step tau of token t (n_h sub-steps per token, DeltaProduct n_h = 2):
  lam   = decay at sub-step 0 (none / per-head gamma / exp g_t / Diag(exp g_t)), 1 otherwise
  P     = lam * S (gradient at the retained memory) or S
  e     = P^T k - v (matrix memory) or k_i P_ij - v_j (vector memory, Longhorn); dot bias: g = -v, l2 bias: g = e
  eta   = beta (per head or per value channel), or beta / (1 + beta |k|^2) (implicit step, Longhorn)
  S     = lam * S - eta * k g^T;   o_t = scale * S^T q_t after the token's last sub-step
  mLSTM: m = max(log f + m, i~), C = f'C + i' k v^T, n = f'n + i'k, o = C^T q' / max(|n^T q'|, e^-m)  (xLSTM)
Before timing, every preset is checked in float64 against B1's float64 oracle on a tiny case
(bench/pytorch/recurrent_case.json, written by bench/pytorch/recurrent-case.ts): outputs, final state and every
input gradient. Timing: CUDA events, B=2, H=16 (B*H = 32), T=4096, d_k = d_v = 64, fp32, a few repetitions
(a Python loop of 4096 steps is slow; the figure is what an eager token loop costs, not a tuned kernel).
"""
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = ["linear-attention", "retnet", "gla", "mamba2", "hgrn2", "mlstm", "deltanet", "gated-deltanet", "deltaproduct", "longhorn"]


def scan(cfg, x):
    """Token loop of one combination; returns (o [B,T,H,V], final state [B,H,size])."""
    q, k, v = x["q"], x["k"], x["v"]
    B, T, H, K = q.shape
    V = v.shape[-1]
    n = cfg["steps"]
    scale = cfg["scale"]
    if cfg["mlstm"]:
        return mlstm(cfg, x)
    decay = cfg["decay"]
    gam = None
    if decay == "constant":
        gam = torch.tensor(cfg["gammas"], dtype=q.dtype, device=q.device).view(1, H, 1, 1)
    S = torch.zeros(B, H, K, V, dtype=q.dtype, device=q.device)
    outs = []
    for tau in range(T * n):
        t, sub = divmod(tau, n)
        kt = k[:, tau]
        vt = v[:, tau]
        lam = None
        if sub == 0:
            if decay == "constant":
                lam = gam
            elif decay == "scalar":
                lam = torch.exp(x["g"][:, t]).view(B, H, 1, 1)
            elif decay == "channel":
                lam = torch.exp(x["g"][:, t]).unsqueeze(-1)
        Sl = S * lam if lam is not None else S
        Pm = Sl if cfg["gradAt"] == "retained" else S
        if cfg["hasBeta"]:
            b = x["beta"][:, tau]
            bt = b.unsqueeze(-2) if cfg["betaPerChannel"] else b.view(B, H, 1, 1)
        else:
            bt = 1.0
        if cfg["learner"] == "implicit":
            kk = (kt * kt).sum(-1).view(B, H, 1, 1)
            eta = bt / (1.0 + bt * kk)
        else:
            eta = bt
        if cfg["bias"] == "dot":
            G = -vt.unsqueeze(-2)
        elif cfg["memory"] == "matrix":
            G = (torch.einsum("bhkv,bhk->bhv", Pm, kt) - vt).unsqueeze(-2)
        else:
            G = kt.unsqueeze(-1) * Pm - vt.unsqueeze(-2)
        S = Sl - eta * kt.unsqueeze(-1) * G
        if sub == n - 1:
            outs.append(scale * torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
    return torch.stack(outs, 1), S.flatten(-2)


def mlstm(cfg, x):
    q, k, v = x["q"], x["k"], x["v"]
    B, T, H, K = q.shape
    V = v.shape[-1]
    C = torch.zeros(B, H, K, V, dtype=q.dtype, device=q.device)
    nrm = torch.zeros(B, H, K, dtype=q.dtype, device=q.device)
    m = torch.zeros(B, H, dtype=q.dtype, device=q.device)
    outs = []
    for t in range(T):
        if cfg["decay"] == "scalar":
            logf = x["g"][:, t]
        elif cfg["decay"] == "constant":
            logf = torch.log(torch.tensor(cfg["gammas"], dtype=q.dtype, device=q.device)).view(1, H)
        else:
            logf = torch.zeros_like(m)
        fm = logf + m
        ig = x["i"][:, t]
        mN = torch.maximum(fm, ig)
        fs = torch.exp(fm - mN)
        is_ = torch.exp(ig - mN)
        kt = k[:, t]
        C = fs[..., None, None] * C + is_[..., None, None] * kt.unsqueeze(-1) * v[:, t].unsqueeze(-2)
        nrm = fs[..., None] * nrm + is_[..., None] * kt
        m = mN
        qs = cfg["scale"] * q[:, t]
        den = torch.maximum((nrm * qs).sum(-1).abs(), torch.exp(-m))
        outs.append(torch.einsum("bhkv,bhk->bhv", C, qs) / den[..., None])
    return torch.stack(outs, 1), torch.cat([C.flatten(-2), nrm, m[..., None]], -1)


def check(case_path):
    """float64: outputs, final state and input gradients against the oracle's tiny case."""
    data = json.load(open(case_path))
    worst = {}
    for name, c in data["cases"].items():
        x = {n: torch.tensor(t["data"], dtype=torch.float64).view(*t["shape"]).requires_grad_(True) for n, t in data["cases"][name]["inputs"].items()}
        o, fin = scan(c["config"], x)
        rel = lambda a, b: (a - b).abs().max().item() / max(b.abs().max().item(), 1e-30)
        eo = rel(o.flatten(), torch.tensor(c["o"], dtype=torch.float64))
        ef = rel(fin.flatten(), torch.tensor(c["finalState"], dtype=torch.float64))
        loss = (o.flatten() * torch.tensor(c["grad_o"], dtype=torch.float64)).sum() + (fin.flatten() * torch.tensor(c["grad_final"], dtype=torch.float64)).sum()
        loss.backward()
        eg = {n: rel(x[n].grad.flatten(), torch.tensor(g, dtype=torch.float64)) for n, g in c["grads"].items()}
        worst[name] = max([eo, ef] + list(eg.values()))
        print(f"check {name:16s} o {eo:.1e} S {ef:.1e} grads " + " ".join(f"{n} {e:.1e}" for n, e in eg.items()), flush=True)
        if worst[name] > 1e-9:
            raise SystemExit(f"{name}: eager token loop disagrees with the float64 oracle ({worst[name]:.2e})")
    return worst


def inputs(cfg, B, T, H, K, V, device, seed=0):
    gen = torch.Generator(device="cpu").manual_seed(seed)
    u = lambda *s: torch.rand(*s, generator=gen, dtype=torch.float32)
    n = cfg["steps"]
    x = {"q": (u(B, T, H, K) * 2 - 1) * 0.125, "k": torch.nn.functional.normalize(u(B, T * n, H, K) * 2 - 1, dim=-1), "v": u(B, T * n, H, V) * 2 - 1}
    if cfg["hasBeta"]:
        x["beta"] = 0.05 + 0.9 * (u(B, T * n, H, V) if cfg["betaPerChannel"] else u(B, T * n, H))
    if cfg["decay"] == "scalar":
        x["g"] = torch.log(0.9 + 0.1 * u(B, T, H))
    if cfg["decay"] == "channel":
        x["g"] = torch.log(0.9 + 0.1 * u(B, T, H, K))
    if cfg["mlstm"]:
        x["i"] = -u(B, T, H)
    return {k_: t.to(device) for k_, t in x.items()}


def timed(fn, reps):
    ts = []
    for r in range(reps + 1):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        if r > 0:  # the first call warms up
            ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2], ts


def main():
    args = sys.argv[1:]
    out_dir = args[args.index("--out") + 1] if "--out" in args else os.environ.get("OUT", os.path.join(HERE, "..", "results"))
    reps = int(args[args.index("--reps") + 1]) if "--reps" in args else 2
    only = args[args.index("--only") + 1].split(",") if "--only" in args else PRESETS
    case_path = os.path.join(HERE, "recurrent_case.json")
    worst = check(case_path)
    cases = json.load(open(case_path))["cases"]
    res = {"torch": torch.__version__, "device": None, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "check_max_rel_err": worst, "timings": []}
    if not torch.cuda.is_available():
        print("no CUDA device: checked only")
        return
    dev = torch.device("cuda")
    res["device"] = torch.cuda.get_device_name(0)
    B, T, H, K, V = 2, 4096, 16, 64, 64
    os.makedirs(out_dir, exist_ok=True)
    for name in only:
        cfg = dict(cases[name]["config"])
        cfg["scale"] = 1.0 / math.sqrt(K) if cfg["scale"] != 1 else 1.0
        if cfg["decay"] == "constant":
            cfg["gammas"] = [1 - 2.0 ** (-5 - h) for h in range(H)]
        x = inputs(cfg, B, T, H, K, V, dev)
        with torch.no_grad():
            f_ms, f_all = timed(lambda: scan(cfg, x), reps)
        xg = {n: t.clone().requires_grad_(True) for n, t in x.items()}

        def fb():
            o, fin = scan(cfg, xg)
            (o.sum() + fin.sum()).backward()

        fb_ms, fb_all = timed(fb, reps)
        row = {"preset": name, "fwd_ms": f_ms, "fwd_bwd_ms": fb_ms, "fwd_all": f_all, "fwd_bwd_all": fb_all, "shape": [B, T, H, K, V], "steps": cfg["steps"]}
        res["timings"].append(row)
        print(f"time {name:16s} eager fwd {f_ms:9.1f} ms  fwd+bwd {fb_ms:9.1f} ms", flush=True)
        json.dump(res, open(os.path.join(out_dir, "recurrent-eager.json"), "w"), indent=1)
        del x, xg
        torch.cuda.empty_cache()
    json.dump(res, open(os.path.join(out_dir, "recurrent-eager.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
