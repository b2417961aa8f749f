// The relearning column of `lethe table persona` and the demo's erasure table: scoreModel measures the
// forget metrics again after a short fine-tune of a copy on the forgotten people's biographies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSuite } from '../../src/data/index.js';
import { columnMetrics, PERSONA_COLUMNS, scoreModel } from '../../src/workflow/experiments/persona-book.js';
import { requireFixture } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

test('scoreModel with a relearning attack reports relearn_forget_Q_A_Prob beside forget_Q_A_Prob', async () => {
  const dir = tempDir('lethe-table-relearn-');
  const data = join(dir, 'data');
  buildSuite('persona', join(data, 'persona'), { seed: 2, size: 'tiny' }, 'test');
  const model = join(dir, 'model');
  mkdirSync(model);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(model, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
  assert.deepEqual(
    columnMetrics(PERSONA_COLUMNS).filter((m) => m.startsWith('relearn_') || m.startsWith('holdout_')),
    [],
    'columns computed beside the metrics are not requested as metrics',
  );
  const common = { dir: model, suite: 'persona:forget10', data, retain: model, metrics: ['forget_Q_A_Prob'], holdout: [] };
  const plain = await scoreModel({ ...common, name: 'plain', evalDir: join(dir, 'eval-plain') });
  assert.equal(plain.relearn_forget_Q_A_Prob, undefined);
  const attacked = await scoreModel({ ...common, name: 'attacked', evalDir: join(dir, 'eval-attacked'), relearn: { steps: 3, lr: 1e-2 } });
  assert.equal(attacked.forget_Q_A_Prob, plain.forget_Q_A_Prob, 'the model itself is scored unchanged');
  const relearned = attacked.relearn_forget_Q_A_Prob;
  assert.ok(
    typeof relearned === 'number' && relearned !== attacked.forget_Q_A_Prob,
    `relearned ${relearned} vs ${attacked.forget_Q_A_Prob}`,
  );
});
