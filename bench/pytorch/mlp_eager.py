"""Small PyTorch eager token-loop implementation of the deep-MLP-memory presets' recurrences (ttt-linear, titans,
moneta, yaad, memora), written for the benchmark from the same math as engine/miras/mlp/program.ts: forward by a
Python loop over the tokens, batched over B and H, backward by autograd (second order: the loop contains the inner
gradient, written out by hand below). No torch or fla code copied from anywhere.

   python3 bench/pytorch/mlp_eager.py [--out DIR] [--reps N] [--steps N] [--only a,b]

Per (b, h), memory M(x; W) = [x +] [LN](W_L s(... s(W_1 x))) with W_l of shape [out, in] (LN without affine, eps 1e-6).
Per token t, with e = M(k_t; P) - v_t, g = bias'(e) (l2: e; lp: p e (e^2+eps)^(p/2-1); Huber switch:
e if |e| <= delta_t else delta_t sign(e)), the inner gradient U_l = beta_t * dl/dW_l (backprop through the MLP) and
  gd:        W_t = retain(W_{t-1}, U)                  (P = W_{t-1}, or the normalised memory for l_q)
  momentum:  m_t = eta_t m_{t-1} - U,  W_t = retain(W_{t-1}, -m_t)
  chunk:     all tokens of a mini-batch take their gradient at the mini-batch's first memory (TTT)
  retain:    none: W - U;  l2 / scalar: alpha_t W - U (alpha = exp g_t);  l_q (Moneta): A_t = alpha A - U and the memory
             read is A / ||A||_q^(q-2) per layer;  KL (Memora): W_t = softmax_slice(alpha log W_{t-1} - U)
  o_t = M(q_t; W_t)
Before timing, every preset is checked in float64 against the float64 tape oracle on a tiny case
(bench/pytorch/mlp_case.json, written by bench/pytorch/mlp-case.ts): outputs, final state and every input gradient.
Timing: CUDA events, B=2, H=16 (B*H = 32), d_k = d_v = 64 (hidden 256 for the 2-layer presets), fp32. An eager loop
of T = 4096 tokens with autograd would keep ~20 activation tensors of [32, 256, 64] per token (over 100 GiB), so
the loop is timed over --steps tokens (default 512) and scaled linearly to T = 4096 (every token costs the same);
the JSON keeps the measured times too.
"""
import json
import math
import os
import sys
import time

import torch

from recurrent_eager import timed  # the same CUDA-event timing: one warm-up, then the median of the repetitions

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = ["ttt-linear", "titans", "moneta", "yaad", "memora"]
LN_EPS = 1e-6
GELU_C = math.sqrt(2 / math.pi)
GELU_A = 0.044715


def act_pair(name):
    """(s, s') of the hidden activation."""
    if name == "gelu":
        def f(x):
            return 0.5 * x * (1 + torch.tanh(GELU_C * (x + GELU_A * x ** 3)))

        def d(x):
            t = torch.tanh(GELU_C * (x + GELU_A * x ** 3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x * x)
        return f, d
    if name == "silu":
        return (lambda x: x * torch.sigmoid(x)), (lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))))
    if name == "relu":
        return torch.relu, (lambda x: (x > 0).to(x.dtype))
    raise ValueError(f"activation {name}")


def bias_grad(cfg, e, delta):
    """g = dl/dy as a function of the error e [B, H, dv] (delta: [B, H, 1] or None)."""
    kind, p = cfg["bias"]["kind"], cfg["bias"]["params"]
    if kind == "l2":
        return e
    if kind == "lp":
        pp, eps = p.get("p", 3), p.get("eps", 1e-6)
        return pp * e * (e * e + eps) ** (pp / 2 - 1)
    if kind == "l1":
        a = p.get("sharpness", 10)
        return torch.sign(e) if a == 0 else torch.tanh(a * e)
    if kind == "robust":
        r0 = (e * e).sum(-1, keepdim=True)
        return e + p.get("shift", 0.1) * e / torch.sqrt(r0 + p.get("eps", 1e-6))
    if kind == "huber":
        d = delta if p.get("delta", "data") == "data" else torch.full_like(e[..., :1], p.get("deltaValue", 1))
        variant = p.get("variant", "switch")
        if variant == "coordinate":
            return torch.maximum(torch.minimum(e, d), -d)
        r0 = (e * e).sum(-1, keepdim=True)
        inside = r0 <= d * d
        if variant == "norm":
            return torch.where(inside, e, d * e / torch.sqrt(torch.where(inside, torch.ones_like(r0), r0)))
        return torch.where(inside, e, d * torch.sign(e))
    raise ValueError(f"bias {kind}")


def mv(W, x):
    return torch.matmul(W, x.unsqueeze(-1)).squeeze(-1)


def vm(y, W):
    return torch.matmul(y.unsqueeze(-2), W).squeeze(-2)


class Memory:
    def __init__(self, cfg):
        self.cfg = cfg
        self.act, self.dact = act_pair(cfg["activation"])
        self.L = len(cfg["shapes"])
        ret = cfg["retention"]
        self.norm = ret["norm"]
        self.simplex = ret["simplex"]

    def forward(self, P, x):
        """y = M(x; P) and what the inner backward needs."""
        cfg = self.cfg
        ins, zs = [], []
        h = x
        for l in range(self.L):
            ins.append(h)
            z = mv(P[l], h)
            zs.append(z)
            h = self.act(z) if l < self.L - 1 else z
        out, xhat, inv_s = h, None, None
        if cfg["layerNorm"]:
            zc = out - out.mean(-1, keepdim=True)
            inv_s = 1.0 / torch.sqrt((zc * zc).mean(-1, keepdim=True) + LN_EPS)
            xhat = zc * inv_s
            out = xhat
        y = x + out if cfg["residual"] else out
        return y, ins, zs, xhat, inv_s

    def grad(self, P, k, v, delta):
        """dl/dW_l of l(M(k; P), v), by hand (so the outer autograd differentiates through it)."""
        cfg = self.cfg
        y, ins, zs, xhat, inv_s = self.forward(P, k)
        g = -v if cfg["bias"]["kind"] == "dot" else bias_grad(cfg, y - v, delta)
        gz = g
        if cfg["layerNorm"]:
            dv = g.shape[-1]
            gz = (dv * g - g.sum(-1, keepdim=True) - xhat * (g * xhat).sum(-1, keepdim=True)) * inv_s / dv
        G = [None] * self.L
        for l in range(self.L - 1, -1, -1):
            G[l] = gz.unsqueeze(-1) * ins[l].unsqueeze(-2)
            if l > 0:
                gz = vm(gz, P[l]) * self.dact(zs[l - 1])
        return G

    def effective(self, Ws):
        """The memory read from the carried state: l_q normalisation per layer (Moneta), else the state itself."""
        n = self.norm
        if n is None:
            return Ws
        eps = self.cfg["retention"]["params"].get("eps", 1e-6)
        pn, expo = n["pn"], n["expo"]
        mirror = self.cfg["retention"]["params"].get("form") == "mirror"
        out = []
        for A in Ws:
            s = ((A * A + eps) ** (pn / 2)).sum((-2, -1), keepdim=True)
            f = A * (A * A + eps) ** ((pn - 2) / 2) if mirror else A
            out.append(f * s ** (-expo / pn))
        return out


def softmax_slice(z, axis, scale):
    if axis == "key":  # over the inputs of each output (rows of [out, in])
        return scale * torch.softmax(z, -1), z - z.mean(-1, keepdim=True)
    if axis == "value":
        return scale * torch.softmax(z, -2), z - z.mean(-2, keepdim=True)
    sh = z.shape
    zf = z.flatten(-2)
    return scale * torch.softmax(zf, -1).view(sh), (zf - zf.mean(-1, keepdim=True)).view(sh)


def scan(cfg, x):
    """Token loop; returns o [B, T, H, dv] and the final state [B, H, size] (W_1..W_L, then the momentum)."""
    q, k, v = x["q"], x["k"], x["v"]
    B, T, H, _ = q.shape
    mem = Memory(cfg)
    ret = cfg["retention"]
    shapes = cfg["shapes"]
    sizes = [o * i for o, i in shapes]
    init = x["initialState"]
    offs = [0]
    for s in sizes:
        offs.append(offs[-1] + s)
    W = [init[:, offs[l]:offs[l + 1]].reshape(1, H, *shapes[l]).expand(B, H, *shapes[l]) for l in range(len(shapes))]
    learner = cfg["learner"]
    mom = None
    if learner == "momentum":
        base = offs[-1]
        mom = [init[:, base + offs[l]:base + offs[l + 1]].reshape(1, H, *shapes[l]).expand(B, H, *shapes[l]) for l in range(len(shapes))]
    simplex = ret["simplex"]
    logW = [torch.log(w) for w in W] if simplex else None
    anchor = None
    gam = torch.tensor(cfg["gammas"], dtype=q.dtype, device=q.device).view(1, H, 1, 1) if cfg["decay"] == "constant" else None

    def sc(name, t):
        return x[name][:, t].view(B, H, 1, 1) if name in x else None

    outs = []
    for t in range(T):
        kt, vt = k[:, t], v[:, t]
        beta, eta = sc("beta", t), sc("eta", t)
        delta = x["delta"][:, t].view(B, H, 1) if "delta" in x else None
        alpha = torch.exp(sc("g", t)) if cfg["decay"] == "gate" else gam
        lr = (lambda G: [beta * u for u in G]) if beta is not None else (lambda G: G)
        dec = (lambda w: w * alpha) if alpha is not None else (lambda w: w)

        def retain(l, w, U):
            kind = ret["kind"]
            if kind in ("none", "constant", "scalar", "lq"):
                return dec(w) - U, None
            if kind == "l2":
                return (dec(w - U), None) if ret["coupled"] else (dec(w) - U, None)
            if kind == "kl":
                return softmax_slice(dec(logW[l]) - U, simplex["axis"], simplex["scale"])
            raise ValueError(f"retention {kind}")

        if learner == "gd":
            if cfg["gradAtDecayed"] and alpha is not None:
                dW = [dec(w) for w in W]
                U = lr(mem.grad(mem.effective(dW), kt, vt, delta))
                new = [(d - u, None) for d, u in zip(dW, U)]
            else:
                U = lr(mem.grad(mem.effective(W), kt, vt, delta))
                new = [retain(l, w, u) for l, (w, u) in enumerate(zip(W, U))]
        elif learner == "momentum":
            base = [dec(w) for w in W] if cfg["gradAtDecayed"] and alpha is not None else W
            U = lr(mem.grad(mem.effective(base), kt, vt, delta))
            mom = [m * eta - u for m, u in zip(mom, U)]
            new = [retain(l, w, -m) for l, (w, m) in enumerate(zip(W, mom))]
        elif learner == "chunk":
            start = t % cfg["chunk"] == 0
            anc = mem.effective(W) if start else anchor
            U = lr(mem.grad(anc, kt, vt, delta))
            new = [retain(l, w, u) for l, (w, u) in enumerate(zip(W, U))]
            anchor = mem.effective([n for n, _ in new]) if start and cfg["lagToken"] else anc
        else:
            raise ValueError(f"learner {learner}")
        W = [n for n, _ in new]
        if simplex:
            logW = [lg for _, lg in new]
        qt = q[:, t] * cfg["qscale"] if cfg["qscale"] != 1 else q[:, t]
        outs.append(mem.forward(mem.effective(W), qt)[0])
    fin = [w.flatten(-2) for w in W] + ([m.flatten(-2) for m in mom] if mom is not None else [])
    return torch.stack(outs, 1), torch.cat(fin, -1)


def rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def check(path):
    """Every preset in float64 against the oracle's outputs, final state and input gradients."""
    cases = json.load(open(path))["cases"]
    worst = {}
    for name, c in cases.items():
        x = {n: torch.tensor(t["data"], dtype=torch.float64).view(*t["shape"]).requires_grad_(True) for n, t in c["inputs"].items()}
        o, fin = scan(c["config"], x)
        eo = rel(o.flatten(), torch.tensor(c["o"], dtype=torch.float64))
        ef = rel(fin.flatten(), torch.tensor(c["finalState"], dtype=torch.float64))
        loss = (o.flatten() * torch.tensor(c["grad_o"], dtype=torch.float64)).sum() + (fin.flatten() * torch.tensor(c["grad_final"], dtype=torch.float64)).sum()
        loss.backward()
        eg = {n: rel(x[n].grad.flatten(), torch.tensor(g, dtype=torch.float64)) for n, g in c["grads"].items()}
        worst[name] = max([eo, ef] + list(eg.values()))
        print(f"check {name:11s} o {eo:.1e} S {ef:.1e} grads " + " ".join(f"{n} {e:.1e}" for n, e in eg.items()), flush=True)
        if worst[name] > 1e-9:
            raise SystemExit(f"{name}: eager token loop disagrees with the float64 oracle ({worst[name]:.2e})")
    return worst


def inputs(cfg, B, T, H, device, seed=0):
    """Inputs in the ranges the kernel tests and bench/scan-mlp.ts use (unit-norm q/k, beta in (0.1, 0.6), ...)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    u = lambda *s: torch.rand(*s, generator=gen, dtype=torch.float32)
    n = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float32)
    dk, dv = cfg["shapes"][0][1], cfg["shapes"][-1][0]
    x = {"q": torch.nn.functional.normalize(n(B, T, H, dk), dim=-1), "k": torch.nn.functional.normalize(n(B, T, H, dk), dim=-1), "v": n(B, T, H, dv)}
    ranges = {"beta": (0.1, 0.5), "g": None, "eta": (0.5, 0.45), "delta": (0.3, 1.0)}
    for gname in cfg["gates"]:
        if gname == "g":
            x["g"] = torch.log(0.8 + 0.19 * u(B, T, H))
        else:
            a, b = ranges[gname]
            x[gname] = a + b * u(B, T, H)
    parts = []
    for o, i in cfg["shapes"]:
        parts.append(((0.5 + u(H, o * i)) / i) if cfg["retention"]["kind"] == "kl" else n(H, o * i) / math.sqrt(i))
    if cfg["learner"] == "momentum":
        parts += [0.05 * n(H, o * i) for o, i in cfg["shapes"]]
    x["initialState"] = torch.cat(parts, -1)
    return {k_: t.to(device) for k_, t in x.items()}


def main():
    args = sys.argv[1:]
    opt = lambda n, d: args[args.index(n) + 1] if n in args else d
    out_dir = opt("--out", os.environ.get("OUT", os.path.join(HERE, "..", "results")))
    reps = int(opt("--reps", 2))
    steps = int(opt("--steps", 512))
    only = opt("--only", ",".join(PRESETS)).split(",")
    case_path = os.path.join(HERE, "mlp_case.json")
    worst = check(case_path)
    cases = json.load(open(case_path))["cases"]
    res = {"torch": torch.__version__, "device": None, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "check_max_rel_err": worst, "timings": []}
    if not torch.cuda.is_available():
        print("no CUDA device: checked only")
        return
    dev = torch.device("cuda")
    res["device"] = torch.cuda.get_device_name(0)
    B, T, H, D = 2, 4096, 16, 64
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "mlp-eager.json")
    for name in only:
        cfg = dict(cases[name]["config"])
        # the tiny case's shapes scaled to d = 64: hidden = expansion * d
        exp_ = cfg["shapes"][0][0] // cfg["shapes"][0][1] if len(cfg["shapes"]) > 1 else 1
        L = len(cfg["shapes"])
        cfg["shapes"] = [[D, D]] if L == 1 else [[exp_ * D, D]] + [[exp_ * D, exp_ * D]] * (L - 2) + [[D, exp_ * D]]
        if cfg["decay"] == "constant":
            cfg["gammas"] = [1 - 2.0 ** (-5 - h) for h in range(H)]
        x = inputs(cfg, B, steps, H, dev)
        with torch.no_grad():
            f_ms, f_all = timed(lambda: scan(cfg, x), reps)
        xg = {n: t.clone().requires_grad_(True) for n, t in x.items()}

        def fb():
            o, fin = scan(cfg, xg)
            (o.sum() + fin.sum()).backward()

        fb_ms, fb_all = timed(fb, reps)
        s = T / steps
        row = {"preset": name, "fwd_ms": f_ms * s, "fwd_bwd_ms": fb_ms * s, "timed_steps": steps, "scale": s, "fwd_ms_measured": f_all, "fwd_bwd_ms_measured": fb_all,
               "shape": [B, T, H, D], "shapes": cfg["shapes"], "peak_mem_gib": torch.cuda.max_memory_allocated() / 2 ** 30}
        res["timings"].append(row)
        print(f"time {name:11s} eager ({steps} steps, x{s:.0f}) fwd {f_ms * s:9.1f} ms  fwd+bwd {fb_ms * s:9.1f} ms", flush=True)
        json.dump(res, open(path, "w"), indent=1)
        del x, xg
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    json.dump(res, open(path, "w"), indent=1)


if __name__ == "__main__":
    main()
