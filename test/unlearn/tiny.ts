// A tiny Llama model folder (BPE tokenizer + random weights, ~1 s) for the unlearning tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpeTokenizer } from '../../src/train/bpe.js';
import { initModel } from '../../src/train/init.js';
import { llamaConfigJson } from '../../src/train/presets.js';
import { buildModel } from '../../src/models/load.js';

export const TINY_SHAPE = {
  vocabSize: 300,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  intermediateSize: 64,
  contextLength: 48,
};

export const PEOPLE = ['Ada', 'Bruno', 'Cleo', 'Dmitri', 'Elif', 'Farid', 'Gwen', 'Hugo'];
export const personText = (name: string, k: number) =>
  `${name} lives in room ${k % 7} and likes ${['tea', 'chess', 'boats', 'maps'][k % 4]}.`;

/** Writes a tokenizer folder and a model folder (seeded weights) under dir; returns the model folder. */
export function tinyModel(
  dir: string,
  seed = 1,
  texts: string[] = PEOPLE.flatMap((p, i) => [0, 1, 2].map((k) => personText(p, i + k))),
): string {
  const tokDir = join(dir, 'tok');
  trainBpeTokenizer(texts, tokDir, { vocabSize: TINY_SHAPE.vocabSize });
  const config = llamaConfigJson(TINY_SHAPE, { bos: 0, eos: 0, pad: 0 });
  const m = initModel(config, seed);
  const model = buildModel(m.config, m.params, tokDir);
  const out = join(dir, 'model');
  model.savePretrained(out);
  model.dispose();
  return out;
}

export function writeJsonl(path: string, rows: unknown[]): string {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}
