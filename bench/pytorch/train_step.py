"""One training step of the same small models as bench/train-step.ts, in plain PyTorch (eager, fp32),
to set our WebGPU tokens/s beside PyTorch's on the same GPU. Written for this benchmark from the
engine's model definitions (engine/model/build.ts, engine/model/mixers.ts, engine/miras/block.ts and
the presets); the chunked recurrences come from bench/pytorch/chunk_eager.py. No fla code.

   python3 bench/pytorch/train_step.py [--preset gla] [--d-model 256] [--layers 4] [--batch 16] [--seq 256]
                                       [--vocab 256] [--steps 10] [--tf32] [--compile] [--out FILE.json] [--device cpu]

Per layer (pre-RMSNorm, residual):  h += mixer(norm(h));  h += W_down(silu(W_gate x) * W_up x), x = norm(h)
  transformer:     q, k, v, o projections; causal softmax attention (scaled_dot_product_attention), 64-dim heads
  gla:             q, k (d_k = 32), v (64) per head; log a = logsigmoid(x W_down W_up + b) / 16 (rank 16);
                   o = RMSNorm_head(GLA scan) * silu(x W_gate); W_o
  gated-deltanet:  q, k (64), v (128) per head, each through a causal depthwise conv (k = 4) and SiLU; L2 q, k per head;
                   beta = sigmoid(x W_b + b); g = -exp(A_log) * softplus(x W_g + dt_bias);
                   o = RMSNorm_head(gated delta scan) * silu(x W_gate); W_o
then final RMSNorm, untied head, mean cross-entropy. AdamW (beta 0.9/0.95, eps 1e-8, weight decay 0.1 on matrices),
global-norm clipping at 1, loss read back every step (as the WebGPU benchmark does).
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chunk_eager import chunked  # noqa: E402


def flag(name, default):
    if f"--{name}" not in sys.argv:
        return default
    v = sys.argv[sys.argv.index(f"--{name}") + 1]
    return type(default)(v)


def split_heads(width, head_dim):
    heads = max(1, width // head_dim)
    while heads > 1 and width % heads:
        heads -= 1
    return heads, max(1, width // heads)


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Linear(torch.nn.Module):
    """x W with W [in, out] (the engine's layout), no bias unless asked."""

    def __init__(self, fan_in, fan_out, std=None, bias=False):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(fan_in, fan_out) * (std if std is not None else fan_in ** -0.5))
        self.b = torch.nn.Parameter(torch.zeros(fan_out)) if bias else None

    def forward(self, x):
        y = x @ self.w
        return y + self.b if self.b is not None else y


class ShortConv(torch.nn.Module):
    """Causal depthwise conv: y[b, t, c] = sum_j w[c, j] x[b, t - K + 1 + j, c]."""

    def __init__(self, channels, k=4):
        super().__init__()
        self.w = torch.nn.Parameter((torch.rand(channels, k) * 2 - 1) / math.sqrt(k))
        self.k = k

    def forward(self, x):
        y = F.conv1d(F.pad(x.transpose(1, 2), (self.k - 1, 0)), self.w.unsqueeze(1), groups=x.shape[-1])
        return y.transpose(1, 2)


def gated_delta_chunked(q, k, v, g, beta, scale, C):
    """Gated delta rule S_t = exp(g_t)(I - b_t k_t k_t^T) S_{t-1} + b_t k_t v_t^T, o_t = scale S_t^T q_t, by chunks
    (WY form, as chunk_eager.chunked), with the intra-chunk decays exp(b_i - b_j) formed only where i >= j: the
    unmasked form overflows fp32 once the learned gates grow (inf * 0 = NaN gradients after a few steps)."""
    B, T, H, K = q.shape
    N = T // C
    r = lambda t: t.reshape(B, N, C, H, -1).permute(0, 3, 1, 2, 4)  # [B, H, N, C, D]
    qc, kc, vc = r(q), r(k), r(v)
    b = g.reshape(B, N, C, H).permute(0, 3, 1, 2).cumsum(-1)  # [B, H, N, C]
    bt = beta.reshape(B, N, C, H).permute(0, 3, 1, 2).unsqueeze(-1)
    diff = b.unsqueeze(-1) - b.unsqueeze(-2)
    lower = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    incl = torch.exp(diff.masked_fill(~lower, float("-inf")))
    strict = torch.exp(diff.masked_fill(~lower.tril(-1), float("-inf")))
    L = (kc @ kc.transpose(-1, -2)) * strict * bt + torch.eye(C, dtype=q.dtype, device=q.device)
    w = torch.linalg.solve_triangular(L, kc * bt * torch.exp(b).unsqueeze(-1), upper=False, unitriangular=True)
    u = torch.linalg.solve_triangular(L, vc * bt, upper=False, unitriangular=True)
    A = (qc @ kc.transpose(-1, -2)) * incl
    h = torch.zeros(B, H, K, v.shape[-1], dtype=q.dtype, device=q.device)
    outs = []
    for n in range(N):
        vn = u[:, :, n] - w[:, :, n] @ h
        bn = b[:, :, n].unsqueeze(-1)
        outs.append(scale * ((qc[:, :, n] * torch.exp(bn)) @ h + A[:, :, n] @ vn))
        last = bn[:, :, -1:]
        h = h * torch.exp(last) + (kc[:, :, n] * torch.exp(last - bn)).transpose(-1, -2) @ vn
    return torch.stack(outs, 2).permute(0, 2, 3, 1, 4).reshape(B, T, H, -1)


class Attention(torch.nn.Module):
    def __init__(self, d, n_layers):
        super().__init__()
        self.h, self.dh = split_heads(d, 64)
        w = self.h * self.dh
        self.q, self.k, self.v = Linear(d, w), Linear(d, w), Linear(d, w)
        self.o = Linear(w, d, std=(w * 2 * n_layers) ** -0.5)

    def forward(self, x):
        B, T, _ = x.shape
        sh = lambda t: t.view(B, T, self.h, self.dh).transpose(1, 2)
        o = F.scaled_dot_product_attention(sh(self.q(x)), sh(self.k(x)), sh(self.v(x)), is_causal=True)
        return self.o(o.transpose(1, 2).reshape(B, T, -1))


class MirasBlock(torch.nn.Module):
    """q, k, v projections and the block's output: RMSNorm per head, * silu(x W_gate), W_o."""

    def __init__(self, d, n_layers, dk_of_dim, dv_of_dim):
        super().__init__()
        self.h, dim = split_heads(d, 64)
        self.dk, self.dv = dk_of_dim(dim), dv_of_dim(dim)
        H, dk, dv = self.h, self.dk, self.dv
        self.q, self.k, self.v = Linear(d, H * dk), Linear(d, H * dk), Linear(d, H * dv)
        self.norm = torch.nn.Parameter(torch.ones(H * dv))
        self.gate = Linear(d, H * dv)
        self.o = Linear(H * dv, d, std=(H * dv * 2 * n_layers) ** -0.5)

    def output(self, o, x):
        B, T, H, dv = o.shape
        return self.o(rmsnorm(o, self.norm.view(H, dv)).reshape(B, T, H * dv) * F.silu(self.gate(x)))


class GLA(MirasBlock):
    def __init__(self, d, n_layers):
        super().__init__(d, n_layers, lambda dim: max(1, dim // 2), lambda dim: dim)
        self.g_down, self.g_up = Linear(d, 16), Linear(16, self.h * self.dk, bias=True)

    def forward(self, x):
        B, T, _ = x.shape
        H, dk, dv = self.h, self.dk, self.dv
        g = F.logsigmoid(self.g_up(self.g_down(x))) / 16
        inp = {"q": self.q(x).view(B, T, H, dk), "k": self.k(x).view(B, T, H, dk), "v": self.v(x).view(B, T, H, dv), "g": g.view(B, T, H, dk)}
        o, _ = chunked("linear", "vector", inp, dk ** -0.5, C=min(64, T))
        return self.output(o, x)


class GatedDeltaNet(MirasBlock):
    def __init__(self, d, n_layers):
        super().__init__(d, n_layers, lambda dim: dim, lambda dim: 2 * dim)
        H, dk, dv = self.h, self.dk, self.dv
        self.conv_q, self.conv_k, self.conv_v = ShortConv(H * dk), ShortConv(H * dk), ShortConv(H * dv)
        self.A_log = torch.nn.Parameter(torch.empty(H).uniform_(math.log(1), math.log(16)))
        self.g = Linear(d, H, bias=True)
        with torch.no_grad():  # dt_bias: softplus(dt_bias) log-uniform in [1e-3, 0.1], as the engine (Mamba2)
            dt = torch.exp(torch.empty(H).uniform_(math.log(1e-3), math.log(0.1)))
            self.g.b.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.beta = Linear(d, H, bias=True)

    def forward(self, x):
        B, T, _ = x.shape
        H, dk, dv = self.h, self.dk, self.dv
        q = F.normalize(F.silu(self.conv_q(self.q(x))).view(B, T, H, dk), dim=-1, eps=1e-6)
        k = F.normalize(F.silu(self.conv_k(self.k(x))).view(B, T, H, dk), dim=-1, eps=1e-6)
        v = F.silu(self.conv_v(self.v(x))).view(B, T, H, dv)
        g = -torch.exp(self.A_log) * F.softplus(self.g(x))
        return self.output(gated_delta_chunked(q, k, v, g, torch.sigmoid(self.beta(x)), dk ** -0.5, C=min(64, T)), x)


MIXERS = {"transformer": Attention, "gla": GLA, "gated-deltanet": GatedDeltaNet}


class Model(torch.nn.Module):
    def __init__(self, preset, vocab, d, n_layers):
        super().__init__()
        hidden = math.ceil(8 * d / 3 / 8) * 8
        self.embed = torch.nn.Parameter(torch.randn(vocab, d) / math.sqrt(d))
        self.layers = torch.nn.ModuleList()
        for _ in range(n_layers):
            layer = torch.nn.Module()
            layer.norm1 = torch.nn.Parameter(torch.ones(d))
            layer.mixer = MIXERS[preset](d, n_layers)
            layer.norm2 = torch.nn.Parameter(torch.ones(d))
            layer.up_gate, layer.up = Linear(d, hidden), Linear(d, hidden)
            layer.down = Linear(hidden, d, std=(hidden * 2 * n_layers) ** -0.5)
            self.layers.append(layer)
        self.final_norm = torch.nn.Parameter(torch.ones(d))
        self.head = Linear(d, vocab)

    def forward(self, ids, targets):
        h = self.embed[ids]
        for l in self.layers:
            h = h + l.mixer(rmsnorm(h, l.norm1))
            x = rmsnorm(h, l.norm2)
            h = h + l.down(F.silu(l.up_gate(x)) * l.up(x))
        logits = self.head(rmsnorm(h, self.final_norm))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


DEVICE = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cuda"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def run(preset, d, n_layers, batch, seq, vocab, steps, tf32, compile_model):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    dev = DEVICE
    model = Model(preset, vocab, d, n_layers).to(dev)
    # Weight decay on matrices (the engine's `decay` flag: projections and the head), not on norms, biases, embeddings, gates' scalars.
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "embed" and "conv" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n != "embed" and "conv" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    fwd = torch.compile(model) if compile_model else model
    gen = torch.Generator(device="cpu").manual_seed(1)
    batches = [(torch.randint(0, vocab, (batch, seq), generator=gen).to(dev), torch.randint(0, vocab, (batch, seq), generator=gen).to(dev)) for _ in range(steps)]

    def step(ids, tg):
        opt.zero_grad(set_to_none=True)
        loss = fwd(ids, tg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    t_warm = time.perf_counter()
    for i in range(3):
        step(*batches[i % steps])
    sync()
    warm_s = time.perf_counter() - t_warm
    t0 = time.perf_counter()
    for ids, tg in batches:
        loss = step(ids, tg)
    sync()
    ms = (time.perf_counter() - t0) * 1000 / steps
    return {
        "preset": preset,
        "mode": ("compile " if compile_model else "eager ") + ("tf32" if tf32 else "fp32"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "msPerStep": ms,
        "tokensPerSec": batch * seq * 1000 / ms,
        "lastLoss": loss,
        "warmupSeconds": warm_s,
    }


def main():
    presets = [flag("preset", "")] if "--preset" in sys.argv else list(MIXERS)
    d, n_layers, batch, seq, vocab, steps = flag("d-model", 256), flag("layers", 4), flag("batch", 16), flag("seq", 256), flag("vocab", 256), flag("steps", 10)
    modes = [(False, False)] + ([(True, False)] if "--tf32" in sys.argv else []) + ([(False, True)] if "--compile" in sys.argv else [])
    results = []
    device_name = torch.cuda.get_device_name() if DEVICE == "cuda" else DEVICE
    print(f"torch {torch.__version__} {device_name}; d={d} L={n_layers} V={vocab}, batch {batch} x seq {seq}, {steps} timed steps")
    for preset in presets:
        for tf32, comp in modes:
            try:
                r = run(preset, d, n_layers, batch, seq, vocab, steps, tf32, comp)
            except Exception as e:  # report and go on: one failing mode must not hide the others
                r = {"preset": preset, "mode": ("compile " if comp else "eager ") + ("tf32" if tf32 else "fp32"), "error": f"{type(e).__name__}: {e}"[:400]}
                print(f"{preset:15s} {r['mode']:13s} FAILED {r['error']}", flush=True)
                results.append(r)
                continue
            print(f"{preset:15s} {r['mode']:13s} {r['msPerStep']:7.2f} ms/step {r['tokensPerSec']:10.0f} tokens/s  ({r['parameters']:,} params, loss {r['lastLoss']:.3f}, warm-up {r['warmupSeconds']:.1f} s)", flush=True)
            results.append(r)
    out = flag("out", "")
    if out:
        with open(out, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "torch": torch.__version__, "device": device_name, "d_model": d, "layers": n_layers, "batch": batch, "seq": seq, "vocab": vocab, "steps": steps, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
