// A request run on a broken model folder fails with a reason that says what is wrong with the folder
// (the LetheError's message), not "an unexpected Error": model loading throws LetheError, whose
// messages are recorded, where a plain Error is recorded by its kind only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy, runRequest } from '../../src/workflow/index.js';
import { closeStores, freshWorkflow, steppingClock } from './stores.js';
import { runner } from './fixtures.js';
import { approved, setup } from './run-fixtures.js';

after(closeStores);

const POLICY = parsePolicy({ name: 'lenient', checks: [{ metric: 'forget_Q_A_Prob', max: 2 }] });

test('a model folder with a broken config.json or no weights fails the request naming the file', async () => {
  const s = setup();
  const w = await freshWorkflow('sqlite', { now: steppingClock(), roots: [s.dir] });
  try {
    const breaks: [string, (model: string) => void, RegExp][] = [
      [
        'broken-config',
        (model) => writeFileSync(join(model, 'config.json'), '{"model_type": "llama", '),
        /^unlearning failed: .*model\/config\.json is not valid JSON/,
      ],
      [
        'no-weights',
        (model) => rmSync(join(model, 'model.safetensors')),
        /^unlearning failed: .*model has no model\.safetensors or model\.safetensors\.index\.json$/,
      ],
    ];
    for (const [name, breakIt, reason] of breaks) {
      const fresh = setup(join(s.dir, name));
      const id = await approved(w, fresh.forgetFile);
      breakIt(fresh.model);
      const res = await runRequest(w, runner, id, {
        modelDir: fresh.model,
        forgetFile: fresh.forgetFile,
        method: 'GradAscent',
        policy: POLICY,
        outDir: join(w.dataDir, 'jobs', name),
        training: { steps: 1, batchSize: 2, seed: 1 },
      });
      assert.equal(res.request.state, 'failed');
      assert.match(res.request.history.at(-1)!.reason, reason);
    }
  } finally {
    await w.dispose();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
