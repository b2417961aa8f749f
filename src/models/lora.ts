import * as torch from '../torch/index.js';
import { LetheError } from '../util/errors.js';
import { readJsonObject } from '../util/json-file.js';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** Module names or suffixes (PEFT target_modules); a single string is a full-match regex. */
  targetModules: string[] | string;
  useRslora?: boolean;
}

export interface LoraAdapter {
  /** A: [r, in], B: [out, r]. */
  a: torch.Tensor;
  b: torch.Tensor;
  scale: number;
  dropout: number;
}

export function matchesTarget(moduleName: string, target: string[] | string): boolean {
  if (typeof target === 'string') return new RegExp(`^(?:${target})$`).test(moduleName);
  return target.some((t) => moduleName === t || moduleName.endsWith(`.${t}`));
}

export function loraScale(c: LoraConfig): number {
  return c.useRslora ? c.loraAlpha / Math.sqrt(c.r) : c.loraAlpha / c.r;
}

/** PEFT's initialisation: A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0 (the adapter starts as a no-op). */
export function initAdapter(inFeatures: number, outFeatures: number, config: LoraConfig, like: torch.Tensor): LoraAdapter {
  return torch.noGrad(() => {
    const bound = 1 / Math.sqrt(inFeatures);
    const a = torch
      .rand([config.r, inFeatures], { dtype: like.dtype, device: like.device as torch.Device })
      .mul(2 * bound)
      .sub(bound);
    const b = torch.zeros([outFeatures, config.r], { dtype: like.dtype, device: like.device as torch.Device });
    return { a: torch.keep(a.requiresGrad_()), b: torch.keep(b.requiresGrad_()), scale: loraScale(config), dropout: config.loraDropout };
  });
}

/** The adapter's contribution to y for input x: dropout(x) Aᵀ Bᵀ · scale. */
export function loraDelta(x: torch.Tensor, adapter: LoraAdapter, training: boolean): torch.Tensor {
  const input = adapter.dropout > 0 ? torch.dropout(x, adapter.dropout, training) : x;
  return torch.linear(torch.linear(input, adapter.a), adapter.b).mul(adapter.scale);
}

/** PEFT's adapter_config.json for a causal LM. */
export function peftConfigJson(c: LoraConfig, baseModel: string, fanInFanOut: boolean): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: c.r,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    target_modules: c.targetModules,
    bias: 'none',
    fan_in_fan_out: fanInFanOut,
    use_rslora: c.useRslora ?? false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_dora: false,
  };
}

/** An adapter_config.json as read: a JSON object. */
export function readAdapterConfig(path: string): Record<string, unknown> {
  return readJsonObject(path);
}

export function parsePeftConfig(raw: Record<string, unknown>, path: string): LoraConfig {
  if (raw.peft_type !== 'LORA')
    throw new LetheError('BAD_INPUT', `${path}: peft_type must be 'LORA', got ${JSON.stringify(raw.peft_type)}`);
  const r = raw.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1)
    throw new LetheError('BAD_INPUT', `${path}: r must be a positive integer, got ${JSON.stringify(r)}`);
  if (raw.use_dora === true) throw new LetheError('BAD_INPUT', `${path}: DoRA adapters are not supported`);
  const target = raw.target_modules;
  if (!(typeof target === 'string' || (Array.isArray(target) && target.every((t) => typeof t === 'string')))) {
    throw new LetheError('BAD_INPUT', `${path}: target_modules must be a list of names or a regex string`);
  }
  return {
    r,
    loraAlpha: typeof raw.lora_alpha === 'number' ? raw.lora_alpha : 8,
    loraDropout: typeof raw.lora_dropout === 'number' ? raw.lora_dropout : 0,
    targetModules: target as string[] | string,
    useRslora: raw.use_rslora === true,
  };
}
