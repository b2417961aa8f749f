"""Models benchmark, the peer side: the Llama architecture as a plain PyTorch nn.Module (the math
of HF's modeling_llama, written out: PyTorch 1.13 has no F.scaled_dot_product_attention), timed
on one forward+backward of a causal-LM loss, as bench/models/models.ts times ours.

Run with Debian's PyTorch (/usr/bin/python3). models.ts starts it as `llama.py --serve` and
interleaves its steps with ours (see serve()); standalone, `llama.py DIR [--warmup N] [--steps N]`
times fwd+bwd alone and prints one JSON object. DIR holds what models.ts writes: config.json +
model.safetensors (the weights both sides use) and batch.safetensors / prompt.safetensors
(input_ids). Library defaults throughout (no set_num_threads)."""
import json
import math
import os
import platform
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- a minimal safetensors reader (the `safetensors` package is not installed)

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {e['dtype']} not supported by this reader")
        begin, end = e["data_offsets"]
        arr = np.frombuffer(data, dtype=_DTYPES[e["dtype"]], count=(end - begin) // np.dtype(_DTYPES[e["dtype"]]).itemsize,
                            offset=base + begin).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


# ---- the model, HF's tensor names

class RMSNorm(nn.Module):
    def __init__(self, hidden, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):  # x [B, H, T, D]; cos, sin [B, T, D]
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c["hidden_size"] // self.heads
        h = c["hidden_size"]
        self.q_proj = nn.Linear(h, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(h, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(h, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, h, bias=False)

    def forward(self, x, cos, sin, mask, past=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        rep = self.heads // self.kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        a = torch.matmul(probs, v)  # [B, H, T, D]
        return self.o_proj(a.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)), present


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask, past=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        d = c["hidden_size"] // c["num_attention_heads"]
        theta = c.get("rope_theta", 10000.0)
        self.register_buffer("inv_freq", 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d)), persistent=False)

    def forward(self, input_ids, past_key_values=None, attention_mask=None):
        """Logits [B, T, V]; with past_key_values (a list, [] to start one) also the grown cache.
        attention_mask [B, T] (1 = token, 0 = padding; no cache) also hides padded keys, as HF's."""
        b, t = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values else 0
        pos = torch.arange(past_len, past_len + t).unsqueeze(0).expand(b, t)
        freqs = pos.float().unsqueeze(-1) * self.inv_freq  # [B, T, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        # Causal: True above the diagonal (masked); one new token over a cache sees every key.
        mask = torch.ones(t, past_len + t, dtype=torch.bool).triu(past_len + 1) if t > 1 else None
        if attention_mask is not None:
            pad = (attention_mask == 0)[:, None, None, :]  # [B, 1, 1, T]
            mask = pad if mask is None else (mask | pad)  # [B, 1, T, T]
        x = self.model.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, cos, sin, mask, past_key_values[i] if past_key_values else None)
            presents.append(present)
        logits = self.lm_head(self.model.norm(x))
        return (logits, presents) if past_key_values is not None else logits


@torch.no_grad()
def generate_greedy(model, prompt, new_tokens, use_cache):
    """Greedy continuation, [B, T + n], as ours (no EOS): with a KV cache, or the whole sequence each step."""
    seq = prompt
    past = []
    for _ in range(new_tokens):
        if use_cache:
            logits, past = model(seq if not past else seq[:, -1:], past)
        else:
            logits = model(seq)
        seq = torch.cat((seq, logits[:, -1, :].argmax(-1, keepdim=True)), dim=1)
    return seq


def causal_lm_loss(logits, labels):
    """HF's shifted cross-entropy: position t predicts label t+1, -100 ignored."""
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1, :].float().reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100)


# ---- timing

def now():
    return time.perf_counter()


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def log(msg):
    print(f"models(peer): {msg}", file=sys.stderr, flush=True)


def load_model(d):
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    model = LlamaForCausalLM(config)
    model.load_state_dict(load_safetensors(os.path.join(d, "model.safetensors")), strict=True)
    return model


class Trainer:
    """One forward + backward of the causal-LM loss on DIR's weights and batch, as ours times it."""

    def __init__(self, d):
        self.model = load_model(d)
        self.model.train()  # nothing in this architecture depends on it; as a training step runs
        self.ids = load_safetensors(os.path.join(d, "batch.safetensors"))["input_ids"]
        self.params = list(self.model.parameters())

    def step(self, want_loss=False):
        cpu0 = time.process_time()  # all threads of the process, as Node's process.cpuUsage()
        flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = now()
        loss = causal_lm_loss(self.model(self.ids), self.ids)
        t1 = now()
        loss.backward()
        t2 = now()
        value = loss.item() if want_loss else None
        del loss
        for p in self.params:
            p.grad = None
        t3 = now()
        cpu = time.process_time() - cpu0
        minflt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - flt0
        return {"step_s": t3 - t0, "forward_s": t1 - t0, "backward_s": t2 - t1, "zero_grad_s": t3 - t2,
                "cpu_s": cpu, "minflt": minflt, "loss": value}

    def nograd_forward(self):
        with torch.no_grad():
            t0 = now()
            causal_lm_loss(self.model(self.ids), self.ids)
            return now() - t0


class Generator:
    def __init__(self, d):
        self.model = load_model(d)
        self.model.eval()
        self.prompt = load_safetensors(os.path.join(d, "prompt.safetensors"))["input_ids"]

    def run(self, use_cache, new_tokens):
        t0 = now()
        out = generate_greedy(self.model, self.prompt, new_tokens, use_cache)
        s = now() - t0
        return {"s": s, "tokens": out[0, self.prompt.shape[1]:].tolist()}


def info():
    return {
        "side": "peer",
        "impl": "plain PyTorch nn.Module (bench/peer/llama.py)",
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
    }


def serve():
    """Line protocol for models.ts, which interleaves our steps with these (fair on a shared machine):
    'train DIR' | 'step' | 'step loss' | 'nograd' | 'gen DIR' | 'generate cache|nocache N' | 'info' | 'quit'.
    One JSON line answers each command."""
    trainer = generator = None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "train":
                trainer = Trainer(cmd[1])
                res = {"ok": True}
            elif cmd[0] == "step":
                res = trainer.step(want_loss=len(cmd) > 1 and cmd[1] == "loss")
            elif cmd[0] == "nograd":
                res = {"s": trainer.nograd_forward()}
            elif cmd[0] == "gen":
                trainer = None
                generator = Generator(cmd[1])
                res = {"ok": True}
            elif cmd[0] == "generate":
                res = generator.run(cmd[1] == "cache", int(cmd[2]))
            elif cmd[0] == "info":
                res = info()
            elif cmd[0] == "quit":
                break
            else:
                res = {"error": f"unknown command {cmd[0]}"}
        except Exception as e:  # noqa: BLE001 (reported to the caller)
            res = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


def main():
    args = sys.argv[1:]
    if args and args[0] == "--serve":
        serve()
        return
    if not args:
        sys.exit("usage: llama.py DIR [--warmup N] [--steps N]   |   llama.py --serve")
    d = args[0]
    warmup = int(args[args.index("--warmup") + 1]) if "--warmup" in args else 1
    steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 3
    tr = Trainer(d)
    b, t = tr.ids.shape
    log(f"fwd+bwd: batch {b}x{t}, {warmup} warm-up + {steps} timed steps, {torch.get_num_threads()} threads")
    runs = []
    loss = None
    for step in range(warmup + steps):
        r = tr.step(want_loss=step == 0)
        if step == 0:
            loss = r["loss"]
        if step >= warmup:
            runs.append(r)
        log(f"step {step}{' (warm-up)' if step < warmup else ''}: {r['step_s']:.3f} s (fwd {r['forward_s']:.3f}, bwd {r['backward_s']:.3f})")
    out = info()
    out["fwd_bwd"] = {"batch": b, "seq": t, "warmup": warmup, "steps": steps, "loss": loss}
    for k in ("step_s", "forward_s", "backward_s", "zero_grad_s", "cpu_s", "minflt"):
        xs = [r[k] for r in runs]
        out["fwd_bwd"][k] = {"median": median(xs), "runs": xs}
    out["fwd_bwd"]["nograd_forward_s"] = tr.nograd_forward()
    out["fwd_bwd"]["tokens_per_s"] = b * t / out["fwd_bwd"]["step_s"]["median"]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
