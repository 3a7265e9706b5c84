"""Small PyTorch eager softmax attention, written for the benchmark (docs/benchmarks.md) from the same math as
engine/ops/attention.ts, to set the softmax-attention presets' mixers beside PyTorch on the same GPU. No fla code.

   python3 bench/pytorch/attention_eager.py [--out DIR] [--reps N] [--check-only]

Causal softmax attention with an optional sliding window W (the query sees itself and W - 1 earlier keys):
   O = softmax(Q K^T / sqrt(d) + M) V,   M = 0 where 0 <= t - s < W, -inf elsewhere
Two columns, fp32 with TF32 off, forward then autograd backward, layout [B, H, T, D]:
  eager: the formula above op by op (matmul, masked_fill, softmax, matmul): T x T scores in memory
  sdpa:  torch.nn.functional.scaled_dot_product_attention (is_causal=True, or the window as a boolean mask); torch
         chooses its backend (fp32 rules out FlashAttention; the memory-efficient kernel or the math path run).
         Which backends accept the shape is probed and recorded.
Before timing, both are checked in float64 against the engine's float64 reference on the tiny cases of
bench/pytorch/attention_case.json (written by bench/pytorch/attention-case.ts): outputs and dq, dk, dv.
Timing: CUDA events, median of --reps (10) after 3 warm-ups, B=2, H=16 (B*H = 32), T=4096, d=64, windows from the
presets listed in the case file.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chunk_eager import timed  # noqa: E402  (CUDA events, median after warm-ups)


def window_mask(T, window, device):
    """Boolean [T, T]: key s visible from query t."""
    t = torch.arange(T, device=device).view(T, 1)
    s = torch.arange(T, device=device).view(1, T)
    keep = s <= t
    if window is not None:
        keep = keep & (t - s < window)
    return keep


def eager(q, k, v, window, mask=None):
    """q, k: [B, H, T, D]; v: [B, H, T, Dv]."""
    T, D = q.shape[-2], q.shape[-1]
    if mask is None:
        mask = window_mask(T, window, q.device)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
    p = torch.softmax(s.masked_fill(~mask, float("-inf")), dim=-1)
    return p @ v


def sdpa(q, k, v, window, mask=None):
    if window is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    if mask is None:
        mask = window_mask(q.shape[-2], window, q.device)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def check(case_path):
    """Max relative error of eager (and SDPA, where torch has it) against the engine's float64 reference."""
    data = json.load(open(case_path))
    worst = {"eager": 0.0, "sdpa": None}
    for c in data["cases"]:
        s = c["shape"]
        B, T, H, D, Dv, W = s["B"], s["T"], s["H"], s["D"], s["Dv"], s["window"]
        # the case is in the engine's [B, T, H, D] layout; the functions take [B, H, T, D]
        bthd = lambda a, d: torch.tensor(a, dtype=torch.float64).view(B, T, H, d).transpose(1, 2)
        want = {"o": bthd(c["o"], Dv), "q": bthd(c["grads"]["q"], D), "k": bthd(c["grads"]["k"], D), "v": bthd(c["grads"]["v"], Dv)}
        fns = [("eager", eager)] + ([("sdpa", sdpa)] if hasattr(F, "scaled_dot_product_attention") else [])
        for name, fn in fns:
            x = {n: bthd(c["inputs"][n], D if n in ("q", "k") else Dv).clone().requires_grad_(True) for n in ("q", "k", "v")}
            o = fn(x["q"], x["k"], x["v"], W)
            o.backward(bthd(c["inputs"]["do"], Dv))
            got = {"o": o.detach(), "q": x["q"].grad, "k": x["k"].grad, "v": x["v"].grad}
            err = max(((got[n] - want[n]).abs().max() / want[n].abs().max()).item() for n in want)
            worst[name] = max(worst[name] or 0.0, err)
            print(f"check {name:5s} W={W}: max rel err vs the engine's float64 reference {err:.1e}", flush=True)
    for name, err in worst.items():
        if err is not None and not err < 1e-10:
            raise SystemExit(f"{name} attention does not match the engine's float64 reference (max rel err {err:.1e})")
    if worst["sdpa"] is None:
        print(f"torch {torch.__version__} has no scaled_dot_product_attention: checked eager only", flush=True)
    return worst, data["mixers"]


def sdpa_backends(q, k, v, window):
    """Which SDPA backends run this call (fp32, forward and backward), probed one at a time."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return None
    ok = {}
    for b in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH):
        try:
            with sdpa_kernel([b]):
                qq, kk, vv = (t[:, :, :256].detach().clone().requires_grad_(True) for t in (q, k, v))
                sdpa(qq, kk, vv, window).sum().backward()
            ok[b.name] = True
        except Exception as e:  # a refused backend raises; record why
            ok[b.name] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    return ok


def main():
    args = sys.argv[1:]
    out_dir = args[args.index("--out") + 1] if "--out" in args else os.environ.get("OUT", os.path.join(HERE, "..", "results"))
    reps = int(args[args.index("--reps") + 1]) if "--reps" in args else 10
    worst, mixers = check(os.path.join(HERE, "attention_case.json"))
    res = {"torch": torch.__version__, "device": None, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "check_max_rel_err": worst, "timings": []}
    if "--check-only" in args or not torch.cuda.is_available():
        print("checked only" + ("" if torch.cuda.is_available() else " (no CUDA device)"))
        return
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    res["device"] = torch.cuda.get_device_name(0)
    os.makedirs(out_dir, exist_ok=True)
    windows = []
    for m in mixers:
        if m["window"] not in [w for w, _, _ in windows]:
            windows.append((m["window"], m["headDim"], [x["preset"] for x in mixers if x["window"] == m["window"]]))
    B, H, T = 2, 16, 4096
    gen = torch.Generator(device="cpu").manual_seed(0)
    for W, D, presets in windows:
        q, k, v, do = ((torch.rand(B, H, T, D, generator=gen) * 2 - 1).to(dev) for _ in range(4))
        mask = window_mask(T, W, dev)
        row = {"presets": presets, "window": W, "shape": [B, T, H, D], "sdpa_backends": sdpa_backends(q, k, v, W)}
        for name, fn in (("eager", lambda a, b, c: eager(a, b, c, W, mask)), ("sdpa", lambda a, b, c: sdpa(a, b, c, W, mask))):
            try:
                with torch.no_grad():
                    f_ms = timed(lambda: fn(q, k, v), reps)
                xg = [t.clone().requires_grad_(True) for t in (q, k, v)]

                def fb():
                    fn(*xg).backward(do)

                fb_ms = timed(fb, reps)
                row[name] = {"fwd_ms": f_ms, "fwd_bwd_ms": fb_ms, "bwd_ms": fb_ms - f_ms}
                print(f"time {name:5s} W={str(W):5s} ({', '.join(presets)}): fwd {f_ms:8.3f} ms  fwd+bwd {fb_ms:8.3f} ms", flush=True)
            except Exception as e:  # report and go on: one failing column must not hide the other
                row[name] = {"error": f"{type(e).__name__}: {e}"[:400]}
                print(f"time {name:5s} W={W}: FAILED {row[name]['error']}", flush=True)
            torch.cuda.empty_cache()
        res["timings"].append(row)
        json.dump(res, open(os.path.join(out_dir, "pytorch-attention.json"), "w"), indent=1)
    json.dump(res, open(os.path.join(out_dir, "pytorch-attention.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
