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
import json, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
from lethe_ref import FIX, check_against_hf, llama_forward, load_folder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
cfg, W = load_folder(os.path.join(FIX, 'llama-tiny'), torch.float64)


def forward(ids):
    # RoPE frequencies in float64, as this reference was first written (the fixture stays as committed).
    return llama_forward(cfg, W, ids, rope_dtype=torch.float64)


check_against_hf('llama-tiny', lambda ids, mask: forward(ids), 1e-4)

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
