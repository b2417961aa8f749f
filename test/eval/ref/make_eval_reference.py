#!/usr/bin/env python3
"""Independent reference values for Lethe's evaluation metrics, made with PyTorch, scipy and sklearn.

A from-scratch PyTorch Llama forward (no transformers here) reads the fixture checkpoint
../shared/fixtures/hf-reference/llama-tiny and is first checked against the logits HF transformers
saved in reference.safetensors. Then, on fixed token-id QA items (prompt, true / paraphrased /
perturbed answers, EOS appended as TOFU's collator does), it computes what open-unlearning's
src/evals/metrics compute: prob and avg_loss, truth ratio, exact memorization, extraction strength,
Min-K% / Min-K%++ (k=0.4), LOSS, zlib, gradient norm (p=2), their ROC AUCs (sklearn), the KS p-value
(scipy), and fake-quantized (int8 per row, int4 per group of 32) logits.

usage: python3 test/eval/ref/make_eval_reference.py  (writes test/eval/ref/eval_reference.json)
"""
import json, math, os, sys, zlib
import numpy as np
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
from lethe_ref import FIX, check_against_hf, llama_forward, load_folder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
cfg, W = load_folder(os.path.join(FIX, 'llama-tiny'))
for t in W.values():
    t.requires_grad_(True)
EOS = cfg['eos_token_id']


def forward(ids, w=W):
    # float32 like the model under test (gradient norms included).
    return llama_forward(cfg, w, ids, dtype=torch.float32)


# 1. Our forward equals HF's on the fixture input.
diff, _ = check_against_hf('llama-tiny', lambda ids, mask: forward(ids), 1e-4)
ref = json.load(open(os.path.join(FIX, 'llama-tiny', 'reference.json')))

# 2. QA items as token ids (seeded), EOS appended to every answer.
g = torch.Generator().manual_seed(1234)


def rand_ids(n):
    return torch.randint(3, cfg['vocab_size'], (n,), generator=g).tolist()


def item():
    q = rand_ids(int(torch.randint(4, 9, (1,), generator=g)))
    ans = lambda: rand_ids(int(torch.randint(3, 10, (1,), generator=g))) + [EOS]
    return {'prompt': q, 'answer': ans(), 'para': ans(), 'pert': [ans() for _ in range(3)]}


forget = [item() for _ in range(7)]
holdout = [item() for _ in range(6)]
# One forget answer is the model's own greedy continuation, so extraction strength / exact memorization reach 1.
with torch.no_grad():
    seq = list(forget[0]['prompt'])
    for _ in range(6):
        seq.append(int(forward(torch.tensor([seq]))[0, -1].argmax()))
forget[0]['answer'] = seq[len(forget[0]['prompt']):]  # no EOS: a sequence scored whole
forget[0]['no_eos'] = True


def seq_stats(prompt, answer, eos, grad=False):
    ids = torch.tensor([prompt + answer])
    logits = forward(ids)[0]
    lp = torch.log_softmax(logits[:-1], -1)
    nxt = ids[0, 1:]
    P = len(prompt)
    pos = torch.arange(P - 1, ids.shape[1] - 1)
    tok = lp[pos, nxt[pos]]
    avg_loss = -tok.mean()
    tw = slice(0, len(answer) - 1) if eos else slice(0, len(answer))  # token-wise: EOS prediction left out
    out = {'avg_loss': avg_loss.item(), 'prob': math.exp(-avg_loss.item())}
    vlp = lp[pos][tw]
    t = tok[tw]
    preds = vlp.argmax(-1)
    labels = nxt[pos][tw]
    hits = (preds == labels)
    n = len(labels)
    out['em'] = hits.float().mean().item() if n else None
    k = 0
    while k < n:
        if torch.equal(preds[k:], labels[k:]):
            break
        k += 1
    if k == n:
        k = n - 1
    out['es'] = 1 - k / n
    kk = max(1, int(n * 0.4))
    out['min_k'] = -float(np.mean(np.sort(t.detach().numpy())[:kk]))
    mu = (vlp.exp() * vlp).sum(-1)
    sigma = ((vlp.exp() * vlp.square()).sum(-1) - mu.square()).clamp(min=1e-6)
    s = ((t - mu) / sigma.sqrt()).detach().numpy()
    out['min_k_pp'] = -float(np.mean(sorted(s)[:kk]))
    if grad:
        loss = -t.mean()
        gs = torch.autograd.grad(loss, list(W.values()), allow_unused=True)
        norms = [x.norm(p=2) for x in gs if x is not None]
        out['gradnorm'] = torch.stack(norms).mean().item()
    return out


def text_of(ids):
    return ' '.join(str(i) for i in ids)  # the "text" zlib compresses: the ids written out


def evaluate(items):
    rows = []
    for it in items:
        eos = not it.get('no_eos')
        t = seq_stats(it['prompt'], it['answer'], eos, grad=True)
        with torch.no_grad():
            pa = seq_stats(it['prompt'], it['para'], True)
            pe = [seq_stats(it['prompt'], p, True) for p in it['pert']]
        wrong = math.exp(-np.mean([p['avg_loss'] for p in pe]))
        correct = math.exp(-pa['avg_loss'])
        rows.append({
            **t, 'para_prob': pa['prob'], 'pert_prob': [p['prob'] for p in pe],
            'truth_ratio': wrong / (correct + 1e-10), 'truth_ratio_prob_mean': correct / (correct + wrong + 1e-10),
            'zlib': t['avg_loss'] / len(zlib.compress(text_of(it['answer']).encode('utf-8'))),
            'text': text_of(it['answer']),
        })
    return rows


F = evaluate(forget)
Hd = evaluate(holdout)
labels = [0] * len(F) + [1] * len(Hd)
auc = {name: float(roc_auc_score(labels, [r[key] for r in F + Hd])) for name, key in
       [('mia_loss', 'avg_loss'), ('mia_zlib', 'zlib'), ('mia_min_k', 'min_k'), ('mia_min_k_plus_plus', 'min_k_pp'), ('mia_gradnorm', 'gradnorm')]}
tr_f = [r['truth_ratio'] for r in F]
tr_h = [r['truth_ratio'] for r in Hd]
ks = stats.ks_2samp(tr_f, tr_h)
agg = {
    'forget_truth_ratio_closer_to_1_better': float(np.mean(np.minimum(tr_f, 1 / (np.array(tr_f) + 1e-10)))),
    'truth_ratio_true_better': float(np.mean(np.maximum(0, 1 - np.array(tr_f)))),
    'hmean': float(stats.hmean([0.2, 0.5, 0.9, 0.35])),
}


# 3. Fake quantization of every linear weight but lm_head, then the logits of the fixture input's row 0.
def fq(w, mode):
    if mode == 'int8':
        s = (w.abs().amax(-1, keepdim=True) / 127).clamp(min=1e-12)
        return (w / s).round().clamp(-127, 127) * s
    o, i = w.shape
    gw = w.reshape(o, i // 32, 32)
    s = (gw.abs().amax(-1, keepdim=True) / 7).clamp(min=1e-12)
    return ((gw / s).round().clamp(-8, 7) * s).reshape(o, i)


quant = {}
with torch.no_grad():
    for mode in ['int8', 'int4']:
        Q = {k: (fq(v, mode) if v.ndim == 2 and k.endswith('_proj.weight') else v) for k, v in W.items()}
        quant[mode] = {'logits_row0_pos_last': forward(torch.tensor(ref['input_ids'][:1]), Q)[0, -1].tolist(),
                       'q_proj0_abs_sum': Q['model.layers.0.self_attn.q_proj.weight'].abs().sum().item()}

strip = lambda it: {k: v for k, v in it.items()}
json.dump({
    'note': 'made by test/eval/ref/make_eval_reference.py (PyTorch %s, scipy, sklearn); model llama-tiny; EOS id %d appended to answers except forget[0]' % (torch.__version__, EOS),
    'python_vs_hf_logits_max_diff': diff,
    'forget_items': [strip(i) for i in forget], 'holdout_items': [strip(i) for i in holdout],
    'forget': F, 'holdout': Hd, 'auc': auc, 'ks': {'statistic': float(ks.statistic), 'pvalue': float(ks.pvalue)},
    'aggregates': agg, 'quant': quant,
}, open(os.path.join(HERE, 'eval_reference.json'), 'w'), indent=1)
print('wrote eval_reference.json; python vs HF logits', diff, 'auc', auc, 'ks', ks)
