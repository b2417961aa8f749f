# Plain-PyTorch reference implementations of the Llama family and GPT-2 forward (no transformers),
# checked first against the HF transformers fixtures in ../shared/fixtures/hf-reference, then used
# to write small model folders (config.json + model.safetensors) with expected logits for every
# Llama variant the loader claims (Qwen2 q/k/v biases, Mistral, llama3 and linear RoPE scaling,
# an explicit head_dim, attention/MLP biases, float16 weights), and the probe reference (answer
# probabilities, sequence NLL, greedy answers) for the fixture models.
#
#   /usr/bin/python3 test/models/ref/reference_models.py
#
# Written with Debian's python3-torch 1.13 and only the standard library besides torch. The
# TypeScript side must match these numbers; never regenerate them with Lethe's own code.
import json, math, os, re, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
from lethe_ref import FIX, check_against_hf, forward, llama_forward, load_folder, save_st  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PT = {'format': 'pt'}  # the __metadata__ these fixtures were written with

# ---------------------------------------------------------------- 1. the reference matches HF
for name in ['llama-tiny', 'llama-tied-tiny', 'gpt2-tiny']:
    cfg, W = load_folder(os.path.join(FIX, name))
    check_against_hf(name, lambda ids, mask, cfg=cfg, W=W: forward(cfg, W, ids, mask=mask), 2e-5, masked=True)

# ---------------------------------------------------------------- 2. variant fixtures
gen = torch.Generator().manual_seed(1234)
V, HID, INTER, LAYERS = 64, 32, 48, 1


def rand(*shape, std=0.1):
    return torch.randn(*shape, generator=gen) * std


def llama_weights(cfg):
    nh, nkv = cfg['num_attention_heads'], cfg.get('num_key_value_heads', cfg['num_attention_heads'])
    hd = cfg.get('head_dim') or cfg['hidden_size'] // nh
    H, I = cfg['hidden_size'], cfg['intermediate_size']
    qkv_bias = cfg['model_type'] == 'qwen2' or cfg.get('attention_bias', False)
    W = {'model.embed_tokens.weight': rand(cfg['vocab_size'], H, std=0.5)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}'
        for n, (o, inn) in {'q_proj': (nh * hd, H), 'k_proj': (nkv * hd, H), 'v_proj': (nkv * hd, H), 'o_proj': (H, nh * hd)}.items():
            W[f'{p}.self_attn.{n}.weight'] = rand(o, inn, std=0.3)
            if (qkv_bias and n != 'o_proj') or (n == 'o_proj' and cfg.get('attention_bias', False)):
                W[f'{p}.self_attn.{n}.bias'] = rand(o, std=0.5)
        for n, (o, inn) in {'gate_proj': (I, H), 'up_proj': (I, H), 'down_proj': (H, I)}.items():
            W[f'{p}.mlp.{n}.weight'] = rand(o, inn, std=0.2)
            if cfg.get('mlp_bias', False):
                W[f'{p}.mlp.{n}.bias'] = rand(o, std=0.2)
        W[f'{p}.input_layernorm.weight'] = 1 + rand(H)
        W[f'{p}.post_attention_layernorm.weight'] = 1 + rand(H)
    W['model.norm.weight'] = 1 + rand(H)
    if not cfg.get('tie_word_embeddings', False):
        W['lm_head.weight'] = rand(cfg['vocab_size'], H, std=0.3)
    return W


def base_cfg(model_type='llama', **over):
    c = {'architectures': [{'llama': 'LlamaForCausalLM', 'mistral': 'MistralForCausalLM', 'qwen2': 'Qwen2ForCausalLM'}[model_type]],
         'model_type': model_type, 'vocab_size': V, 'hidden_size': HID, 'intermediate_size': INTER, 'num_hidden_layers': LAYERS,
         'num_attention_heads': 4, 'num_key_value_heads': 2, 'max_position_embeddings': 128, 'rms_norm_eps': 1e-6,
         'hidden_act': 'silu', 'rope_theta': 10000.0, 'tie_word_embeddings': False, 'bos_token_id': 1, 'eos_token_id': 2,
         'torch_dtype': 'float32'}
    c.update(over)
    return c


VARIANTS = {
    # Qwen2: q/k/v have biases (o_proj none), rope_theta 1e6 at the top level, tied embeddings as the small Qwen2s.
    'qwen2-bias': base_cfg('qwen2', rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False, sliding_window=None, max_window_layers=2),
    # Mistral: GQA 4:1 and a sliding window longer than any sequence here.
    'mistral': base_cfg('mistral', num_key_value_heads=1, rope_theta=1000000.0, sliding_window=4096),
    # llama3 RoPE in the newer rope_parameters form; head_dim 8 → wavelengths 6.3, 63, 628, 6283 against
    # original_max_position_embeddings 64 / high 4 = 16 and / low 1 = 64: one kept, one smoothed, two divided.
    'llama3-rope': {**{k: v for k, v in base_cfg().items() if k != 'rope_theta'},
                    'rope_parameters': {'rope_type': 'llama3', 'rope_theta': 10000.0, 'factor': 8.0, 'low_freq_factor': 1.0,
                                        'high_freq_factor': 4.0, 'original_max_position_embeddings': 64}},
    # Linear scaling in the older rope_scaling form (with 'type', as pre-4.45 configs write it).
    'linear-rope': base_cfg(rope_scaling={'type': 'linear', 'factor': 4.0}),
    # An explicit head_dim (12) that is not hidden / heads (8).
    'head-dim': base_cfg(head_dim=12),
    # attention_bias (q/k/v and o_proj) and mlp_bias.
    'attn-mlp-bias': base_cfg(attention_bias=True, mlp_bias=True),
    # float16 weights in the file: Lethe loads them as float32 on the CPU, as from_pretrained(dtype=float32) does.
    'fp16': base_cfg(torch_dtype='float16'),
}

OUT = os.path.join(HERE, 'variants')
os.makedirs(OUT, exist_ok=True)
ids = torch.randint(3, V, (2, 10), generator=gen)
offset = (torch.arange(10) + 40)[None].expand(2, 10)  # positions 40..49: where RoPE scaling shows
summary = {}
for name, cfg in VARIANTS.items():
    W = llama_weights(cfg)
    if name == 'fp16':
        W = {k: v.half() for k, v in W.items()}
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=2)
    save_st(os.path.join(d, 'model.safetensors'), W, metadata=PT)
    W = {k: v.float() for k, v in W.items()}
    with torch.no_grad():
        logits = llama_forward(cfg, W, ids)
        logits_offset = llama_forward(cfg, W, ids, positions=offset)
        # The fixture must pin what it claims: the feature changes the logits well above tolerance.
        plain = {k: v for k, v in cfg.items() if k not in ('rope_scaling', 'rope_parameters', 'attention_bias', 'mlp_bias')}
        plain['model_type'] = 'llama'
        if name in ('qwen2-bias', 'attn-mlp-bias'):
            Wp = {k: v for k, v in W.items() if not k.endswith('.bias')}
            effect = (llama_forward(plain, Wp, ids) - logits).abs().max().item()
        elif name in ('llama3-rope', 'linear-rope'):
            effect = (llama_forward(plain, W, ids, positions=offset) - logits_offset).abs().max().item()
        else:
            effect = None
    if effect is not None:
        assert effect > 1e-2, f'{name}: the feature changes logits by only {effect}'
    save_st(os.path.join(d, 'expected.safetensors'), {'input_ids': ids, 'position_ids_offset': offset.contiguous(),
                                                      'logits': logits.float(), 'logits_offset': logits_offset.float()}, metadata=PT)
    summary[name] = {'feature_effect': effect}
    print(f'{name}: written (feature changes logits by {effect})', file=sys.stderr)

# ---------------------------------------------------------------- 3. probes on the fixture models
# A byte-level BPE encoder for ASCII text, straight from tokenizer.json (checked on the fixture's encodings).
tj = json.load(open(os.path.join(FIX, 'tokenizer', 'tokenizer.json')))
vocab = tj['model']['vocab']
ranks = {tuple(m if isinstance(m, list) else m.split(' ')): r for r, m in enumerate(tj['model']['merges'])}
bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
byte_enc = {b: chr(c) for b, c in zip(bs, cs)}
byte_dec = {v: k for k, v in byte_enc.items()}
inv_vocab = {i: t for t, i in vocab.items()}
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bpe(word):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((a, b), 1e18), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
        r, i = min(pairs)
        if r == 1e18:
            break
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
    return parts


def encode(text):
    assert text.isascii()
    return [vocab[p] for w in PAT.findall(text) for p in bpe(''.join(byte_enc[b] for b in w.encode()))]


def decode(ids):
    return bytes(byte_dec[c] for i in ids if i != 0 for c in inv_vocab[i]).decode('utf-8', errors='replace')


def rouge_l(pred, ref):
    """(precision, recall, f1) of the LCS of rouge_score's default tokens (lower case, [a-z0-9]+ runs)."""
    p, r = re.findall('[a-z0-9]+', pred.lower()), re.findall('[a-z0-9]+', ref.lower())
    L = [[0] * (len(r) + 1) for _ in range(len(p) + 1)]
    for i in range(len(p)):
        for j in range(len(r)):
            L[i + 1][j + 1] = L[i][j] + 1 if p[i] == r[j] else max(L[i][j + 1], L[i + 1][j])
    lcs = L[-1][-1]
    prec, rec = (lcs / len(p) if p else 0.0), (lcs / len(r) if r else 0.0)
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


for e in json.load(open(os.path.join(FIX, 'tokenizer', 'encodings.json'))):
    if e['text'].isascii():
        assert encode(e['text']) == e['ids'], f'python BPE disagrees with HF on {e["text"]!r}'

QA = [('What is the capital of France?', 'Paris is the capital.'),
      ('Who wrote the book?', 'It was written by Ada Lovelace in 1843.'),
      ('Name a colour.', 'Blue')]
probes = {'qa': [], 'models': {}}
for q, a in QA:
    prompt = f'Question: {q}\nAnswer:'
    full = encode(f'{prompt} {a}')
    pl = len(encode(prompt))
    assert full[:pl] == encode(prompt)
    probes['qa'].append({'question': q, 'answer': a, 'ids': full, 'prompt_length': pl})

for name in ['llama-tiny', 'gpt2-tiny']:
    cfg, W = load_folder(os.path.join(FIX, name))
    rec = {'answer_probability': [], 'answer_mean_nll': [], 'greedy': []}
    with torch.no_grad():
        for item in probes['qa']:
            ids_ = torch.tensor([item['ids']])
            lp = torch.log_softmax(forward(cfg, W, ids_)[0, :-1], -1)  # predicts ids[1:]
            tok_lp = lp.gather(1, ids_[0, 1:, None])[:, 0]
            answer_lp = tok_lp[item['prompt_length'] - 1:]  # the tokens at positions >= prompt_length
            rec['answer_probability'].append(math.exp(answer_lp.mean().item()))
            rec['answer_mean_nll'].append(-answer_lp.mean().item())
            # Greedy continuation of the prompt alone, 8 tokens (the fixture tokenizer names no EOS),
            # the answer being the first line of its text, scored by ROUGE-L recall against the true answer.
            seq = item['ids'][:item['prompt_length']]
            out = []
            for _ in range(8):
                nxt = int(forward(cfg, W, torch.tensor([seq]))[0, -1].argmax())
                out.append(nxt)
                seq = seq + [nxt]
            # Trimmed of ASCII whitespace (JS's trim and Python's strip differ on \x1c-\x1f, which
            # random models emit; TOFU-style answers never start or end with those).
            text = decode(out).split('\n')[0].strip(' \t\n\r\x0b\x0c')
            rec['greedy'].append({'ids': out, 'text': text, 'rouge_l_recall': rouge_l(text, item['answer'])[1]})
        # sequenceNll on [2, 16] ids with labels: row 0 all counted, row 1 -100 on its first 5 and last 3.
        ref = json.load(open(os.path.join(FIX, name, 'reference.json')))
        ids_ = torch.tensor(ref['input_ids'])
        labels = ids_.clone()
        labels[1, :5] = -100
        labels[1, -3:] = -100
        lp = torch.log_softmax(forward(cfg, W, ids_)[:, :-1], -1)
        nxt = labels[:, 1:]
        keep = nxt != -100
        tok = lp.gather(2, nxt.clamp(min=0)[..., None])[..., 0] * keep
        rec['nll_labels'] = labels.tolist()
        rec['nll_sum'] = (-tok.sum(1)).tolist()
        rec['nll_mean'] = (-tok.sum(1) / keep.sum(1)).tolist()
        rec['nll_counted'] = keep.sum(1).tolist()
    probes['models'][name] = rec

json.dump(probes, open(os.path.join(HERE, 'probes.json'), 'w'), indent=1)
print('wrote variants/ and probes.json', file=sys.stderr)
