#!/usr/bin/env python3
"""SAM reference (Foret et al. 2021) on the llama-tiny fixture, float64 plain PyTorch
(test/ref/lethe_ref.py): the mean next-token NLL of a fixed batch at the weights w, its gradient g,
the ascent point w + rho * g / ||g|| (||g|| over every parameter), and the gradient there, which is
what a SAM step hands to the optimizer. Two parameters' SAM gradients are kept.
usage: /usr/bin/python3 test/train/ref/make_sam_reference.py"""
import json, os, sys
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
import lethe_ref

cfg, W = lethe_ref.load_folder(os.path.join(lethe_ref.FIX, 'llama-tiny'))
names = sorted(W)
params = {k: W[k].to(torch.float64).clone().requires_grad_(True) for k in names}
ids = torch.randint(0, cfg['vocab_size'], (2, 9), generator=torch.Generator().manual_seed(3))
rho = 0.05

def loss_at(P):
    logits = lethe_ref.llama_forward(cfg, P, ids)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))

loss = loss_at(params)
grads = torch.autograd.grad(loss, [params[k] for k in names])
norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
ascended = {k: (params[k] + rho * g / norm).detach().requires_grad_(True) for k, g in zip(names, grads)}
sam_loss = loss_at(ascended)
sam_grads = dict(zip(names, torch.autograd.grad(sam_loss, [ascended[k] for k in names])))
keep = ['model.layers.0.self_attn.q_proj.weight', 'model.norm.weight']
json.dump({'note': f'torch {torch.__version__}, float64', 'ids': ids.tolist(), 'rho': rho, 'loss': float(loss),
           'grad_norm': float(norm), 'sam_loss': float(sam_loss),
           'sam_grads': {k: sam_grads[k].tolist() for k in keep}},
          open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sam_reference.json'), 'w'))
print(float(loss), float(norm), float(sam_loss))
