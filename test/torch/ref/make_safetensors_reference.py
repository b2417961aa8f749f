"""Expected values for test/torch/safetensors.test.ts, read from the HF fixtures INDEPENDENTLY of Lethe:
struct + json + numpy.frombuffer only (no torch, no safetensors package, no Lethe code). float32 → double is
exact and Python's repr round-trips, so the test compares exactly.

usage: /usr/bin/python3 test/torch/ref/make_safetensors_reference.py   (writes safetensors_reference.json here)
"""
import json, os, struct, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.environ.get('LETHE_FIXTURES', os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'hf-reference')))

# Which tensors to spot-check per file: a large matrix, the embedding or logits, and a norm (all-ones or not).
PICKS = {
    'gpt2-tiny/model.safetensors': ['transformer.h.0.attn.c_attn.weight', 'transformer.wte.weight', 'transformer.h.0.ln_1.weight'],
    'llama-tiny/model.safetensors': ['lm_head.weight', 'model.layers.0.self_attn.k_proj.weight', 'model.norm.weight'],
    'llama-tied-tiny/model.safetensors': ['model.embed_tokens.weight', 'model.layers.2.mlp.down_proj.weight', 'model.layers.1.post_attention_layernorm.weight'],
    'gpt2-tiny/reference.safetensors': ['logits', 'logits_masked', 'grad.transformer.wte.weight'],
    'llama-tiny/reference.safetensors': ['logits_masked', 'grad.model.norm.weight'],
    'llama-tied-tiny/reference.safetensors': ['logits', 'grad.model.layers.1.mlp.down_proj.weight'],
}


def describe(rel, picks):
    path = os.path.join(FIX, rel)
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = []
    for name in picks:
        e = header[name]
        assert e['dtype'] == 'F32', (rel, name, e['dtype'])
        a, b = e['data_offsets']
        x = np.frombuffer(body[a:b], dtype='<f4')
        tensors.append({'name': name, 'shape': e['shape'], 'first3': [float(v) for v in x[:3]], 'last3': [float(v) for v in x[-3:]]})
    return {'file': rel, 'fileSize': len(data), 'headerLength': n, 'metadata': header.get('__metadata__', {}),
            'names': sorted(k for k in header if k != '__metadata__'), 'tensors': tensors}


if __name__ == '__main__':
    if not os.path.isdir(FIX):
        sys.exit(f'the HF reference fixtures are missing: {FIX} (LETHE_FIXTURES overrides)')
    out = [describe(rel, picks) for rel, picks in PICKS.items()]
    with open(os.path.join(HERE, 'safetensors_reference.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
