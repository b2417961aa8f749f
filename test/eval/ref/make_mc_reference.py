#!/usr/bin/env python3
"""Independent reference for Lethe's multiple-choice scoring (src/eval/mc/), in plain PyTorch.

From the hand-written task files in test/eval/ref/mc/*.jsonl this script builds, in Python and
following lm-evaluation-harness (lm_eval/tasks/arc/arc_easy.yaml, super_glue/boolq/default.yaml,
winogrande/preprocess_winogrande.py, hellaswag/utils.py, mmlu/default/_default_template_yaml, and
ConfigurableTask's fewshot_context / construct_requests / process_results), every request
(context, continuation) per choice, splits it into tokens as HFLM's _encode_pair does, runs a float64
Llama / GPT-2 forward written from scratch (checked first against the HF transformers logits in
the fixtures' reference.safetensors) on each request separately, and writes per-choice
log-likelihoods, acc and acc_norm (log-likelihood / len(choice) in characters) to mc_reference.json.

Token ids come from Lethe's tokenizer (HF tokenizers' Rust library) through mc_encode.mjs: this
script lists the strings it needs in mc_strings.json; run the encoder, then this script again.

  /usr/bin/python3 test/eval/ref/make_mc_reference.py        # may ask for:
  LETHE_NATIVE=... node test/eval/ref/mc_encode.mjs           # (after building: reads dist/)
"""
import hashlib, json, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
from lethe_ref import FIX, check_against_hf, gpt2_forward, layer_norm_by_hand, llama_forward, load_folder, silu_by_hand  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MC = os.path.join(HERE, 'mc')
TOKENS = os.path.join(HERE, 'mc_tokens.json')
STRINGS = os.path.join(HERE, 'mc_strings.json')
BOS_ID = 0  # '<|endoftext|>' in the fixture tokenizer, used as BOS in the 'gpt2' configuration

# ---------------------------------------------------------------- models (float64, from scratch)
# silu and the layer norm written out, as this reference was first written (the fixture stays as committed).
FORWARDS = {
    'llama-tiny': lambda cfg, P, ids, mask=None: llama_forward(cfg, P, ids, mask=mask, act=silu_by_hand),
    'gpt2-tiny': lambda cfg, P, ids, mask=None: gpt2_forward(cfg, P, ids, mask=mask, layer_norm=layer_norm_by_hand),
}
MODELS = {}
for name, fwd in FORWARDS.items():
    cfg, P = load_folder(os.path.join(FIX, name), torch.float64)
    check_against_hf(name, lambda ids, mask, cfg=cfg, P=P, fwd=fwd: fwd(cfg, P, ids), 2e-5)
    max_len = cfg.get('max_position_embeddings', cfg.get('n_positions'))
    MODELS[name] = (lambda ids, cfg=cfg, P=P, fwd=fwd: fwd(cfg, P, ids), max_len)


# ---------------------------------------------------------------- tasks, as lm-evaluation-harness builds them


def read(layout):
    return [json.loads(l) for l in open(os.path.join(MC, layout + '.jsonl')) if l.strip()]


def hellaswag_pre(text):
    import re
    text = text.strip()
    text = text.replace(' [title]', '. ')
    text = re.sub('\\[.*?\\]', '', text)
    text = text.replace('  ', ' ')
    return text


def doc(layout, d):
    """{text, choices, gold, multiple_input_target?, description?, group?}"""
    if layout == 'arc':
        return dict(text=f"Question: {d['question']}\nAnswer:", choices=d['choices']['text'], gold=d['choices']['label'].index(d['answerKey']))
    if layout == 'boolq':
        return dict(text=f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:", choices=['no', 'yes'], gold=int(d['answer']))
    if layout == 'winogrande':
        i = d['sentence'].index('_')
        return dict(text=None, choices=[d['sentence'][:i] + o for o in (d['option1'], d['option2'])], gold={'1': 0, '2': 1}[d['answer']],
                    target=d['sentence'][i + 1:].strip())
    if layout == 'hellaswag':
        ctx = d['ctx_a'] + ' ' + d['ctx_b'].capitalize()
        return dict(text=hellaswag_pre(d['activity_label'] + ': ' + ctx), choices=[hellaswag_pre(e) for e in d['endings']], gold=int(d['label']))
    if layout == 'mmlu':
        c = d['choices']
        a = d['answer']
        return dict(text=f"{d['question'].strip()}\nA. {c[0]}\nB. {c[1]}\nC. {c[2]}\nD. {c[3]}\nAnswer:", choices=['A', 'B', 'C', 'D'],
                    gold='ABCD'.index(a) if isinstance(a, str) else a,
                    description=f"The following are multiple choice questions (with answers) about {d['subject'].replace('_', ' ')}.\n\n", group=d['subject'])
    if layout == 'generic':
        a = d['answer']
        return dict(text=d['context'], choices=d['choices'], gold=d['choices'].index(a) if isinstance(a, str) else a)
    raise ValueError(layout)


def fewshot(docs, i, k):
    if k == 0:
        return []
    cands = [j for j in range(len(docs)) if j != i and (docs[i].get('group') is None or docs[j].get('group') == docs[i]['group'])]
    if docs[i].get('group') is not None:
        return cands[:k]  # lm-eval's first_n sampler
    return sorted(cands, key=lambda j: hashlib.sha256(f'lethe-mc-fewshot:{i}:{j}'.encode()).hexdigest())[:k]


def requests(layout, k):
    docs = [doc(layout, d) for d in read(layout)]
    out = []
    for i, dc in enumerate(docs):
        shots = fewshot(docs, i, k)
        prefix = dc.get('description', '')
        for j in shots:
            e = docs[j]
            if 'target' in e:
                prefix += e['choices'][e['gold']] + ' ' + e['target'] + '\n\n'
            else:
                prefix += e['text'] + ' ' + e['choices'][e['gold']] + '\n\n'
        if 'target' in dc:
            reqs = [(prefix + c, ' ' + dc['target']) for c in dc['choices']]
        else:
            reqs = [(prefix + dc['text'], ' ' + c) for c in dc['choices']]
        out.append(dict(requests=reqs, choices=dc['choices'], gold=dc['gold'], fewshot=shots))
    return out


# ---------------------------------------------------------------- scoring, as HFLM scores loglikelihood requests
try:
    TOK = json.load(open(TOKENS))
except FileNotFoundError:
    TOK = {}
missing = set()


def tok(s):
    if s not in TOK:
        missing.add(s)
        return [1]
    return TOK[s]


def encode_pair(ctx, cont, bos):
    n = len(ctx) - len(ctx.rstrip())
    if n > 0:
        cont = ctx[-n:] + cont
        ctx = ctx[:-n]
    whole = tok(ctx + cont)
    c = tok(ctx) if ctx else []
    cont_enc = whole[len(c):]
    if bos:
        c = [BOS_ID] + c
    return c, cont_enc


def loglikelihood(model, max_len, c, x):
    full = (c + x)[-(max_len + 1):]
    inp = torch.tensor([full[:-1]])
    with torch.no_grad():
        lp = torch.log_softmax(model(inp)[0], -1)  # [T, V]
    T = len(full) - 1
    return sum(lp[T - len(x) + t, x[t]].item() for t in range(len(x))), len(c) + len(x) - len(full)


CONFIGS = {
    'llama_0shot': dict(model='llama-tiny', bos=False, k=0),
    'gpt2_bos_1shot': dict(model='gpt2-tiny', bos=True, k=1),
    # llama-tiny's weights with max_position_embeddings 256 (RoPE has no position table): nothing truncated
    'llama_long_bos_1shot': dict(model='llama-tiny', bos=True, k=1, max_len=256),
}
LAYOUTS = ['arc', 'boolq', 'winogrande', 'hellaswag', 'mmlu', 'generic']
result = {'note': 'per configuration and task: items with requests [[context, continuation]], choices, gold, fewshot, '
                  'loglikelihoods, pred, pred_norm; acc and acc_norm', 'bos_id': BOS_ID, 'configs': {}}
for cname, cfg in CONFIGS.items():
    model, max_len = MODELS[cfg['model']]
    max_len = cfg.get('max_len', max_len)
    tasks = {}
    for layout in LAYOUTS:
        items = requests(layout, cfg['k'])
        for it in items:
            lls, trunc = [], []
            for ctx, cont in it['requests']:
                c, x = encode_pair(ctx, cont, cfg['bos'])
                ll, cut = loglikelihood(model, max_len, c, x) if not missing else (0.0, 0)
                lls.append(ll)
                trunc.append(cut)
            it['loglikelihoods'] = lls
            it['truncated'] = trunc
            it['pred'] = max(range(len(lls)), key=lambda i: (lls[i], -i))
            norm = [ll / len(ch) for ll, ch in zip(lls, it['choices'])]
            it['pred_norm'] = max(range(len(norm)), key=lambda i: (norm[i], -i))
        tasks[layout] = dict(items=items, acc=sum(it['pred'] == it['gold'] for it in items) / len(items),
                             acc_norm=sum(it['pred_norm'] == it['gold'] for it in items) / len(items))
    result['configs'][cname] = dict(cfg, tasks=tasks)

if missing:
    json.dump(sorted(missing), open(STRINGS, 'w'), indent=1, ensure_ascii=False)
    sys.exit(f'{len(missing)} strings need token ids: run `node test/eval/ref/mc_encode.mjs` (writes {TOKENS}), then this script again')
json.dump(result, open(os.path.join(HERE, 'mc_reference.json'), 'w'), indent=1, ensure_ascii=False)
n_trunc = sum(1 for c in result['configs'].values() for t in c['tasks'].values() for it in t['items'] if any(it['truncated']))
print(f'wrote mc_reference.json ({n_trunc} items left-truncated to fit the model)', file=sys.stderr)
