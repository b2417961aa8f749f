// config.json → the one normalized shape the model code reads. The raw JSON is kept so that
// savePretrained writes back what the user brought (Python loads it unchanged).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../util/errors.js';
import { readJsonObject } from '../util/json-file.js';

export type Family = 'gpt2' | 'llama';

export interface RopeScaling {
  type: 'default' | 'llama3' | 'linear';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
}

export interface ModelConfig {
  family: Family;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /** RMSNorm (llama) or LayerNorm (gpt2) epsilon. */
  normEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (Qwen2, or attention_bias). */
  qkvBias: boolean;
  /** o_proj has a bias (attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  activation: string;
  bosTokenId: number | null;
  eosTokenId: number[];
  padTokenId: number | null;
  /** The config.json as read. */
  raw: Record<string, unknown>;
}

const LLAMA_LIKE = new Set(['llama', 'mistral', 'qwen2', 'smollm', 'smollm3']);

function num(raw: Record<string, unknown>, key: string, path: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new LetheError('BAD_INPUT', `${path}: '${key}' is missing (expected a number)`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new LetheError('BAD_INPUT', `${path}: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function ropeOf(raw: Record<string, unknown>, path: string): { theta: number; scaling: RopeScaling } {
  // Newer checkpoints: rope_parameters {rope_theta, rope_type, ...}; older: rope_theta + rope_scaling.
  const params = (raw.rope_parameters ?? null) as Record<string, unknown> | null;
  const scalingRaw = (params ?? raw.rope_scaling ?? null) as Record<string, unknown> | null;
  const theta = typeof params?.rope_theta === 'number' ? params.rope_theta : num(raw, 'rope_theta', path, 10000);
  const type = String(scalingRaw?.rope_type ?? scalingRaw?.type ?? 'default');
  if (type === 'default') return { theta, scaling: { type: 'default', factor: 1 } };
  if (type === 'llama3') {
    const s = scalingRaw!;
    return {
      theta,
      scaling: {
        type: 'llama3',
        factor: num(s, 'factor', `${path} rope scaling`),
        lowFreqFactor: num(s, 'low_freq_factor', `${path} rope scaling`),
        highFreqFactor: num(s, 'high_freq_factor', `${path} rope scaling`),
        originalMaxPositionEmbeddings: num(s, 'original_max_position_embeddings', `${path} rope scaling`),
      },
    };
  }
  if (type === 'linear') return { theta, scaling: { type: 'linear', factor: num(scalingRaw!, 'factor', `${path} rope scaling`) } };
  throw new LetheError('BAD_INPUT', `${path}: RoPE scaling type '${type}' is not supported (supported: default, linear, llama3)`);
}

export function parseConfig(raw: Record<string, unknown>, path = 'config.json'): ModelConfig {
  const modelType = String(raw.model_type ?? '');
  if (modelType === 'gpt2') {
    const hidden = num(raw, 'n_embd', path);
    const heads = num(raw, 'n_head', path);
    return {
      family: 'gpt2',
      modelType,
      vocabSize: num(raw, 'vocab_size', path),
      hiddenSize: hidden,
      numLayers: num(raw, 'n_layer', path),
      numHeads: heads,
      numKvHeads: heads,
      headDim: hidden / heads,
      intermediateSize: num(raw, 'n_inner', path, 4 * hidden),
      maxPositionEmbeddings: num(raw, 'n_positions', path),
      normEps: num(raw, 'layer_norm_epsilon', path, 1e-5),
      ropeTheta: 0,
      ropeScaling: { type: 'default', factor: 1 },
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
      qkvBias: true,
      oBias: true,
      mlpBias: true,
      activation: String(raw.activation_function ?? 'gelu_new'),
      bosTokenId: ids(raw.bos_token_id)[0] ?? null,
      eosTokenId: ids(raw.eos_token_id),
      padTokenId: ids(raw.pad_token_id)[0] ?? null,
      raw,
    };
  }
  if (LLAMA_LIKE.has(modelType)) {
    const hidden = num(raw, 'hidden_size', path);
    const heads = num(raw, 'num_attention_heads', path);
    const { theta, scaling } = ropeOf(raw, path);
    const attentionBias = raw.attention_bias === true;
    return {
      family: 'llama',
      modelType,
      vocabSize: num(raw, 'vocab_size', path),
      hiddenSize: hidden,
      numLayers: num(raw, 'num_hidden_layers', path),
      numHeads: heads,
      numKvHeads: num(raw, 'num_key_value_heads', path, heads),
      headDim: num(raw, 'head_dim', path, hidden / heads),
      intermediateSize: num(raw, 'intermediate_size', path),
      maxPositionEmbeddings: num(raw, 'max_position_embeddings', path, 2048),
      normEps: num(raw, 'rms_norm_eps', path, 1e-6),
      ropeTheta: theta,
      ropeScaling: scaling,
      tieWordEmbeddings: raw.tie_word_embeddings === true,
      qkvBias: modelType === 'qwen2' || attentionBias,
      oBias: attentionBias,
      mlpBias: raw.mlp_bias === true,
      activation: String(raw.hidden_act ?? 'silu'),
      bosTokenId: ids(raw.bos_token_id)[0] ?? null,
      eosTokenId: ids(raw.eos_token_id),
      padTokenId: ids(raw.pad_token_id)[0] ?? null,
      raw,
    };
  }
  throw new LetheError(
    'BAD_INPUT',
    `${path}: model_type '${modelType}' is not supported (supported: gpt2, llama, mistral, qwen2 and Llama-shaped models such as SmolLM)`,
  );
}

export function readConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new LetheError('NOT_FOUND', `${dir} is not a Hugging Face model folder: it has no config.json`);
  const raw = readJsonObject(path);
  const cfg = parseConfig(raw, path);
  if (cfg.hiddenSize % cfg.numHeads !== 0 && !('head_dim' in raw)) {
    throw new LetheError('BAD_INPUT', `${path}: hidden size ${cfg.hiddenSize} is not divisible by ${cfg.numHeads} heads`);
  }
  if (cfg.numHeads % cfg.numKvHeads !== 0)
    throw new LetheError('BAD_INPUT', `${path}: ${cfg.numHeads} attention heads are not a multiple of ${cfg.numKvHeads} key/value heads`);
  return cfg;
}
