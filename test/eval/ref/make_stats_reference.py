#!/usr/bin/env python3
"""scipy references for the KS paths stats.json does not cover: unequal-size exact p-values far in
the tail, the asymptotic method (ks_2samp(method='asymp') = kstwo.sf(D, round(n1 n2 / (n1 + n2)))),
and kstwo.sf in the region Lethe computes exactly (2·smirnov, n·d² >= 2.2).
usage: /usr/bin/python3 test/eval/ref/make_stats_reference.py"""
import json, os
import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(7)
cases = []
for n1, n2, shift, method in [(30, 45, 0.9, 'exact'), (13, 7, 1.5, 'exact'), (300, 200, 0.3, 'asymp'), (2000, 1500, 0.12, 'asymp'), (500, 500, 0.25, 'asymp')]:
    a = rng.normal(0, 1, n1).tolist()
    b = rng.normal(shift, 1, n2).tolist()
    r = stats.ks_2samp(a, b, method=method)
    cases.append({'a': a, 'b': b, 'method': method, 'ks_stat': float(r.statistic), 'ks_pvalue': float(r.pvalue)})
kstwo = [{'n': n, 'd': d, 'sf': float(stats.kstwo.sf(d, n))} for n, d in [(150, 0.13), (1000, 0.06), (5000, 0.03), (200, 0.6), (50, 0.25)]]
json.dump({'note': f'scipy {scipy.__version__}', 'ks_2samp': cases, 'kstwo_sf': kstwo},
          open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stats_reference.json'), 'w'), indent=1)
print(cases[0]['ks_pvalue'], [c['ks_pvalue'] for c in cases], kstwo)
