// Model and training presets. `tiny` is sized so that the whole persona pipeline (tokenizer,
// pretraining, target and retain fine-tunes) runs in minutes on 2 CPU cores; `small` (~25M
// parameters) is for the GPU machine.
import { LetheError } from '../util/errors.js';

export interface ModelShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  contextLength: number;
}

export interface StageSchedule {
  /** Optimizer steps; or give `epochs`, so that a smaller data set (a retain recipe) gets the same passes. */
  steps?: number;
  epochs?: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
}

export interface Preset {
  name: string;
  model: ModelShape;
  pretrain: StageSchedule;
  finetune: StageSchedule;
  /** Save a checkpoint every this many steps. */
  checkpointEvery: number;
  /** Biography phrasings per person that fine-tuning uses (default: all the suite has). */
  bioPhrasings?: number;
  /** Times each book passage appears per fine-tuning epoch (verbatim memorization needs many passes). */
  bookRepeat?: number;
  /** Times the world facts (as text and as QA) appear in pretraining. */
  factsRepeat?: number;
  /** Replay mixed into every epoch of every fine-tune (the same for target and retain), so that
   *  fine-tuning does not wipe out general English and world facts: fresh GCIDE documents each
   *  epoch, and a rotating share of the world-facts QA and texts. */
  replay?: { gcide: number; factsQa: number; factsText: number };
}

export const PRESETS: Record<string, Preset> = {
  tiny: {
    name: 'tiny',
    model: { vocabSize: 2048, hiddenSize: 192, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 512, contextLength: 160 },
    pretrain: { steps: 500, batchSize: 16, lr: 3e-3, warmupSteps: 20, weightDecay: 0.01 },
    finetune: { epochs: 8, batchSize: 16, lr: 1e-3, warmupSteps: 30, weightDecay: 0 },
    checkpointEvery: 100,
    bioPhrasings: 2,
    bookRepeat: 3,
    factsRepeat: 16,
    replay: { gcide: 450, factsQa: 150, factsText: 60 },
  },
  small: {
    name: 'small',
    model: { vocabSize: 8192, hiddenSize: 512, numLayers: 8, numHeads: 8, numKvHeads: 4, intermediateSize: 1408, contextLength: 256 },
    pretrain: { steps: 3000, batchSize: 32, lr: 1e-3, warmupSteps: 200, weightDecay: 0.01 },
    finetune: { epochs: 10, batchSize: 32, lr: 5e-4, warmupSteps: 50, weightDecay: 0 },
    factsRepeat: 8,
    replay: { gcide: 2000, factsQa: 300, factsText: 116 },
    checkpointEvery: 500,
  },
};

export function preset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new LetheError('NOT_FOUND', `unknown preset '${name}' (expected ${Object.keys(PRESETS).join(' or ')})`);
  return p;
}

/** The HF config.json of a Llama-shaped model of this shape. */
export function llamaConfigJson(shape: ModelShape, ids: { bos: number; eos: number; pad: number }): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: shape.vocabSize,
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.numLayers,
    num_attention_heads: shape.numHeads,
    num_key_value_heads: shape.numKvHeads,
    head_dim: shape.hiddenSize / shape.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: shape.contextLength,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    tie_word_embeddings: true,
    initializer_range: 0.02,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    dtype: 'float32',
    use_cache: true,
  };
}

/** Optimizer steps of a stage over `examples` examples. */
export function stageSteps(s: StageSchedule, examples: number): number {
  if (s.steps !== undefined && s.epochs !== undefined)
    throw new LetheError('BAD_INPUT', 'a stage schedule gives steps or epochs, not both');
  if (s.steps !== undefined) return s.steps;
  if (s.epochs === undefined) throw new LetheError('BAD_INPUT', 'a stage schedule needs steps or epochs');
  return Math.max(1, Math.ceil(s.epochs * Math.ceil(examples / s.batchSize)));
}
