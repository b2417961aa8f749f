// Writing HF folders Python loads unchanged: config.json, model.safetensors (or shards + index,
// above maxShardSize), tokenizer files copied; PEFT adapters. Files are written into a temporary
// folder first and moved in one by one, so a crash never leaves a half-written weight file.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from './model.js';
import { parsePeftConfig, peftConfigJson, loraScale, readAdapterConfig } from './lora.js';
import { LetheError } from '../util/errors.js';
import { pathsOverlap } from '../util/output.js';

export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
];

export interface SaveOptions {
  /** Bytes per safetensors shard (HF's default 5 GB); above it the weights are sharded with an index. */
  maxShardSize?: number;
}

function tempSibling(dir: string): string {
  const tmp = join(dirname(resolve(dir)), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  return tmp;
}

/** Moves every file of `tmp` into `dir` (rename: atomic per file), then removes `tmp`. */
function commit(tmp: string, dir: string, staleWeights: boolean): void {
  mkdirSync(dir, { recursive: true });
  if (staleWeights) {
    for (const f of readdirSync(dir)) {
      if (/^model(-\d{5}-of-\d{5})?\.safetensors$/.test(f) || f === 'model.safetensors.index.json') rmSync(join(dir, f));
    }
  }
  for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(dir, f));
  rmSync(tmp, { recursive: true, force: true });
}

/** The folder a model was loaded from is never written, nor one inside it or holding it (real paths: no symlink aliases it). */
function refuseSource(model: CausalLM, dir: string, what: string): void {
  if (model.sourceDir && pathsOverlap(dir, model.sourceDir)) {
    throw new LetheError(
      'BAD_INPUT',
      `${what}: ${dir} overlaps ${model.sourceDir}, the folder the model was loaded from; Lethe never modifies an input model. Save to a new folder.`,
    );
  }
}

/** Groups tensors into shards of at most maxShardSize bytes (a larger tensor gets a shard of its own). */
function shard(entries: [string, Tensor][], maxShardSize: number): [string, Tensor][][] {
  const shards: [string, Tensor][][] = [[]];
  let size = 0;
  for (const e of entries) {
    const bytes = e[1].numel() * torch.DTYPE_SIZE[e[1].dtype];
    if (size > 0 && size + bytes > maxShardSize) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(e);
    size += bytes;
  }
  return shards;
}

export function savePretrained(model: CausalLM, dir: string, options: SaveOptions = {}): void {
  refuseSource(model, dir, 'savePretrained');
  if (model.loras.size)
    throw new LetheError(
      'BAD_INPUT',
      'savePretrained: the model has LoRA adapters; call mergeLora() first, or saveAdapter() to save only the adapter',
    );
  const maxShardSize = options.maxShardSize ?? 5e9;
  const tmp = tempSibling(dir);
  try {
    const raw = { ...model.config.raw };
    if ('torch_dtype' in raw) raw.torch_dtype = model.dtype;
    raw.dtype = model.dtype;
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(raw, null, 2) + '\n');
    const entries = [...model.params.entries()];
    const shards = shard(entries, maxShardSize);
    const meta = { format: 'pt' };
    if (shards.length === 1) {
      torch.saveSafetensors(join(tmp, 'model.safetensors'), Object.fromEntries(entries), meta);
    } else {
      const weightMap: Record<string, string> = {};
      let total = 0;
      shards.forEach((s, k) => {
        const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
        torch.saveSafetensors(join(tmp, file), Object.fromEntries(s), meta);
        for (const [name, t] of s) {
          weightMap[name] = file;
          total += t.numel() * torch.DTYPE_SIZE[t.dtype];
        }
      });
      writeFileSync(
        join(tmp, 'model.safetensors.index.json'),
        JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n',
      );
    }
    if (model.sourceDir) {
      for (const f of TOKENIZER_FILES) if (existsSync(join(model.sourceDir, f))) copyFileSync(join(model.sourceDir, f), join(tmp, f));
    }
    commit(tmp, dir, true);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

const peftName = (module: string, which: 'A' | 'B') => `base_model.model.${module}.lora_${which}.weight`;

/** Saves the LoRA adapters in PEFT's layout. */
export function saveAdapter(model: CausalLM, dir: string): void {
  refuseSource(model, dir, 'saveAdapter');
  if (!model.loraConfig) throw new LetheError('BAD_INPUT', 'saveAdapter: the model has no LoRA adapters (addLora or loadAdapter first)');
  const tmp = tempSibling(dir);
  try {
    const fanInFanOut = model.config.family === 'gpt2';
    const cfg = peftConfigJson(model.loraConfig, model.sourceDir ?? '', fanInFanOut);
    writeFileSync(join(tmp, 'adapter_config.json'), JSON.stringify(cfg, null, 2) + '\n');
    const tensors: Record<string, Tensor> = {};
    for (const [m, a] of model.loras) {
      tensors[peftName(m, 'A')] = a.a;
      tensors[peftName(m, 'B')] = a.b;
    }
    torch.saveSafetensors(join(tmp, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    commit(tmp, dir, false);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Loads a PEFT LoRA adapter folder onto the model (the base is frozen, the adapter trainable). */
export function loadAdapter(model: CausalLM, dir: string): void {
  const cfgPath = join(dir, 'adapter_config.json');
  const weightsPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(cfgPath)) throw new LetheError('NOT_FOUND', `${dir} is not a PEFT adapter folder: no adapter_config.json`);
  if (!existsSync(weightsPath)) {
    throw existsSync(join(dir, 'adapter_model.bin'))
      ? new LetheError(
          'BAD_CHECKPOINT',
          `${dir} holds adapter_model.bin (pickle), which Lethe never loads; re-save the adapter with safe_serialization=True`,
        )
      : new LetheError('NOT_FOUND', `${dir} has no adapter_model.safetensors`);
  }
  const config = parsePeftConfig(readAdapterConfig(cfgPath), cfgPath);
  const modules = model.addLora(config);
  const { tensors } = torch.loadSafetensors(weightsPath, { device: model.device as torch.Device, dtype: model.dtype });
  try {
    const expected = new Set(modules.flatMap((m) => [peftName(m, 'A'), peftName(m, 'B')]));
    // PEFT sometimes keeps the adapter name in keys (".lora_A.default.weight"); accept both.
    const byName = new Map(Object.entries(tensors).map(([k, t]) => [k.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), t]));
    const unexpected = [...byName.keys()].filter((k) => !expected.has(k));
    if (unexpected.length)
      throw new LetheError(
        'BAD_CHECKPOINT',
        `${weightsPath}: tensors for modules the config does not target: ${unexpected.slice(0, 5).join(', ')}`,
      );
    torch.noGrad(() => {
      for (const m of modules) {
        const adapter = model.loras.get(m)!;
        for (const [which, target] of [
          ['A', adapter.a],
          ['B', adapter.b],
        ] as const) {
          const t = byName.get(peftName(m, which));
          if (!t) throw new LetheError('BAD_CHECKPOINT', `${weightsPath}: missing ${peftName(m, which)}`);
          if (t.shape.join() !== target.shape.join())
            throw new LetheError(
              'BAD_CHECKPOINT',
              `${weightsPath}: ${peftName(m, which)} has shape [${t.shape}], expected [${target.shape}]`,
            );
          target.copy_(t);
        }
        adapter.scale = loraScale(config);
      }
    });
  } catch (err) {
    model.removeLora();
    for (const p of model.params.values()) p.requiresGrad = true;
    throw err;
  } finally {
    torch.dispose(tensors);
  }
}
