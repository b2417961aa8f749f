#!/usr/bin/env python3
"""sklearn/numpy references for the recipe search's criterion (src/eval/search-criterion.ts): per-token
answer log-probs of forget and holdout rows (an appended EOS last, left out of Min-K% as
open-unlearning's tokenwise scores do), the LOSS attack (mean NLL over every token) and Min-K%
(k = 0.4: mean of the lowest max(1, floor(0.4 n)) log-probs, negated) AUCs by roc_auc_score with
forget = 0 and holdout = 1, the mean answer probabilities exp(-mean NLL) and |ln(P_f / P_h)|.
Cases include ties and rows of 1-3 tokens.
usage: /usr/bin/python3 test/eval/ref/make_search_criterion_reference.py"""
import json, os
import numpy as np
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(20)
K = 0.4


def row(n, shift):
    lp = -rng.gamma(1.5, 1.0, n) - shift
    return [float(round(v, 3)) for v in lp]  # rounded: some ties between rows


def min_k(lp):
    toks = np.sort(np.array(lp[:-1]))  # the EOS is left out
    m = max(1, int(np.floor(len(toks) * K)))
    return float(toks[:m].mean())


cases = []
for name, nf, nh, fshift, hshift in [('members', 12, 10, 0.0, 1.0), ('over-forgotten', 9, 11, 1.5, 0.5), ('alike', 10, 10, 0.5, 0.5)]:
    forget = [row(int(rng.integers(2, 9)), fshift) for _ in range(nf)]
    holdout = [row(int(rng.integers(2, 9)), hshift) for _ in range(nh)]
    if name == 'alike':
        holdout[0] = list(forget[0])  # an exact tie between a forget and a holdout row
    rows = forget + holdout
    labels = [0] * nf + [1] * nh
    loss = [-float(np.mean(r)) for r in rows]
    mink = [-min_k(r) for r in rows]
    pf = float(np.mean([np.exp(-l) for l in loss[:nf]]))
    ph = float(np.mean([np.exp(-l) for l in loss[nf:]]))
    cases.append({
        'name': name, 'forget': forget, 'holdout': holdout,
        'min_k': [min_k(r) for r in rows],
        'auc_loss': float(roc_auc_score(labels, loss)), 'auc_mink': float(roc_auc_score(labels, mink)),
        'forget_prob': pf, 'holdout_prob': ph, 'prob_ratio': abs(float(np.log(pf / ph))),
    })

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'search_criterion_reference.json')
with open(out, 'w') as f:
    json.dump({'k': K, 'cases': cases}, f, indent=1)
print(out, [(c['name'], round(c['auc_loss'], 3), round(c['auc_mink'], 3)) for c in cases])
