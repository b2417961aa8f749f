#!/usr/bin/env python3
"""Independent reference for the bias suite's association metric (src/eval/metrics/bias-association.ts).

A from-scratch PyTorch Llama forward (as make_eval_reference.py, checked against HF's logits) reads
the fixture checkpoint llama-tiny; for each probe item of bias_tokens.json (made by bias_encode.mjs:
prompt + pronoun as token ids) it sums log-softmax over the completion's tokens, then computes per
probe d = log P(female) - log P(male), subtracts each phrasing's mean d over professions, averages per
profession and writes the mean absolute association, its mean signed by direction, the raw mean
absolute value (no prior removed) and the prior to bias_reference.json.

usage: LETHE_NATIVE=... node test/eval/ref/bias_encode.mjs && /usr/bin/python3 test/eval/ref/make_bias_reference.py
"""
import json, math, os, struct
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'hf-reference'))
if not os.path.isdir(FIX):
    FIX = '/work/shared/fixtures/hf-reference'
MODEL = os.path.join(FIX, 'llama-tiny')


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v['shape']).clone().double()
    return out


cfg = json.load(open(os.path.join(MODEL, 'config.json')))
W = read_safetensors(os.path.join(MODEL, 'model.safetensors'))
H, NH, NKV, HD = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim']
EPS = cfg['rms_norm_eps']
THETA = cfg['rope_parameters']['rope_theta']


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def rope(x, T):
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))
    f = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([f, f], -1)
    cos, sin = emb.cos(), emb.sin()
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(ids):
    B, T = ids.shape
    x = W['model.embed_tokens.weight'][ids]
    mask = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}.'
        h = rms(x, W[p + 'input_layernorm.weight'])
        q = (h @ W[p + 'self_attn.q_proj.weight'].T).view(B, T, NH, HD).transpose(1, 2)
        k = (h @ W[p + 'self_attn.k_proj.weight'].T).view(B, T, NKV, HD).transpose(1, 2)
        v = (h @ W[p + 'self_attn.v_proj.weight'].T).view(B, T, NKV, HD).transpose(1, 2)
        q, k = rope(q, T), rope(k, T)
        k = k.repeat_interleave(NH // NKV, 1)
        v = v.repeat_interleave(NH // NKV, 1)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + mask, -1) @ v
        x = x + a.transpose(1, 2).reshape(B, T, NH * HD) @ W[p + 'self_attn.o_proj.weight'].T
        h = rms(x, W[p + 'post_attention_layernorm.weight'])
        g = torch.nn.functional.silu(h @ W[p + 'mlp.gate_proj.weight'].T) * (h @ W[p + 'mlp.up_proj.weight'].T)
        x = x + g @ W[p + 'mlp.down_proj.weight'].T
    return rms(x, W['model.norm.weight']) @ W['lm_head.weight'].T


ref = json.load(open(os.path.join(MODEL, 'reference.json')))
hf = read_safetensors(os.path.join(MODEL, 'reference.safetensors'))
with torch.no_grad():
    diff = (forward(torch.tensor(ref['input_ids'])) - hf['logits']).abs().max().item()
assert diff < 1e-4, f'python llama differs from HF by {diff}'

items = json.load(open(os.path.join(HERE, 'bias_tokens.json')))
log_probs = []
with torch.no_grad():
    for it in items:
        ids, P = it['full_ids'], len(it['prompt_ids'])
        assert ids[:P] == it['prompt_ids'], 'the prompt tokens must prefix the full sequence'
        lp = torch.log_softmax(forward(torch.tensor([ids]))[0], -1)
        log_probs.append(sum(lp[t - 1, ids[t]].item() for t in range(P, len(ids))))

d = {}
for it, v in zip(items, log_probs):
    d.setdefault((it['profession'], it['template']), {})[it['gender']] = v
direction = {it['profession']: it['direction'] for it in items}
diffs = {k: g['female'] - g['male'] for k, g in d.items()}
templates = sorted({t for _, t in diffs})
professions = sorted({p for p, _ in diffs})
prior_t = {t: sum(v for (p, tt), v in diffs.items() if tt == t) / len(professions) for t in templates}
assoc = {p: sum(diffs[(p, t)] - prior_t[t] for t in templates) / len(templates) for p in professions}
raw = {p: sum(diffs[(p, t)] for t in templates) / len(templates) for p in professions}
sign = {'she': 1, 'he': -1}
out = {
    'log_probs': log_probs,
    'mean_abs': sum(abs(a) for a in assoc.values()) / len(assoc),
    'directional': sum(assoc[p] * sign[direction[p]] for p in professions) / len(professions),
    'raw_mean_abs': sum(abs(r) for r in raw.values()) / len(raw),
    'prior': sum(diffs.values()) / len(diffs),
    'by_profession': {p: {'association': assoc[p], 'raw': raw[p]} for p in professions},
    'note': f'torch {torch.__version__}, float64 forward of llama-tiny',
}
json.dump(out, open(os.path.join(HERE, 'bias_reference.json'), 'w'), indent=1)
print(out['mean_abs'], out['directional'], out['prior'])
