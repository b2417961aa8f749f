// The recipe keeps general ability: a fine-tune with the preset's replay (fresh general text each
// epoch + world facts) stays close to its base on held-out GCIDE NLL and world-facts P(true), while
// the same fine-tune without replay loses them — so the check below can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildSuite } from '../../src/data/index.js';
import { runPipeline } from '../../src/train/pipeline.js';
import { assessStage } from '../../src/eval/general.js';
import type { Preset } from '../../src/train/presets.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { withTempDir } from '../helpers/tmp.js';

const skip = skipWithoutDictd();

const small = (replay: Preset['replay'], lr: number): Preset => ({
  name: 'recipe-test',
  model: { vocabSize: 512, hiddenSize: 64, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 128, contextLength: 64 },
  pretrain: { steps: 120, batchSize: 16, lr: 5e-3, warmupSteps: 10, weightDecay: 0.01 },
  finetune: { epochs: 3, batchSize: 16, lr, warmupSteps: 5, weightDecay: 0 },
  checkpointEvery: 0,
  bioPhrasings: 2,
  factsRepeat: 4,
  replay,
});

test('a fine-tune with replay keeps general English and world facts; without replay it loses them', { skip }, async () => {
  await withTempDir('lethe-recipe-', async (dir) => {
    const data = join(dir, 'data');
    buildSuite('all', data, { seed: 5, size: 'tiny' }, 'test');
    const quality = async (name: string, preset: Preset) => {
      const r = await runPipeline({
        dataDir: data,
        outDir: join(dir, name),
        preset,
        seed: 1,
        forgetSplits: [],
        bookRetain: false,
        report: () => {},
        assess: (d) => assessStage(d, data, { rows: 60 }),
      });
      return { base: r.quality.base!, target: r.quality.target! };
    };
    const kept = await quality('with-replay', small({ gcide: 400, factsQa: 300, factsText: 116 }, 2e-3));
    assert.ok(
      kept.target.gcideNll! <= 1.1 * kept.base.gcideNll!,
      `with replay: target GCIDE NLL ${kept.target.gcideNll} vs base ${kept.base.gcideNll}`,
    );
    assert.ok(
      kept.target.worldFactsProb! >= 0.9 * kept.base.worldFactsProb!,
      `with replay: target facts P ${kept.target.worldFactsProb} vs base ${kept.base.worldFactsProb}`,
    );
    const lost = await quality('no-replay', small({ gcide: 0, factsQa: 0, factsText: 0 }, 1e-2));
    assert.ok(
      lost.target.gcideNll! > 1.1 * lost.base.gcideNll! || lost.target.worldFactsProb! < 0.9 * lost.base.worldFactsProb!,
      `without replay the check should fail: NLL ${lost.base.gcideNll} → ${lost.target.gcideNll}, facts ${lost.base.worldFactsProb} → ${lost.target.worldFactsProb}`,
    );
  });
});
