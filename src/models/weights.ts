// Reading a model folder's weights: model.safetensors, or shards listed by
// model.safetensors.index.json. Pickle checkpoints are refused (unpickling can run code).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { LetheError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';

export interface LoadWeightsOptions {
  device?: torch.Device;
  dtype?: torch.DType;
}

const PICKLE_FILES = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'model.pt', 'model.pth', 'tf_model.h5', 'flax_model.msgpack'];

export function refusePickle(dir: string): never {
  const found = PICKLE_FILES.find((f) => existsSync(join(dir, f)));
  if (found?.startsWith('pytorch_model')) {
    throw new LetheError(
      'BAD_CHECKPOINT',
      `${dir} holds ${found}, a pickle checkpoint. Lethe never unpickles (loading a pickle can run arbitrary code). ` +
        'Convert it to safetensors once, in Python: `from transformers import AutoModelForCausalLM; ' +
        `AutoModelForCausalLM.from_pretrained("${dir}").save_pretrained("${dir}-safetensors", safe_serialization=True)\` ` +
        '(or use the safetensors "convert" tool), then load the new folder.',
    );
  }
  throw new LetheError(
    'NOT_FOUND',
    `${dir} has no model.safetensors or model.safetensors.index.json${found ? ` (only ${found}, which Lethe cannot read)` : ''}`,
  );
}

/** Every tensor of the folder's weights, by name. */
export function loadWeights(dir: string, options: LoadWeightsOptions = {}): Record<string, torch.Tensor> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) return torch.loadSafetensors(single, options).tensors;
  if (!existsSync(index)) refusePickle(dir);
  const parsed = readJsonFile(index, 'BAD_CHECKPOINT') as { weight_map?: Record<string, string> };
  const map = parsed.weight_map;
  if (!map || typeof map !== 'object') throw new LetheError('BAD_CHECKPOINT', `${index} has no weight_map object`);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file === '' || file === '.' || file === '..')
      throw new LetheError(
        'BAD_CHECKPOINT',
        `${index}: weight_map['${name}'] must be a file name in the folder, got ${JSON.stringify(file)}`,
      );
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const out: Record<string, torch.Tensor> = {};
  try {
    for (const [file, names] of byFile) {
      const path = join(dir, file);
      if (!existsSync(path) || !statSync(path).isFile())
        throw new LetheError('NOT_FOUND', `${index} lists ${file}, which is not a file in ${dir}`);
      Object.assign(out, torch.loadSafetensors(path, { ...options, names }).tensors);
    }
  } catch (err) {
    torch.dispose(out);
    throw err;
  }
  return out;
}
