#!/usr/bin/env python3
"""scikit-learn references for the linear probe (src/eval/probe.ts): LogisticRegression (L2, lbfgs,
an unpenalised intercept) on seeded random data: a noisy case, a strongly regularised one, a wide
one (more features than rows, as hidden states of a few records are) and a separable one.
usage: /usr/bin/python3 test/eval/ref/make_probe_reference.py"""
import json, os
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(5)
cases = []
for name, n, d, C, scale in [('noisy', 120, 8, 1.0, 0.6), ('regularised', 80, 12, 0.05, 1.0), ('wide', 40, 64, 1.0, 1.0), ('separable', 60, 5, 1.0, 6.0)]:
    X = rng.normal(0, 1, (n, d))
    w_true = rng.normal(0, 1, d)
    y = (X @ w_true * scale + rng.normal(0, 1, n) > 0).astype(int)
    m = LogisticRegression(C=C, tol=1e-12, max_iter=100000).fit(X, y)
    # lbfgs stops on scipy's relative-reduction test (~1e-5 from the optimum here): a few Newton steps
    # on the same objective (½‖w‖² + C Σ log(1 + e^(−y'z)), intercept unpenalised) polish it, and
    # scikit-learn's own predict_proba is then taken at the polished optimum.
    theta = np.concatenate([m.coef_[0], m.intercept_])
    Xb = np.hstack([X, np.ones((n, 1))])
    ys = 2 * y - 1
    for _ in range(30):
        p = 1 / (1 + np.exp(ys * (Xb @ theta)))  # sigma(-y'z)
        g = np.concatenate([theta[:-1], [0.0]]) - C * Xb.T @ (ys * p)
        W = p * (1 - p)
        H = np.diag(np.concatenate([np.ones(d), [0.0]])) + C * (Xb.T * W) @ Xb
        theta = theta - np.linalg.solve(H, g)
    moved = float(np.abs(theta - np.concatenate([m.coef_[0], m.intercept_])).max())
    m.coef_[0], m.intercept_[0] = theta[:-1], theta[-1]
    cases.append({'name': name, 'C': C, 'X': X.tolist(), 'y': y.tolist(), 'coef': m.coef_[0].tolist(),
                  'intercept': float(m.intercept_[0]), 'proba': m.predict_proba(X)[:, 1].tolist(),
                  'newton_moved_lbfgs_by': moved, 'gradient_max': float(np.abs(g).max())})
json.dump({'note': f'scikit-learn {sklearn.__version__}', 'cases': cases},
          open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'probe_reference.json'), 'w'))
print([(c['name'], round(c['intercept'], 4)) for c in cases])
