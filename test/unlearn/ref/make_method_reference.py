#!/usr/bin/env python3
"""Independent float64 reference for every registered unlearning method (test/unlearn/methods.test.ts).

Loads ../shared/fixtures/hf-reference/llama-tiny (HF's safetensors), runs a plain Llama forward written
here in PyTorch float64 (checked first against HF's own logits in reference.safetensors), builds fixed
forget / retain / alternate / IdK batches, and evaluates each method's loss as open-unlearning defines it
(src/trainer/unlearn/*.py, src/trainer/utils.py; configs/trainer/*.yaml for the defaults) -- with Lethe's
documented deviations spelled out per case -- plus d loss / d model.layers.0.self_attn.q_proj.weight.

The model being unlearned is the fixture with two weights scaled (PERTURB), so that it differs from the
frozen reference (the unscaled fixture): log-ratios, KL, UNDIAL's teacher and RMU's EMBED_DIFF are then
not trivially zero. The scaled head makes the distributions peaked, and the forget answers start with
the scaled model's greedy tokens, so the probability-weighted losses (WGA, SatImp, SimNPO) see
probabilities from ~0.002 to ~0.5 instead of ~1/512 everywhere.

Writes methods_reference.json (batches, cases, losses, parts, states) and methods_reference.safetensors
(float32 gradients, "grad.<case>"). Run: /usr/bin/python3 test/unlearn/ref/make_method_reference.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
from lethe_ref import FIX, check_against_hf, llama_forward, load_st, save_st  # noqa: E402

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.environ.get('LETHE_LLAMA_TINY', os.path.join(FIX, 'llama-tiny'))
GRAD_PARAM = 'model.layers.0.self_attn.q_proj.weight'
PERTURB = {'model.layers.0.mlp.down_proj.weight': 1.5, 'lm_head.weight': 3.0}
PAD = 0


# ---------------------------------------------------------------- the Llama forward, float64
CFG = json.load(open(os.path.join(FIXTURE, 'config.json')))


def read_safetensors(path):
    return load_st(path, torch.float64)


def write_safetensors(path, tensors):
    save_st(path, {name: t.detach().to(torch.float32) for name, t in tensors.items()})


def forward(W, ids, mask, capture_layer=None):
    """Logits [B, T, V]; with capture_layer, also the output of that decoder layer. RoPE frequencies in
    float64, as this reference was first written (the fixtures stay as committed)."""
    return llama_forward(CFG, W, ids, mask=mask, rope_dtype=torch.float64, capture_layer=capture_layer)


def check_forward(W):
    check_against_hf('llama-tiny', lambda ids, mask: forward(W, ids, mask), 1e-4, masked=True)


# ---------------------------------------------------------------- batches
def batch(rows):
    """rows: (prompt ids, answer ids) → right-padded ids, labels (-100 on prompt and padding), mask."""
    T = max(len(p) + len(a) for p, a in rows)
    ids, labels, mask = [], [], []
    for p, a in rows:
        n = len(p) + len(a)
        ids.append(p + a + [PAD] * (T - n))
        labels.append([-100] * len(p) + a + [-100] * (T - n))
        mask.append([1] * n + [0] * (T - n))
    return {'ids': ids, 'labels': labels, 'attention_mask': mask}


PROMPTS = [[1, 37, 235, 396], [1, 390, 281], [1, 12, 99, 150, 7]]
BATCHES = {
    # the last forget row is a {"text"} row: no prompt, every token labelled (labels = ids); the
    # methods that need alternate answers get a short question there instead
    'forget': batch([(PROMPTS[0], [54, 54, 54, 54, 54, 2]), (PROMPTS[1], [108, 325, 423, 2]), (PROMPTS[2], [162, 162, 475]), ([], [1, 54, 54, 300, 54])]),
    'retain': batch([([1, 40, 41], [42, 43, 44, 45, 46, 2]), ([1, 201, 202, 203, 204], [205, 2]), ([1, 410], [411, 412, 413, 2])]),
    'alternate': batch([(PROMPTS[0], [72, 81, 90, 2]), (PROMPTS[1], [178, 500, 501, 502, 503, 504, 2]), (PROMPTS[2], [310, 2]), ([1, 54], [77, 78, 2])]),
    'idk': batch([(PROMPTS[0], [11, 22, 33, 44, 2]), (PROMPTS[1], [11, 22, 55, 2]), (PROMPTS[2], [66, 77, 88, 99, 101, 2]), ([1, 54], [11, 2])]),
}


def tensors(b):
    return torch.tensor(b['ids']), torch.tensor(b['labels']), torch.tensor(b['attention_mask'])


# ---------------------------------------------------------------- shared formulas
def shifted(logits, labels):
    return logits[:, :-1], labels[:, 1:]


def token_ce(logits, labels):
    """Per next-token cross-entropy [B, T-1] (0 where ignored) and the mask of counted labels."""
    lg, lb = shifted(logits, labels)
    m = lb != -100
    ce = F.cross_entropy(lg.transpose(1, 2), lb, ignore_index=-100, reduction='none')
    return ce, m


def mean_nll(logits, labels):  # HF's model(...).loss
    lg, lb = shifted(logits, labels)
    return F.cross_entropy(lg.reshape(-1, lg.shape[-1]), lb.reshape(-1), ignore_index=-100)


def seq_loglik(logits, labels):  # open-unlearning's -compute_batch_nll
    ce, _ = token_ce(logits, labels)
    return -ce.sum(1)


def kl_to_reference(logits, ref_logits, mask):
    """KL(reference ‖ model) per position, mean over real (attention-mask) positions (Lethe's retain KL)."""
    lr, lp = F.log_softmax(ref_logits, -1), F.log_softmax(logits, -1)
    per = (lr.exp() * (lr - lp)).sum(-1)
    return (per * mask).sum() / mask.sum()


def dpo(win_log_ratio, lose_log_ratio, beta):
    return -2.0 / beta * F.logsigmoid(beta * (win_log_ratio - lose_log_ratio)).mean()


def activation_loss(a, b, mask):
    """open-unlearning RMU compute_activation_loss: masked MSE, mean over d, sum over tokens / tokens, mean over rows."""
    sq = (a - b) ** 2 * mask[..., None]
    return (sq.mean(2).sum(1) / mask.sum(1)).mean()


# ---------------------------------------------------------------- methods
class Ctx:
    def __init__(self, W, Wref):
        self.W, self.Wref = W, Wref
        self.b = {k: tensors(v) for k, v in BATCHES.items()}

    def logits(self, name, ref=False):
        ids, _, mask = self.b[name]
        if ref:
            with torch.no_grad():
                return forward(self.Wref, ids, mask)
        return forward(self.W, ids, mask)

    def labels(self, name):
        return self.b[name][1]

    def ref_loglik(self, name):
        return seq_loglik(self.logits(name, ref=True), self.labels(name))

    def retain(self, kind):
        if kind == 'NLL':
            return mean_nll(self.logits('retain'), self.labels('retain'))
        return kl_to_reference(self.logits('retain'), self.logits('retain', ref=True), self.b['retain'][2].double())


def two_terms(a, forget, retain):
    return a['gamma'] * forget + a['alpha'] * retain, {'forget': forget.item(), 'retain': retain.item()}


def grad_ascent(c, a):
    nll = mean_nll(c.logits('forget'), c.labels('forget'))
    return -nll, {'forget_nll': nll.item()}


def grad_diff(c, a):
    return two_terms(a, -mean_nll(c.logits('forget'), c.labels('forget')), c.retain(a['retain_loss_type']))


def npo(c, a):
    lose = seq_loglik(c.logits('forget'), c.labels('forget')) - c.ref_loglik('forget')
    return two_terms(a, dpo(0.0, lose, a['beta']), c.retain(a['retain_loss_type']))


def simnpo(c, a):
    labels = c.labels('forget')
    norm = -seq_loglik(c.logits('forget'), labels) / (labels != -100).sum(-1) - a['delta']
    return two_terms(a, -F.logsigmoid(a['beta'] * norm).mean() * 2 / a['beta'], c.retain(a['retain_loss_type']))


def dpo_with(alt):
    def run(c, a):
        win = seq_loglik(c.logits(alt), c.labels(alt)) - c.ref_loglik(alt)
        lose = seq_loglik(c.logits('forget'), c.labels('forget')) - c.ref_loglik('forget')
        return two_terms(a, dpo(win, lose, a['beta']), c.retain(a['retain_loss_type']))
    return run


def idk_nll(c, a):
    return two_terms(a, mean_nll(c.logits('idk'), c.labels('idk')), c.retain(a['retain_loss_type']))


def undial(c, a):
    """utils.compute_undial_loss, but over labelled positions only (the reference indexes the one-hot with
    label -100, i.e. vocabulary entry V-100, and averages over prompt and padding positions too)."""
    lg, lb = shifted(c.logits('forget'), c.labels('forget'))
    tg, _ = shifted(c.logits('forget', ref=True), c.labels('forget'))
    m = lb != -100
    onehot = F.one_hot(lb.clamp(min=0), lg.shape[-1]).double()
    soft = F.softmax(tg - onehot * a['beta'], -1)
    ce = -(soft * F.log_softmax(lg, -1)).sum(-1)
    forget = ce[m].mean()
    if a['alpha'] == 0:
        return a['gamma'] * forget, {'forget': forget.item()}
    return two_terms(a, forget, c.retain(a['retain_loss_type']))


def ceu(c, a):
    logits, labels = c.logits('forget'), c.labels('forget')
    valid = labels != -100
    drop = (valid.cumsum(-1) <= a['ignore_first_n_answer_tokens']) & valid
    lg, lb = shifted(logits, labels.masked_fill(drop, -100))
    m = lb != -100
    vl, vt = lg[m], lb[m]
    target = F.softmax(vl.detach().scatter(-1, vt[:, None], float('-inf')), -1)
    loss = -(target * F.log_softmax(vl, -1)).sum(-1).mean()
    return loss, {'forget': loss.item()}


def satimp(c, a):
    ce, m = token_ce(c.logits('forget'), c.labels('forget'))
    p = (-ce).exp().detach()
    forget = -((p ** a['beta1']) * ((1 - p) ** a['beta2']) * ce)[m].mean()
    return two_terms(a, forget, c.retain(a['retain_loss_type']))


def wga(c, a):
    ce, m = token_ce(c.logits('forget'), c.labels('forget'))
    forget = -(((-ce).exp().detach() ** a['beta']) * ce)[m].mean()
    return two_terms(a, forget, c.retain(a['retain_loss_type']))


def rmu(u):
    def run(c, a):
        l = a['layer']
        ids, labels, mask = c.b['forget']
        _, h = forward(c.W, ids, mask, capture_layer=l)
        forget = activation_loss(h, u.expand_as(h), (labels != -100).double())
        rids, rlabels, rmask = c.b['retain']
        _, hr = forward(c.W, rids, rmask, capture_layer=l)
        with torch.no_grad():
            _, href = forward(c.Wref, rids, rmask, capture_layer=l)
        retain = activation_loss(hr, href, (rlabels != -100).double())
        return two_terms(a, forget, retain)
    return run


def pdu(state_in, step, total):
    """pdu.py: forget = mean (max logit - mean logit)^2 (Lethe: over real positions, not padding);
    loss = gamma·forget + λ·(retain - ε); then λ ← max(0, λ + η·(retain - ε)) once past the warm-up."""
    def run(c, a):
        logits, mask = c.logits('forget'), c.b['forget'][2].bool()
        gap = (logits.max(-1).values - logits.mean(-1)) ** 2
        forget = gap[mask].mean()
        retain = c.retain(a['retain_loss_type'])
        lam = state_in.get('lambda', a['alpha'])
        eps = state_in.get('retain_loss_eps', a['retain_loss_eps'] if a['retain_loss_eps'] >= 0 else retain.item())
        shifted_retain = retain - eps
        loss = a['gamma'] * forget + lam * shifted_retain
        state = {'lambda': lam, 'retain_loss_eps': eps}
        if step >= a['dual_warmup'] * total:
            state['lambda'] = max(0.0, lam + a['dual_step_size'] * shifted_retain.item())
        return loss, {'forget': forget.item(), 'retain': retain.item(), 'lambda': lam}, state
    return run


FR = {'gamma': 1.0, 'alpha': 1.0, 'retain_loss_type': 'NLL'}
NONE = {'retain': 'none'}


def needs(retain, ref_model=False, ref_loglik=False, alternate=None):
    n = {'retain': retain, 'referenceModel': ref_model, 'referenceLogLik': ref_loglik}
    if alternate:
        n['alternate'] = alternate
    return n


def main():
    torch.manual_seed(0)
    ref_w = read_safetensors(os.path.join(FIXTURE, 'model.safetensors'))
    check_forward(ref_w)
    W = {k: (v * PERTURB[k] if k in PERTURB else v.clone()) for k, v in ref_w.items()}
    W[GRAD_PARAM].requires_grad_(True)
    c = Ctx(W, ref_w)

    g = torch.Generator().manual_seed(1234)
    r = torch.rand(CFG['hidden_size'], generator=g)
    rmu_defaults = {'gamma': 1.0, 'alpha': 1000.0, 'retain_loss_type': 'EMBED_DIFF', 'steering_coeff': 300.0, 'layer': -1}
    u = rmu_defaults['steering_coeff'] * r / r.norm()

    pdu_defaults = {**FR, 'retain_loss_eps': -1.0, 'dual_step_size': 1.0, 'dual_warmup': 0.5}
    # name, method, given args, the full resolved args the case expects, needs, loss, step/total, state in
    cases = [
        ('GradAscent', 'GradAscent', {}, {}, needs('none'), grad_ascent),
        ('GradDiff', 'GradDiff', {}, FR, needs('required'), grad_diff),
        ('GradDiff KL', 'GradDiff', {'retain_loss_type': 'KL'}, {**FR, 'retain_loss_type': 'KL'}, needs('required', ref_model=True), grad_diff),
        ('NPO', 'NPO', {'retain_loss_type': 'NLL', 'beta': 0.1}, {**FR, 'beta': 0.1}, needs('optional', ref_loglik=True), npo),
        ('NPO KL', 'NPO', {'retain_loss_type': 'KL', 'beta': 0.5}, {**FR, 'retain_loss_type': 'KL', 'beta': 0.5}, needs('optional', ref_model=True, ref_loglik=True), npo),
        ('SimNPO', 'SimNPO', {}, {**FR, 'gamma': 0.125, 'beta': 4.5, 'delta': 0.0}, needs('optional'), simnpo),
        ('SimNPO delta forget only', 'SimNPO', {'delta': 2.5, 'alpha': 0}, {**FR, 'alpha': 0.0, 'gamma': 0.125, 'beta': 4.5, 'delta': 2.5}, needs('optional'), simnpo),
        ('DPO', 'DPO', {}, {**FR, 'beta': 0.1}, needs('optional', ref_loglik=True, alternate='alternate'), dpo_with('alternate')),
        ('IdkDPO', 'IdkDPO', {}, {**FR, 'beta': 0.1}, needs('optional', ref_loglik=True, alternate='idk'), dpo_with('idk')),
        ('IdkNLL', 'IdkNLL', {}, FR, needs('optional', alternate='idk'), idk_nll),
        ('UNDIAL', 'UNDIAL', {}, {**FR, 'alpha': 0.0, 'beta': 10.0}, needs('none', ref_model=True), undial),
        ('UNDIAL retain', 'UNDIAL', {'alpha': 0.5, 'beta': 3.0}, {**FR, 'alpha': 0.5, 'beta': 3.0}, needs('optional', ref_model=True), undial),
        ('CEU', 'CEU', {}, {'ignore_first_n_answer_tokens': 1}, needs('none'), ceu),
        ('CEU n=2', 'CEU', {'ignore_first_n_answer_tokens': 2}, {'ignore_first_n_answer_tokens': 2}, needs('none'), ceu),
        ('SatImp', 'SatImp', {}, {**FR, 'gamma': 0.1, 'beta1': 5.0, 'beta2': 1.0}, needs('optional'), satimp),
        ('SatImp forget only', 'SatImp', {'alpha': 0, 'beta1': 2}, {**FR, 'alpha': 0.0, 'gamma': 0.1, 'beta1': 2.0, 'beta2': 1.0}, needs('optional'), satimp),
        ('WGA', 'WGA', {}, {**FR, 'beta': 1.0}, needs('optional'), wga),
        ('WGA forget only', 'WGA', {'alpha': 0}, {**FR, 'alpha': 0.0, 'beta': 1.0}, needs('optional'), wga),
        ('WGA beta', 'WGA', {'beta': 2.5, 'retain_loss_type': 'KL'}, {**FR, 'beta': 2.5, 'retain_loss_type': 'KL'}, needs('optional', ref_model=True), wga),
        ('RMU', 'RMU', {'layer': 0}, {**rmu_defaults, 'layer': 0}, needs('required', ref_model=True), rmu(u)),
        ('RMU retain only', 'RMU', {'layer': 0, 'gamma': 0}, {**rmu_defaults, 'layer': 0, 'gamma': 0.0}, needs('required', ref_model=True), rmu(u)),
        ('PDU', 'PDU', {'retain_loss_eps': 3.0}, {**pdu_defaults, 'retain_loss_eps': 3.0}, needs('required'), pdu({}, 5, 10), 5, 10, {}),
        ('PDU clamp', 'PDU', {'retain_loss_eps': 12.0}, {**pdu_defaults, 'retain_loss_eps': 12.0}, needs('required'), pdu({'lambda': 0.5}, 7, 10), 7, 10, {'lambda': 0.5}),
        ('PDU auto eps warm-up', 'PDU', {}, pdu_defaults, needs('required'), pdu({}, 0, 10), 0, 10, {}),
    ]
    out_cases, grads = [], {}
    for case in cases:
        name, method, given, expected_args, nd, fn = case[:6]
        step, total, state_in = (case[6], case[7], case[8]) if len(case) > 6 else (0, 1, {})
        W[GRAD_PARAM].grad = None
        res = fn(c, expected_args)
        loss, parts = res[0], res[1]
        state_out = res[2] if len(res) > 2 else None
        loss.backward()
        grads[f'grad.{name}'] = W[GRAD_PARAM].grad.clone()
        entry = {'name': name, 'method': method, 'args': given, 'expected_args': expected_args, 'needs': nd,
                 'step': step, 'total_steps': total, 'state_in': state_in, 'loss': loss.item(), 'parts': parts}
        if state_out is not None:
            entry['state_out'] = state_out
        out_cases.append(entry)
        print(f'{name:22s} loss {loss.item(): .8f}  |grad| {W[GRAD_PARAM].grad.norm().item():.3e}  {parts}')

    doc = {
        'note': 'made by test/unlearn/ref/make_method_reference.py (float64 PyTorch, open-unlearning formulas); do not edit',
        'model': 'llama-tiny', 'grad_param': GRAD_PARAM, 'perturb': PERTURB, 'pad_id': PAD,
        'batches': BATCHES, 'rmu_control_vector': u.tolist(), 'cases': out_cases,
    }
    with open(os.path.join(HERE, 'methods_reference.json'), 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    write_safetensors(os.path.join(HERE, 'methods_reference.safetensors'), grads)


if __name__ == '__main__':
    main()
