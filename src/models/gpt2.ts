// GPT-2: learned positions, pre-LayerNorm blocks, fused qkv Conv1D ([in, out] weights), GELU MLP.
// Tensor names and math as HF's modeling_gpt2.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { ModelConfig } from './config.js';
import { KVCache } from './cache.js';
import { attend, attentionBias } from './attention.js';
import { DecoderLM, type ForwardOptions, type LinearSpec, type TrunkOutput } from './model.js';
import { activation } from './activations.js';
import { LetheError } from '../util/errors.js';

export function gpt2Shapes(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const h = c.hiddenSize;
  m.set('transformer.wte.weight', [c.vocabSize, h]);
  m.set('transformer.wpe.weight', [c.maxPositionEmbeddings, h]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `transformer.h.${i}`;
    m.set(`${p}.ln_1.weight`, [h]).set(`${p}.ln_1.bias`, [h]);
    m.set(`${p}.attn.c_attn.weight`, [h, 3 * h]).set(`${p}.attn.c_attn.bias`, [3 * h]);
    m.set(`${p}.attn.c_proj.weight`, [h, h]).set(`${p}.attn.c_proj.bias`, [h]);
    m.set(`${p}.ln_2.weight`, [h]).set(`${p}.ln_2.bias`, [h]);
    m.set(`${p}.mlp.c_fc.weight`, [h, c.intermediateSize]).set(`${p}.mlp.c_fc.bias`, [c.intermediateSize]);
    m.set(`${p}.mlp.c_proj.weight`, [c.intermediateSize, h]).set(`${p}.mlp.c_proj.bias`, [h]);
  }
  m.set('transformer.ln_f.weight', [h]).set('transformer.ln_f.bias', [h]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, h]);
  return m;
}

export class GPT2LMHeadModel extends DecoderLM {
  private readonly modules: Map<string, LinearSpec>;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: ModelConfig, params: Map<string, Tensor>, sourceDir: string | null) {
    super(config, params, sourceDir);
    if (config.raw.reorder_and_upcast_attn === true)
      throw new LetheError('BAD_INPUT', 'GPT-2 with reorder_and_upcast_attn is not supported');
    this.act = activation(config.activation);
    this.modules = new Map();
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer.h.${i}`;
      for (const name of ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']) {
        this.modules.set(`${p}.${name}`, { weight: `${p}.${name}.weight`, bias: `${p}.${name}.bias`, conv1d: true });
      }
    }
    this.modules.set('lm_head', {
      weight: config.tieWordEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight',
      bias: null,
      conv1d: false,
    });
  }

  linearModules(): Map<string, LinearSpec> {
    return this.modules;
  }

  private lin(module: string, x: Tensor): Tensor {
    return this.linear(module, x, this.modules.get(module)!);
  }

  private drop(x: Tensor, key: string): Tensor {
    const p = Number(this.config.raw[key] ?? 0);
    return this.training && p > 0 ? torch.dropout(x, p, true) : x;
  }

  lensLogits(hidden: Tensor): Tensor {
    const c = this.config;
    return this.lin(
      'lm_head',
      torch.layerNorm(hidden, [c.hiddenSize], this.p('transformer.ln_f.weight'), this.p('transformer.ln_f.bias'), c.normEps),
    );
  }

  /** The decoder up to the final norm: its output [B, T, H], the cache and the hidden states. */
  protected trunk(inputIds: Tensor, options: ForwardOptions): TrunkOutput {
    const c = this.config;
    if (inputIds.ndim !== 2) throw new LetheError('BAD_INPUT', `inputIds must be [batch, seq], got [${inputIds.shape}]`);
    const [batch, seq] = inputIds.shape as [number, number];
    const past = options.pastKeyValues;
    const pastLen = past?.length ?? 0;
    if (pastLen + seq > c.maxPositionEmbeddings)
      throw new LetheError('BAD_INPUT', `sequence of ${pastLen + seq} positions exceeds GPT-2's n_positions ${c.maxPositionEmbeddings}`);
    const positions =
      options.positionIds ??
      torch
        .arange(pastLen, pastLen + seq, 1, { device: this.device as torch.Device })
        .unsqueeze(0)
        .expand([batch, seq]);
    const bias = attentionBias(options.attentionMask, batch, seq, pastLen, this.dtype, this.device);
    const headDim = c.headDim;
    const attnDropout = this.training ? Number(c.raw.attn_pdrop ?? 0) : 0;
    const cache: { k: Tensor; v: Tensor }[] = [];
    const hidden: Tensor[] = [];
    let x = torch.embedding(inputIds, this.p('transformer.wte.weight')).add(torch.embedding(positions, this.p('transformer.wpe.weight'))); // [B, T, H]
    x = this.drop(x, 'embd_pdrop');
    for (let i = 0; i < c.numLayers; i++) {
      if (options.outputHiddenStates) hidden.push(x);
      const p = `transformer.h.${i}`;
      const h = torch.layerNorm(x, [c.hiddenSize], this.p(`${p}.ln_1.weight`), this.p(`${p}.ln_1.bias`), c.normEps);
      const [q, k0, v0] = this.lin(`${p}.attn.c_attn`, h)
        .split(c.hiddenSize, 2)
        .map((t) => t.view([batch, seq, c.numHeads, headDim]).transpose(1, 2)) as [Tensor, Tensor, Tensor]; // [B, nH, T, D]
      const k = past ? torch.cat([past.layers[i]!.k, k0], 2) : k0;
      const v = past ? torch.cat([past.layers[i]!.v, v0], 2) : v0;
      if (options.useCache) cache.push({ k, v });
      let scale = c.raw.scale_attn_weights === false ? 1 : 1 / Math.sqrt(headDim);
      if (c.raw.scale_attn_by_inverse_layer_idx === true) scale /= i + 1;
      const a = attend(q, k, v, bias, scale, attnDropout).transpose(1, 2).reshape([batch, seq, c.hiddenSize]);
      x = x.add(this.drop(this.lin(`${p}.attn.c_proj`, a), 'resid_pdrop'));
      const h2 = torch.layerNorm(x, [c.hiddenSize], this.p(`${p}.ln_2.weight`), this.p(`${p}.ln_2.bias`), c.normEps);
      x = x.add(this.drop(this.lin(`${p}.mlp.c_proj`, this.act(this.lin(`${p}.mlp.c_fc`, h2))), 'resid_pdrop'));
    }
    x = torch.layerNorm(x, [c.hiddenSize], this.p('transformer.ln_f.weight'), this.p('transformer.ln_f.bias'), c.normEps);
    if (options.outputHiddenStates) hidden.push(x);
    return {
      last: x,
      pastKeyValues: options.useCache ? new KVCache(cache) : null,
      hiddenStates: options.outputHiddenStates ? hidden : null,
    };
  }
}
