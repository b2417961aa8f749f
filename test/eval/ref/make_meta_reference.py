#!/usr/bin/env python3
"""scikit-learn references for `lethe eval meta`: a metric's faithfulness is roc_auc_score(present, value)
with the value negated where higher is better for an unlearned model (then a lower value means the
knowledge is present). Values are rounded to one decimal so that ties occur.
Metrics without a direction: the AUC of |value − neutral| (neutral_pool).
usage: /usr/bin/python3 test/eval/ref/make_meta_reference.py"""
import json, os
import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(21)


def auc(values, present, higher_is_better):
    scores = [-v if higher_is_better else v for v in values]
    return float(roc_auc_score([1 if p else 0 for p in present], scores))


cases = []
for n_present, n_absent, shift, hib in [(2, 2, 1.0, False), (5, 3, 0.8, True), (7, 9, 0.3, False), (4, 4, 0.0, True), (12, 10, -0.5, False)]:
    present = [True] * n_present + [False] * n_absent
    values = [round(float(x), 1) for x in np.concatenate([rng.normal(shift, 1, n_present), rng.normal(0, 1, n_absent)])]
    order = rng.permutation(len(values))
    values = [values[i] for i in order]
    present = [present[i] for i in order]
    cases.append({'values': values, 'present': present, 'higher_is_better': hib, 'auc': auc(values, present, hib)})

# A pool of 6 models (3 present, 3 absent) with the summaries of real registered metrics: their
# directions as the registry declares them (the test checks that), the expected AUCs from sklearn.
present = [True, False, True, False, True, False]
pool = {
    'forget_Q_A_Prob': [0.9, 0.2, 0.7, 0.3, 0.25, 0.1],        # lower is better
    'int4_forget_Q_A_Prob': [0.5, 0.4, 0.5, 0.6, 0.2, 0.3],
    'exact_memorization': [0.8, 0.5, 0.5, 0.6, 0.9, 0.4],      # lower is better
    'forget_quality': [0.01, 0.9, 0.02, 0.5, 0.6, 0.8],        # higher is better
}
directions = {'forget_Q_A_Prob': False, 'exact_memorization': False, 'forget_quality': True}
expected = {k: auc(pool[k], present, directions[k]) for k in directions}
expected['int4_forget_Q_A_Prob'] = auc(pool['int4_forget_Q_A_Prob'], present, False)
# Metrics without a direction, read by their distance from a neutral value (either side): membership
# AUCs from 0.5, privleak from 0, the forget truth ratio from the same model's holdout_truth_ratio.
# The MIA AUCs of the absent models sit on both sides of 0.5 (0.2 reads as much as 0.8).
neutral_pool = {
    'mia_loss': [0.95, 0.55, 0.2, 0.15, 0.8, 0.45],
    'int4_mia_loss': [0.9, 0.5, 0.5, 0.6, 0.1, 0.5],
    'privleak': [-80.0, 12.0, 40.0, -5.0, -100.0, 50.0],
    'forget_truth_ratio': [0.3, 0.61, 0.5, 0.55, 0.9, 0.4],
    'holdout_truth_ratio': [0.6, 0.6, 0.6, 0.5, 0.6, 0.45],
    'int4_forget_truth_ratio': [0.35, 0.6, 0.5, 0.5, 0.8, 0.4],  # int4_holdout_truth_ratio missing: no robustness
}
neutral_of = {'mia_loss': 0.5, 'privleak': 0.0, 'forget_truth_ratio': 'holdout_truth_ratio'}


def knowledge_auc(name, prefix=''):
    n = neutral_of[name]
    values = neutral_pool[prefix + name]
    ref = [n] * len(values) if isinstance(n, float) else neutral_pool[prefix + n]
    return float(roc_auc_score([1 if p else 0 for p in present], [abs(v - r) for v, r in zip(values, ref)]))


neutral_expected = {k: knowledge_auc(k) for k in neutral_of}
neutral_expected['int4_mia_loss'] = knowledge_auc('mia_loss', 'int4_')
json.dump({'note': f'scikit-learn {sklearn.__version__}', 'cases': cases,
           'pool': {'present': present, 'summaries': pool, 'directions': directions, 'expected': expected},
           'neutral_pool': {'summaries': neutral_pool, 'expected': neutral_expected}},
          open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'meta_reference.json'), 'w'), indent=1)
print([c['auc'] for c in cases], expected, neutral_expected)
