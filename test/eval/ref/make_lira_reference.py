#!/usr/bin/env python3
"""scipy references for LiRA's statistics (src/eval/lira.ts, src/eval/stats.ts normLogPdf/normLogSf):
per record the mean and standard deviation (ddof 1) of the IN and OUT shadow scores, per record or
one pooled sigma per side (the root of the mean per-record variance); the online statistic
norm.logpdf(x, mu_in, sd_in) - norm.logpdf(x, mu_out, sd_out) and the offline one-sided p-value
norm.sf(x, mu_out, sd_out * sqrt(1 + 1 / n_out)) (and logsf; the predictive spread of a new OUT score); LiRA's score logit(exp(-loss)); norm.logsf far in both tails.
usage: /usr/bin/python3 test/eval/ref/make_lira_reference.py"""
import json, os
import numpy as np
import scipy
from scipy import stats, special

rng = np.random.default_rng(11)
cases = []
for name, records, shadows, variance in [('per-record', 12, 16, 'record'), ('pooled', 10, 6, 'global'), ('odd', 7, 5, 'record'), ('metric', 12, 6, 'global')]:
    losses = rng.uniform(0.05, 4.0, (records, shadows))
    member = np.zeros((records, shadows), dtype=bool)
    for r in range(records):
        member[r, rng.permutation(shadows)[: shadows // 2]] = True
    if name == 'metric':  # records of their own difficulty, shadows that agree more
        losses = rng.uniform(1.5, 3.0, (records, 1)) * rng.normal(1, 0.08, (records, shadows))
    losses[member] *= 0.6  # shadows that trained on a record have a lower loss on it
    scores = special.logit(np.exp(-losses))
    target_loss = rng.uniform(0.02, 4.0, records)
    if name == 'metric':  # the first half scored like a model that trained on them, to various degrees
        target_loss[:6] = np.array([losses[r, member[r]].mean() for r in range(6)]) * np.array([0.6, 0.9, 1.0, 1.25, 1.24, 1.7])
        target_loss[6:] = np.array([losses[r, ~member[r]].mean() for r in range(6, 12)]) * rng.uniform(0.9, 1.1, 6)
    x = special.logit(np.exp(-target_loss))
    ins = [scores[r, member[r]] for r in range(records)]
    outs = [scores[r, ~member[r]] for r in range(records)]
    mu_in = np.array([a.mean() for a in ins]); mu_out = np.array([a.mean() for a in outs])
    if variance == 'record':
        sd_in = np.array([a.std(ddof=1) for a in ins]); sd_out = np.array([a.std(ddof=1) for a in outs])
    else:
        sd_in = np.full(records, np.sqrt(np.mean([a.var(ddof=1) for a in ins])))
        sd_out = np.full(records, np.sqrt(np.mean([a.var(ddof=1) for a in outs])))
    n_out = np.array([len(a) for a in outs])
    sd_pred = sd_out * np.sqrt(1 + 1 / n_out)
    cases.append({'name': name, 'variance': variance, 'losses': losses.tolist(), 'member': member.tolist(),
                  'scores': scores.tolist(), 'target_loss': target_loss.tolist(), 'target_score': x.tolist(),
                  'mu_in': mu_in.tolist(), 'sd_in': sd_in.tolist(), 'mu_out': mu_out.tolist(), 'sd_out': sd_out.tolist(),
                  'lambda': (stats.norm.logpdf(x, mu_in, sd_in) - stats.norm.logpdf(x, mu_out, sd_out)).tolist(),
                  'p_offline': stats.norm.sf(x, mu_out, sd_pred).tolist(),
                  'logp_offline': stats.norm.logsf(x, mu_out, sd_pred).tolist()})
zs = [-30.0, -8.0, -3.0, -1.2, -0.1, 0.0, 0.3, 1.0, 2.0, 3.52, 3.55, 5.0, 8.0, 12.5, 20.0, 37.0, 40.0, 60.0]
tail = [{'x': z * 1.7 + 0.4, 'mu': 0.4, 'sd': 1.7, 'logsf': float(stats.norm.logsf(z * 1.7 + 0.4, 0.4, 1.7)),
         'logpdf': float(stats.norm.logpdf(z * 1.7 + 0.4, 0.4, 1.7))} for z in zs]
# mia_lira and mia_lira_identified on the 'metric' case: records 0-5 are the forget set, 6-11 the
# holdout set; AUC as open-unlearning's MIAs (forget labelled 0, score = -lambda, higher = unseen).
from sklearn.metrics import roc_auc_score
m = cases[-1]
lam, logp = np.array(m['lambda']), np.array(m['logp_offline'])
cut = np.log(0.05 / 6)
metric = {'forget': list(range(6)), 'holdout': list(range(6, 12)),
          'auc': float(roc_auc_score([0] * 6 + [1] * 6, -lam)),
          'auc_offline': float(roc_auc_score([0] * 6 + [1] * 6, logp)),
          'identified': int((logp[:6] < cut).sum()), 'holdout_identified': int((logp[6:] < cut).sum()),
          'identified_without_bonferroni': int((logp[:6] < np.log(0.05)).sum())}
json.dump({'note': f'scipy {scipy.__version__}', 'cases': cases, 'tail': tail, 'metric': metric},
          open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lira_reference.json'), 'w'), indent=1)
print(metric, [(c['name'], round(c['lambda'][0], 4), c['p_offline'][0]) for c in cases], tail[-1])
