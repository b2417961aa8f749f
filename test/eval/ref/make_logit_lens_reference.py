#!/usr/bin/env python3
"""Logit-lens reference: for each HF fixture and a few token sequences (different lengths, so the
TypeScript side batches and pads them), the mean log-probability of the scored tokens (from
promptLength on) read from every layer: the residual stream entering decoder layer l through the
final norm and the LM head, then the model's own logits. Float64 plain-PyTorch forwards
(test/ref/lethe_ref.py), one sequence at a time (no padding).
usage: /usr/bin/python3 test/eval/ref/make_logit_lens_reference.py"""
import json, os, sys
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
import lethe_ref

gen = torch.Generator().manual_seed(11)
out = {'note': f'torch {torch.__version__}, float64', 'models': {}}
for name in ['llama-tiny', 'llama-tied-tiny', 'gpt2-tiny']:
    cfg, W = lethe_ref.load_folder(os.path.join(lethe_ref.FIX, name))
    P = {k: v.to(torch.float64) for k, v in W.items()}
    gpt2 = cfg['model_type'] == 'gpt2'
    V = cfg['vocab_size']

    def lens(h):
        if gpt2:
            x = F.layer_norm(h, [h.shape[-1]], P['transformer.ln_f.weight'], P['transformer.ln_f.bias'], cfg.get('layer_norm_epsilon', 1e-5))
            return x @ P['transformer.wte.weight'].T
        x = P['model.norm.weight'] * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + cfg.get('rms_norm_eps', 1e-6)))
        head = P['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings', False) else P['lm_head.weight']
        return x @ head.T

    seqs = []
    for length, prompt in [(9, 4), (5, 2), (14, 6), (7, 1), (12, 9)]:
        ids = torch.randint(0, V, (1, length), generator=gen)
        states = []
        logits = lethe_ref.forward(cfg, W, ids, states=states)
        per_layer = []
        for l in [lens(s) for s in states] + [logits]:
            lp = torch.log_softmax(l[0, :-1], -1).gather(1, ids[0, 1:, None])[:, 0]  # [T-1]: token j+1 given ..j
            per_layer.append(float(lp[prompt - 1:].mean()))
        seqs.append({'ids': ids[0].tolist(), 'promptLength': prompt, 'lens': per_layer})
    out['models'][name] = seqs
json.dump(out, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logit_lens_reference.json'), 'w'), indent=1)
print({k: [round(x, 4) for x in v[0]['lens']] for k, v in out['models'].items()})
