// What every causal LM shares: parameters by their Hugging Face names, linear layers with
// optional LoRA adapters, freezing by name, train/eval mode, saving, generation.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { ModelConfig } from './config.js';
import type { KVCache } from './cache.js';
import { initAdapter, loraDelta, matchesTarget, type LoraAdapter, type LoraConfig } from './lora.js';
import { generate, type GenerateOptions } from './generate.js';
import { savePretrained, saveAdapter, loadAdapter, type SaveOptions } from './save.js';
import { LetheError } from '../util/errors.js';

export interface ForwardOptions {
  /** [B, past + T] with 1 for tokens and 0 for padding. */
  attentionMask?: Tensor;
  /** [B, T] positions; defaults to past..past+T-1 in every row (as HF does without them). */
  positionIds?: Tensor;
  pastKeyValues?: KVCache;
  /** Return a new KV cache holding past + these tokens. */
  useCache?: boolean;
  /** Return the embeddings and every layer's output (the last one after the final norm, as HF). */
  outputHiddenStates?: boolean;
}

export interface ForwardOutput {
  /** [B, T, vocab]. */
  logits: Tensor;
  pastKeyValues: KVCache | null;
  hiddenStates: Tensor[] | null;
}

/** A linear layer by module name: weight [out, in] (nn.Linear), or [in, out] for GPT-2's Conv1D. */
export interface LinearSpec {
  weight: string;
  bias: string | null;
  conv1d: boolean;
}

export type NamePattern = string | RegExp;

function toRegExp(p: NamePattern): RegExp {
  if (p instanceof RegExp) return p;
  // A glob: * matches within a dotted name, ** across dots.
  const re = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*/g, '\u0000')
    .replace(/\*/g, '[^.]*')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the placeholder for '**' set two lines up
    .replace(/\u0000/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

export abstract class CausalLM {
  /** 'eval' by default, as from_pretrained leaves a model; train() enables dropout. */
  training = false;
  readonly loras = new Map<string, LoraAdapter>();
  loraConfig: LoraConfig | null = null;

  constructor(
    readonly config: ModelConfig,
    /** Parameters by Hugging Face name, in state-dict order (a tied head is not listed). */
    readonly params: Map<string, Tensor>,
    /** The folder it was loaded from (tokenizer files are copied from it on save). */
    readonly sourceDir: string | null,
  ) {}

  abstract forward(inputIds: Tensor, options?: ForwardOptions): ForwardOutput;

  /** Logits [N, V] at `positions` (int64 indices into inputIds' B·T positions, row-major): only those
   *  rows go through the LM head, where a loss or a metric reads them (a QA prompt and the padding
   *  are never projected onto the vocabulary). This default slices the full logits. */
  logitsAt(inputIds: Tensor, positions: Tensor, options: ForwardOptions = {}): Tensor {
    const logits = this.forward(inputIds, options).logits;
    return logits.reshape([-1, logits.size(-1)]).indexSelect(0, positions);
  }

  /** The logit lens: a residual-stream state [B, T, H] read out through the final norm and the LM
   *  head, as the last layer's output is (an intermediate layer's knowledge in vocabulary terms). */
  abstract lensLogits(hidden: Tensor): Tensor;

  /** Linear modules by name (LoRA targets these). */
  abstract linearModules(): Map<string, LinearSpec>;

  get dtype(): torch.DType {
    return this.params.values().next().value!.dtype;
  }

  get device(): string {
    return this.params.values().next().value!.device;
  }

  protected p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new LetheError('INTERNAL', `model has no parameter '${name}'`);
    return t;
  }

  /** y = x Wᵀ + b (or x W + b for Conv1D), plus the module's LoRA adapter if any. */
  protected linear(module: string, x: Tensor, spec: LinearSpec): Tensor {
    const w = this.p(spec.weight);
    const b = spec.bias ? this.p(spec.bias) : null;
    let y = spec.conv1d ? (b ? torch.matmul(x, w).add(b) : torch.matmul(x, w)) : torch.linear(x, w, b);
    const adapter = this.loras.get(module);
    if (adapter) y = y.add(loraDelta(x, adapter, this.training));
    return y;
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** [name, tensor] in state-dict order; LoRA adapters as `<module>.lora_A.weight` / `.lora_B.weight`. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params.entries()];
    for (const [m, a] of this.loras) out.push([`${m}.lora_A.weight`, a.a], [`${m}.lora_B.weight`, a.b]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  /** Stops gradients for parameters whose name matches any pattern (globs or RegExps); returns their names. */
  freeze(...patterns: NamePattern[]): string[] {
    return this.setTrainable(patterns, false);
  }

  unfreeze(...patterns: NamePattern[]): string[] {
    return this.setTrainable(patterns, true);
  }

  private setTrainable(patterns: NamePattern[], on: boolean): string[] {
    const res = (patterns.length ? patterns : ['**']).map(toRegExp);
    const hit: string[] = [];
    for (const [name, t] of this.namedParameters()) {
      if (res.some((r) => r.test(name))) {
        t.requiresGrad = on;
        hit.push(name);
      }
    }
    if (patterns.length && !hit.length) throw new LetheError('BAD_INPUT', `no parameter name matches ${patterns.map(String).join(', ')}`);
    return hit;
  }

  /** Adds LoRA adapters to the linear modules that config.targetModules names; freezes everything else. */
  addLora(config: LoraConfig): string[] {
    if (this.loraConfig) throw new LetheError('BAD_INPUT', 'this model already has LoRA adapters; merge or remove them first');
    if (!(Number.isInteger(config.r) && config.r > 0))
      throw new LetheError('BAD_INPUT', `LoRA r must be a positive integer, got ${config.r}`);
    const modules = [...this.linearModules()].filter(([name]) => matchesTarget(name, config.targetModules));
    if (!modules.length) {
      throw new LetheError(
        'BAD_INPUT',
        `LoRA target_modules ${JSON.stringify(config.targetModules)} match no linear module (e.g. ${[...this.linearModules().keys()].slice(0, 4).join(', ')})`,
      );
    }
    for (const t of this.params.values()) t.requiresGrad = false;
    for (const [name, spec] of modules) {
      const w = this.p(spec.weight);
      const [outF, inF] = spec.conv1d ? [w.size(1), w.size(0)] : [w.size(0), w.size(1)];
      this.loras.set(name, initAdapter(inF, outF, config, w));
    }
    this.loraConfig = config;
    return modules.map(([n]) => n);
  }

  /** Folds every adapter into its base weight (W += B A · scale) and removes the adapters. */
  mergeLora(): void {
    const specs = this.linearModules();
    torch.noGrad(() => {
      for (const [name, a] of this.loras) {
        const spec = specs.get(name)!;
        torch.tidy(() => {
          const delta = torch.matmul(a.b, a.a).mul(a.scale); // [out, in]
          this.p(spec.weight).add_(spec.conv1d ? delta.t() : delta);
        });
      }
    });
    this.removeLora();
  }

  /** Drops the adapters without merging. */
  removeLora(): void {
    for (const a of this.loras.values()) {
      a.a.dispose();
      a.b.dispose();
    }
    this.loras.clear();
    this.loraConfig = null;
  }

  /** Greedy or sampled continuation of [B, T] prompts (see GenerateOptions); prompt + new tokens. */
  generate(inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor> {
    return generate(this, inputIds, options);
  }

  /** Writes an HF folder (config, safetensors, tokenizer files) that transformers loads unchanged. */
  savePretrained(dir: string, options: SaveOptions = {}): void {
    savePretrained(this, dir, options);
  }

  /** Writes the LoRA adapters in PEFT's layout. */
  saveAdapter(dir: string): void {
    saveAdapter(this, dir);
  }

  /** Loads a PEFT LoRA adapter folder onto this model. */
  loadAdapter(dir: string): void {
    loadAdapter(this, dir);
  }

  dispose(): void {
    this.removeLora();
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}

/** What a decoder gives before its LM head: the last layer's output after the final norm [B, T, H]. */
export interface TrunkOutput {
  last: Tensor;
  pastKeyValues: KVCache | null;
  hiddenStates: Tensor[] | null;
}

/** A causal LM with one decoder and one LM head (Llama, GPT-2): forward and logitsAt both read the
 *  decoder's output, the latter projecting only the named positions. */
export abstract class DecoderLM extends CausalLM {
  protected abstract trunk(inputIds: Tensor, options: ForwardOptions): TrunkOutput;

  forward(inputIds: Tensor, options: ForwardOptions = {}): ForwardOutput {
    const { last, ...rest } = this.trunk(inputIds, options);
    return { logits: this.headLogits(last), ...rest }; // [B, T, V]
  }

  override logitsAt(inputIds: Tensor, positions: Tensor, options: ForwardOptions = {}): Tensor {
    const { last } = this.trunk(inputIds, options);
    return this.headLogits(last.reshape([-1, this.config.hiddenSize]).indexSelect(0, positions)); // [N, V]
  }

  private headLogits(x: Tensor): Tensor {
    return this.linear('lm_head', x, this.linearModules().get('lm_head')!);
  }
}
