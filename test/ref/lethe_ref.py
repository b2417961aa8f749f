"""What the Python reference makers under test/*/ref/ share: where the HF fixtures are, a safetensors
reader and writer (the format by hand, no package), and plain-PyTorch Llama-family and GPT-2 forwards
written from scratch (no transformers), checked against the logits HF transformers saved beside each
fixture.

A maker imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'ref'))
    import lethe_ref
and runs with Debian's /usr/bin/python3 (python3-torch 1.13, python3-scipy, python3-sklearn). The
TypeScript side must match the numbers the makers write; never regenerate them with Lethe's own code.
"""
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
# ../shared/fixtures/hf-reference beside the checkout; LETHE_FIXTURES overrides.
FIX = os.environ.get('LETHE_FIXTURES', os.path.abspath(os.path.join(REPO, '..', 'shared', 'fixtures', 'hf-reference')))
if not os.path.isdir(FIX):
    sys.exit(f'the HF reference fixtures are missing: {FIX} (the shared folder beside the checkout; LETHE_FIXTURES overrides)')

# ---------------------------------------------------------------- safetensors (format by hand)
DT = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64, 'I64': torch.int64, 'I32': torch.int32}
DT_NAME = {v: k for k, v in DT.items()}


def load_st(path, dtype=None):
    """Every tensor of a .safetensors file, in its stored dtype (or converted to `dtype`)."""
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        t = torch.frombuffer(bytearray(body[a:b]), dtype=DT[e['dtype']]) if b > a else torch.empty(0, dtype=DT[e['dtype']])
        t = t.reshape(e['shape']).clone()
        out[name] = t if dtype is None else t.to(dtype)
    return out


def save_st(path, tensors, metadata=None):
    """Writes tensors (in their dtype) as .safetensors; `metadata` becomes the __metadata__ entry."""
    header, chunks, off = ({'__metadata__': metadata} if metadata is not None else {}), [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy().tobytes()
        header[name] = {'dtype': DT_NAME[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


def load_folder(path, dtype=None):
    """A HF model folder: (config, weights)."""
    return json.load(open(os.path.join(path, 'config.json'))), load_st(os.path.join(path, 'model.safetensors'), dtype)


# ---------------------------------------------------------------- the models
def rope_inv_freq(cfg, head_dim, dtype=torch.float32):
    """HF's rope init functions (default, linear, llama3). HF computes in float32; the makers written
    before this module computed the default kind in float64 and pass dtype=torch.float64 so that
    their fixtures stay as committed."""
    params = cfg.get('rope_parameters') or cfg.get('rope_scaling') or {}
    theta = params.get('rope_theta', cfg.get('rope_theta', 10000.0))
    kind = params.get('rope_type', params.get('type', 'default'))
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim))
    if kind == 'linear':  # _compute_linear_scaling_rope_parameters: inv_freq /= factor (= positions / factor)
        inv = inv / params['factor']
    elif kind == 'llama3':  # _compute_llama3_parameters
        factor, low, high = params['factor'], params['low_freq_factor'], params['high_freq_factor']
        old = params['original_max_position_embeddings']
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_llama = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, inv_llama)
    else:
        assert kind == 'default', kind
    return inv


def causal_bias(T, mask, dtype):
    """[B or 1, 1, T, T]: 0 where a query may attend, the dtype's minimum where not (future or padding)."""
    keep = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
    if mask is not None:
        keep = keep & mask.bool()[:, None, None, :]
    return torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, torch.finfo(dtype).min)


def attention(q, k, v, bias, scale):
    w = torch.softmax((q @ k.transpose(-1, -2)) * scale + bias, dim=-1)
    return w @ v


def silu_by_hand(x):
    """g * sigmoid(g): rounds differently from F.silu in the last bit (make_mc_reference.py uses it)."""
    return x * torch.sigmoid(x)


def llama_forward(cfg, W, ids, mask=None, positions=None, dtype=torch.float64, rope_dtype=torch.float32, act=None, capture_layer=None, states=None):
    """Logits [B, T, V] of a Llama-family model (Llama, Qwen2, Mistral; biases, tied head, RoPE scaling).
    mask: the attention mask [B, T] (left padding); positions: position ids [B, T]; rope_dtype: the dtype
    of the RoPE frequencies (see rope_inv_freq); act: the MLP activation (default: the config's);
    capture_layer: also return the output of that decoder layer (what a forward hook on
    model.layers.<l> sees: before the final norm); states: a list that gets the residual stream
    entering each decoder layer (HF's hidden_states[0..L-1])."""
    P = {k: v.to(dtype) for k, v in W.items()}
    B, T = ids.shape
    H = cfg['hidden_size']
    nh = cfg['num_attention_heads']
    nkv = cfg.get('num_key_value_heads', nh)
    hd = cfg.get('head_dim') or H // nh
    eps = cfg.get('rms_norm_eps', 1e-6)
    qkv_bias = cfg['model_type'] == 'qwen2' or cfg.get('attention_bias', False)
    o_bias = cfg.get('attention_bias', False)
    mlp_bias = cfg.get('mlp_bias', False)
    act = act or {'silu': F.silu, 'gelu': F.gelu}[cfg.get('hidden_act', 'silu')]
    if positions is None:
        positions = torch.arange(T)[None].expand(B, T)
    freqs = positions.to(dtype)[..., None] * rope_inv_freq(cfg, hd, rope_dtype).to(dtype)  # [B, T, hd/2]
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]

    def rot(x):
        return torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def lin(x, name, bias):
        y = x @ P[name + '.weight'].T
        return y + P[name + '.bias'] if bias else y

    bias = causal_bias(T, mask, dtype)
    captured = None
    x = P['model.embed_tokens.weight'][ids]
    for i in range(cfg['num_hidden_layers']):
        if states is not None:
            states.append(x)
        p = f'model.layers.{i}'
        h = rms(x, P[f'{p}.input_layernorm.weight'])
        q = lin(h, f'{p}.self_attn.q_proj', qkv_bias).view(B, T, nh, hd).transpose(1, 2)
        k = lin(h, f'{p}.self_attn.k_proj', qkv_bias).view(B, T, nkv, hd).transpose(1, 2)
        v = lin(h, f'{p}.self_attn.v_proj', qkv_bias).view(B, T, nkv, hd).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
        a = attention(q, k, v, bias, hd ** -0.5).transpose(1, 2).reshape(B, T, nh * hd)
        x = x + lin(a, f'{p}.self_attn.o_proj', o_bias)
        h = rms(x, P[f'{p}.post_attention_layernorm.weight'])
        x = x + lin(act(lin(h, f'{p}.mlp.gate_proj', mlp_bias)) * lin(h, f'{p}.mlp.up_proj', mlp_bias), f'{p}.mlp.down_proj', mlp_bias)
        if i == capture_layer:
            captured = x
    x = rms(x, P['model.norm.weight'])
    head = P['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings', False) else P['lm_head.weight']
    logits = x @ head.T
    return (logits, captured) if capture_layer is not None else logits


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


def layer_norm_by_hand(x, shape, weight, bias, eps):
    """(x - mean) / sqrt(var + eps): rounds differently from F.layer_norm in the last bit (make_mc_reference.py uses it)."""
    m = x.mean(-1, keepdim=True)
    var = (x - m).pow(2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(var + eps) * weight + bias


def gpt2_forward(cfg, W, ids, mask=None, dtype=torch.float64, layer_norm=F.layer_norm, states=None):
    P = {k: v.to(dtype) for k, v in W.items()}
    B, T = ids.shape
    H, nh = cfg['n_embd'], cfg['n_head']
    hd = H // nh
    eps = cfg.get('layer_norm_epsilon', 1e-5)
    ln = lambda x, n: layer_norm(x, [H], P[n + '.weight'], P[n + '.bias'], eps)
    conv = lambda x, n: x @ P[n + '.weight'] + P[n + '.bias']  # Conv1D: weight [in, out]
    bias = causal_bias(T, mask, dtype)
    x = P['transformer.wte.weight'][ids] + P['transformer.wpe.weight'][torch.arange(T)][None]
    for i in range(cfg['n_layer']):
        if states is not None:
            states.append(x)
        p = f'transformer.h.{i}'
        q, k, v = conv(ln(x, f'{p}.ln_1'), f'{p}.attn.c_attn').split(H, -1)
        q, k, v = (t.view(B, T, nh, hd).transpose(1, 2) for t in (q, k, v))
        a = attention(q, k, v, bias, hd ** -0.5).transpose(1, 2).reshape(B, T, H)
        x = x + conv(a, f'{p}.attn.c_proj')
        x = x + conv(gelu_new(conv(ln(x, f'{p}.ln_2'), f'{p}.mlp.c_fc')), f'{p}.mlp.c_proj')
    return ln(x, 'transformer.ln_f') @ P['transformer.wte.weight'].T


def forward(cfg, W, ids, **kw):
    return gpt2_forward(cfg, W, ids, **kw) if cfg['model_type'] == 'gpt2' else llama_forward(cfg, W, ids, **kw)


def check_against_hf(name, fwd, tol, masked=False):
    """Asserts fwd(ids[, mask]) reproduces the logits HF transformers saved for fixture `name` (within
    tol; with masked, also the left-padded batch on its real tokens); prints and returns the differences."""
    ref = json.load(open(os.path.join(FIX, name, 'reference.json')))
    exp = load_st(os.path.join(FIX, name, 'reference.safetensors'))
    ids, mask = torch.tensor(ref['input_ids']), torch.tensor(ref['attention_mask'])
    with torch.no_grad():
        out = fwd(ids, None)  # compared in the forward's dtype
        d = (out - exp['logits'].to(out.dtype)).abs().max().item()
        dm = ((fwd(ids, mask) - exp['logits_masked'].to(out.dtype)).abs() * mask[..., None]).max().item() if masked else 0.0
    assert d <= tol and dm <= tol, f'{name}: the reference forward is off HF transformers by {d} (masked {dm})'
    print(f'{name}: reference vs HF transformers logits max abs diff {d:.2e}' + (f' (masked {dm:.2e})' if masked else ''), file=sys.stderr)
    return d, dm
