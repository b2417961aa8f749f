// loadModel: a Hugging Face folder → a CausalLM, with every tensor checked against the config.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { readConfig, type ModelConfig } from './config.js';
import { loadWeights } from './weights.js';
import { gpt2Shapes, GPT2LMHeadModel } from './gpt2.js';
import { llamaShapes, LlamaForCausalLM } from './llama.js';
import type { CausalLM } from './model.js';
import { activation } from './activations.js';
import { EnsembleLM, ensembleMembers, isEnsembleFolder } from './ensemble.js';
import { readAdapterConfig } from './lora.js';
import { LetheError } from '../util/errors.js';

export interface LoadModelOptions {
  device?: torch.Device;
  /** Default: float32 on the CPU; on CUDA the file's dtype (bf16 stays bf16). */
  dtype?: torch.DType;
}

// Buffers that some checkpoints carry and the model recomputes.
const IGNORED = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /rotary_emb\.inv_freq$/];

export function expectedShapes(config: ModelConfig): Map<string, number[]> {
  return config.family === 'gpt2' ? gpt2Shapes(config) : llamaShapes(config);
}

function normalizeNames(config: ModelConfig, tensors: Record<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(tensors)) {
    if (IGNORED.some((r) => r.test(name))) {
      t.dispose();
      continue;
    }
    // The original GPT-2 checkpoints name tensors without the `transformer.` prefix.
    const full = config.family === 'gpt2' && !name.startsWith('transformer.') && name !== 'lm_head.weight' ? `transformer.${name}` : name;
    out.set(full, t);
  }
  return out;
}

/** Checks names and shapes against the config; a tied head in the file is dropped (HF ties it to the embedding). */
export function checkTensors(dir: string, config: ModelConfig, found: Map<string, Tensor>): Map<string, Tensor> {
  const expected = expectedShapes(config);
  if (config.tieWordEmbeddings && found.has('lm_head.weight')) {
    found.get('lm_head.weight')!.dispose();
    found.delete('lm_head.weight');
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n));
  const unexpected = [...found.keys()].filter((n) => !expected.has(n));
  const problems: string[] = [];
  if (missing.length)
    problems.push(`missing tensors: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`);
  if (unexpected.length)
    problems.push(
      `unexpected tensors: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` and ${unexpected.length - 8} more` : ''}`,
    );
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (t && t.shape.join() !== shape.join()) problems.push(`tensor '${name}' has shape [${t.shape}] but the config implies [${shape}]`);
  }
  if (problems.length) {
    for (const t of found.values()) t.dispose();
    throw new LetheError('BAD_CHECKPOINT', `${dir}: the weights do not match config.json (${config.modelType}): ${problems.join('; ')}`);
  }
  // State-dict order, as the architecture lists it.
  return new Map([...expected.keys()].map((n) => [n, found.get(n)!]));
}

export function buildModel(config: ModelConfig, params: Map<string, Tensor>, sourceDir: string | null): CausalLM {
  return config.family === 'gpt2' ? new GPT2LMHeadModel(config, params, sourceDir) : new LlamaForCausalLM(config, params, sourceDir);
}

/** Loads a Hugging Face causal LM folder (config.json + safetensors). Parameters require grad, as in PyTorch. */
export function loadModel(dir: string, options: LoadModelOptions = {}): CausalLM {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LetheError('NOT_FOUND', `loadModel: ${dir} is not a folder`);
  torch.cuda.checkDevice(options.device);
  if (isEnsembleFolder(dir)) return loadEnsemble(dir, options);
  if (isAdapterFolder(dir)) return loadWithAdapter(dir, options);
  const config = readConfig(dir);
  // Checked before any weight is read: an unknown activation would otherwise surface from the model constructor.
  try {
    activation(config.activation);
  } catch (err) {
    if (!(err instanceof LetheError)) throw err;
    throw new LetheError('BAD_INPUT', `${join(dir, 'config.json')}: ${err.message}`);
  }
  const onCpu = !options.device || options.device === 'cpu';
  const dtype = options.dtype ?? (onCpu ? 'float32' : undefined);
  const tensors = loadWeights(dir, { device: options.device, dtype });
  const params = checkTensors(dir, config, normalizeNames(config, tensors));
  for (const t of params.values()) torch.keep(t).requiresGrad = true;
  try {
    return buildModel(config, params, resolve(dir));
  } catch (err) {
    for (const t of params.values()) t.dispose();
    throw err;
  }
}

/** An ensemble folder (SISA's: sisa.json listing member folders) as one model averaging the members' probabilities. */
function loadEnsemble(dir: string, options: LoadModelOptions): CausalLM {
  const members: CausalLM[] = [];
  try {
    for (const m of ensembleMembers(dir)) members.push(loadModel(m, options));
    return new EnsembleLM(members, resolve(dir));
  } catch (err) {
    for (const m of members) m.dispose();
    throw err;
  }
}

/** A PEFT adapter folder (adapter_config.json, no config.json), as `lethe forget --lora` writes. */
export function isAdapterFolder(dir: string): boolean {
  return existsSync(join(dir, 'adapter_config.json')) && !existsSync(join(dir, 'config.json'));
}

/** The base model an adapter folder names (base_model_name_or_path), which must be a local folder. */
export function adapterBase(dir: string): string {
  const path = join(dir, 'adapter_config.json');
  const base = readAdapterConfig(path).base_model_name_or_path;
  if (typeof base !== 'string' || !base) throw new LetheError('BAD_INPUT', `${path}: base_model_name_or_path names no base model folder`);
  const resolved = resolve(dir, base);
  if (!existsSync(join(resolved, 'config.json')))
    throw new LetheError(
      'NOT_FOUND',
      `${path}: its base model ${base} is not a model folder here (load the base and call loadAdapter instead)`,
    );
  return resolved;
}

function loadWithAdapter(dir: string, options: LoadModelOptions): CausalLM {
  const model = loadModel(adapterBase(dir), options);
  try {
    model.loadAdapter(dir);
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
