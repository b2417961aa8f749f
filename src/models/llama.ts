// Llama-family causal LM (Llama, Mistral, Qwen2, SmolLM): RMSNorm, RoPE, grouped-query
// attention, SwiGLU MLP. Tensor names and math as HF's modeling_llama.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { ModelConfig } from './config.js';
import { KVCache } from './cache.js';
import { attend, attentionBias, repeatKv } from './attention.js';
import { applyRope, ropeCosSin, ropeInvFreq } from './rope.js';
import { DecoderLM, type ForwardOptions, type LinearSpec, type TrunkOutput } from './model.js';
import { activation } from './activations.js';
import { LetheError } from '../util/errors.js';

/** Names and shapes of a Llama checkpoint's tensors, in state-dict order. */
export function llamaShapes(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.self_attn.q_proj.weight`, [q, c.hiddenSize]);
    if (c.qkvBias) m.set(`${p}.self_attn.q_proj.bias`, [q]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, c.hiddenSize]);
    if (c.qkvBias) m.set(`${p}.self_attn.k_proj.bias`, [kv]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, c.hiddenSize]);
    if (c.qkvBias) m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    m.set(`${p}.self_attn.o_proj.weight`, [c.hiddenSize, q]);
    if (c.oBias) m.set(`${p}.self_attn.o_proj.bias`, [c.hiddenSize]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    if (c.mlpBias) m.set(`${p}.mlp.gate_proj.bias`, [c.intermediateSize]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    if (c.mlpBias) m.set(`${p}.mlp.up_proj.bias`, [c.intermediateSize]);
    m.set(`${p}.mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize]);
    if (c.mlpBias) m.set(`${p}.mlp.down_proj.bias`, [c.hiddenSize]);
    m.set(`${p}.input_layernorm.weight`, [c.hiddenSize]);
    m.set(`${p}.post_attention_layernorm.weight`, [c.hiddenSize]);
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}

export class LlamaForCausalLM extends DecoderLM {
  private readonly invFreq: Tensor;
  private readonly modules: Map<string, LinearSpec>;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: ModelConfig, params: Map<string, Tensor>, sourceDir: string | null) {
    super(config, params, sourceDir);
    this.invFreq = torch.keep(torch.tensor(new Float32Array(ropeInvFreq(config)), { device: this.device as torch.Device }));
    this.act = activation(config.activation);
    this.modules = new Map();
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}`;
      for (const [name, bias] of [
        ['q_proj', config.qkvBias],
        ['k_proj', config.qkvBias],
        ['v_proj', config.qkvBias],
        ['o_proj', config.oBias],
      ] as const) {
        this.modules.set(`${p}.self_attn.${name}`, {
          weight: `${p}.self_attn.${name}.weight`,
          bias: bias ? `${p}.self_attn.${name}.bias` : null,
          conv1d: false,
        });
      }
      for (const name of ['gate_proj', 'up_proj', 'down_proj']) {
        this.modules.set(`${p}.mlp.${name}`, {
          weight: `${p}.mlp.${name}.weight`,
          bias: config.mlpBias ? `${p}.mlp.${name}.bias` : null,
          conv1d: false,
        });
      }
    }
    this.modules.set('lm_head', {
      weight: config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
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

  /** The decoder up to the final norm: its output [B, T, H], the cache and the hidden states. */
  protected trunk(inputIds: Tensor, options: ForwardOptions): TrunkOutput {
    const c = this.config;
    const [batch, seq] = inputIds.shape as [number, number];
    if (inputIds.ndim !== 2) throw new LetheError('BAD_INPUT', `inputIds must be [batch, seq], got [${inputIds.shape}]`);
    const past = options.pastKeyValues;
    const pastLen = past?.length ?? 0;
    const positions =
      options.positionIds ??
      torch
        .arange(pastLen, pastLen + seq, 1, { device: this.device as torch.Device })
        .unsqueeze(0)
        .expand([batch, seq]);
    const { cos, sin } = ropeCosSin(this.invFreq, positions, this.dtype);
    const bias = attentionBias(options.attentionMask, batch, seq, pastLen, this.dtype, this.device);
    const attnDropout = this.training ? Number(c.raw.attention_dropout ?? 0) : 0;
    const scale = 1 / Math.sqrt(c.headDim);
    const nRep = c.numHeads / c.numKvHeads;
    const cache: { k: Tensor; v: Tensor }[] = [];
    const hidden: Tensor[] = [];
    let x = torch.embedding(inputIds, this.p('model.embed_tokens.weight')); // [B, T, H]
    for (let i = 0; i < c.numLayers; i++) {
      if (options.outputHiddenStates) hidden.push(x);
      const p = `model.layers.${i}`;
      const h = torch.rmsNorm(x, [c.hiddenSize], this.p(`${p}.input_layernorm.weight`), c.normEps);
      const q = applyRope(this.lin(`${p}.self_attn.q_proj`, h).view([batch, seq, c.numHeads, c.headDim]).transpose(1, 2), cos, sin); // [B, nH, T, D]
      let k = applyRope(this.lin(`${p}.self_attn.k_proj`, h).view([batch, seq, c.numKvHeads, c.headDim]).transpose(1, 2), cos, sin); // [B, kvH, T, D]
      let v = this.lin(`${p}.self_attn.v_proj`, h).view([batch, seq, c.numKvHeads, c.headDim]).transpose(1, 2);
      if (past) {
        k = torch.cat([past.layers[i]!.k, k], 2); // [B, kvH, past+T, D]
        v = torch.cat([past.layers[i]!.v, v], 2);
      }
      if (options.useCache) cache.push({ k, v });
      const a = attend(q, repeatKv(k, nRep), repeatKv(v, nRep), bias, scale, attnDropout); // [B, nH, T, D]
      x = x.add(this.lin(`${p}.self_attn.o_proj`, a.transpose(1, 2).reshape([batch, seq, c.numHeads * c.headDim])));
      const h2 = torch.rmsNorm(x, [c.hiddenSize], this.p(`${p}.post_attention_layernorm.weight`), c.normEps);
      const mlp = this.act(this.lin(`${p}.mlp.gate_proj`, h2)).mul(this.lin(`${p}.mlp.up_proj`, h2)); // [B, T, I]
      x = x.add(this.lin(`${p}.mlp.down_proj`, mlp));
    }
    x = torch.rmsNorm(x, [c.hiddenSize], this.p('model.norm.weight'), c.normEps);
    if (options.outputHiddenStates) hidden.push(x);
    return {
      last: x,
      pastKeyValues: options.useCache ? new KVCache(cache) : null,
      hiddenStates: options.outputHiddenStates ? hidden : null,
    };
  }

  lensLogits(hidden: Tensor): Tensor {
    const c = this.config;
    return this.lin('lm_head', torch.rmsNorm(hidden, [c.hiddenSize], this.p('model.norm.weight'), c.normEps));
  }

  override dispose(): void {
    this.invFreq.dispose();
    super.dispose();
  }
}
