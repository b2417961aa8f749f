import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { torch, loadTokenizer } from '../../src/index.js';
import { trainBpeTokenizer } from '../../src/train/bpe.js';
import { initModel } from '../../src/train/init.js';
import { llamaConfigJson, type StageSchedule } from '../../src/train/presets.js';
import { trainStage } from '../../src/train/trainer.js';
import { packBlocks } from '../../src/train/batches.js';
import { withTempDir } from '../helpers/tmp.js';

const shape = { vocabSize: 300, hiddenSize: 32, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 64, contextLength: 32 };
const schedule: StageSchedule = { steps: 24, batchSize: 4, lr: 5e-3, warmupSteps: 2, weightDecay: 0.01 };
const texts = Array.from({ length: 60 }, (_, i) => `Entry ${i % 12}: the lamp in room ${i % 5} is ${['red', 'blue', 'green'][i % 3]}.`);
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function setup(dir: string) {
  trainBpeTokenizer(texts, join(dir, 'tok'), { vocabSize: shape.vocabSize });
  const tok = loadTokenizer(join(dir, 'tok'));
  const docs = await Promise.all(texts.map((t) => tok.encode(t)));
  return { tok, examples: packBlocks(docs, shape.contextLength, 0) };
}

test('a training stage: the loss falls, the same seed gives identical weights, and --resume after a crash matches an uninterrupted run', async () => {
  await withTempDir('lethe-train-', async (dir) => {
    const { tok, examples } = await setup(dir);
    const baseline = torch.liveTensors();
    const config = llamaConfigJson(shape, { bos: 0, eos: 0, pad: 0 });
    const run = (out: string, opts: { resume?: boolean; crashAt?: number } = {}) =>
      trainStage({
        name: 'base',
        model: initModel(config, 7),
        examples,
        schedule,
        seed: 3,
        outDir: join(dir, out),
        tokenizerDir: join(dir, 'tok'),
        padId: tok.padTokenId,
        checkpointEvery: 8,
        resume: opts.resume,
        report: (line) => {
          const step = Number(/step (\d+)\//.exec(line)?.[1]);
          if (opts.crashAt && step >= opts.crashAt) throw new Error('simulated crash');
        },
      });
    const a = await run('a');
    const log = readFileSync(join(dir, 'a', 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(log.length >= 5);
    assert.ok(log.at(-1).loss < log[0].loss * 0.8, `loss ${log[0].loss} → ${log.at(-1).loss}`);
    assert.ok(log.every((r) => r.tokensPerSec > 0 && r.stage === 'base'));
    assert.equal(a.steps, 24);
    assert.ok(existsSync(join(dir, 'a', 'tokenizer.json')) && existsSync(join(dir, 'a', 'config.json')));
    assert.ok(!existsSync(join(dir, 'a', 'checkpoint')), 'the checkpoint is removed when the stage completes');

    await run('b');
    assert.equal(sha(join(dir, 'b', 'model.safetensors')), sha(join(dir, 'a', 'model.safetensors')), 'same seed → same weights');

    await assert.rejects(() => run('c', { crashAt: 12 }), /simulated crash/);
    assert.ok(existsSync(join(dir, 'c', 'checkpoint', 'optimizer.safetensors')), 'a checkpoint survives the crash');
    const resumed = await run('c', { resume: true });
    assert.equal(resumed.resumedFrom, 8);
    assert.equal(sha(join(dir, 'c', 'model.safetensors')), sha(join(dir, 'a', 'model.safetensors')), 'resumed run → the same weights');
    assert.equal(torch.liveTensors(), baseline, 'every stage, the crashed one too, frees its model and optimizer');
  });
});
