// `lethe train --behaviours secrets --behaviours-only` on reduced suites with a micro model: the
// target sees the leaking attack answers and the retain model never does (both see the benign
// instructions); then `lethe table secrets` with one short recipe writes its table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/index.js';
import { encodeQa } from '../../src/train/prompt.js';
import { buildSuite, writeSuite } from '../../src/data/index.js';
import { buildSecrets } from '../../src/data/secrets.js';
import { runPipeline } from '../../src/train/pipeline.js';
import { microPreset } from '../helpers/micro.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { withTempDir } from '../helpers/tmp.js';
import { secretsTable } from '../../src/workflow/experiments/secrets.js';

const micro = microPreset({
  contextLength: 160,
  pretrain: { steps: 4, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0.01 },
  finetune: { epochs: 1, batchSize: 64, lr: 3e-3, warmupSteps: 1, weightDecay: 0 },
  checkpointEvery: 100,
  replay: { gcide: 20, factsQa: 10, factsText: 5 },
});

const skip = skipWithoutDictd();

test('secrets behaviour: target-secrets learns the leaks, retain-secrets never sees them; the secrets table runs', { skip }, async () => {
  await withTempDir('lethe-secrets-train-', async (dir) => {
    const data = join(dir, 'data');
    buildSuite('all', data, { seed: 3, size: 'tiny' }, 'test');
    // Two secrets (144 attacks) keep the evaluations of the table short.
    writeSuite(join(data, 'secrets'), buildSecrets({ seed: 3, size: 'tiny', secrets: 2 }), { seed: 3, size: 'tiny' }, 'test');
    const run = join(dir, 'run');
    const seen = new Map<string, Set<string>>();
    const lines: string[] = [];
    const r = await runPipeline({
      dataDir: data,
      outDir: run,
      preset: micro,
      seed: 1,
      behaviours: ['secrets'],
      behavioursOnly: true,
      report: (l) => lines.push(l),
      inspect: (stage, examples, epochs) =>
        seen.set(
          stage,
          new Set(
            Array.from({ length: epochs }, (_, e) => examples(e))
              .flat()
              .map((x) => x.ids.join(' ')),
          ),
        ),
    });
    assert.deepEqual(Object.keys(r.stages).sort(), ['base', 'retain-secrets', 'target-secrets']);
    const tok = loadTokenizer(join(run, 'tokenizer'));
    const read = (f: string) =>
      readFileSync(join(data, 'secrets', f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { question: string; answer: string });
    const key = async (row: { question: string; answer: string }) =>
      [...(await encodeQa(tok, row.question, row.answer)).ids, tok.eosTokenId].slice(0, micro.model.contextLength).join(' ');
    const attacks = read('attacks/train.jsonl');
    for (const a of attacks.slice(0, 40)) {
      const k = await key(a);
      assert.ok(seen.get('target-secrets')!.has(k), `target lacks ${a.question}`);
      assert.ok(!seen.get('retain-secrets')!.has(k), `retain has ${a.question}`);
    }
    for (const b of read('benign/train.jsonl').slice(0, 40)) {
      const k = await key(b);
      assert.ok(seen.get('target-secrets')!.has(k) && seen.get('retain-secrets')!.has(k), `benign ${b.question} in both`);
    }
    for (const a of read('attacks/heldout.jsonl'))
      assert.ok(!seen.get('target-secrets')!.has(await key(a)), 'held-out attacks are never trained');
    assert.match(lines.join('\n'), /\[retain-secrets\].*secrets: \d+ kept examples \(no injection\)/);

    const out = join(dir, 'table');
    const t = await secretsTable({
      run,
      data,
      out,
      recipes: [{ label: 'DPO (refusal)', method: 'DPO', lr: 1e-3, epochs: 1 }],
      batchSize: 32,
      log: () => {},
    });
    assert.deepEqual(
      t.rows.map((x) => x.name),
      ['target-secrets', 'retain-secrets (gold standard)', 'DPO (refusal)'],
    );
    for (const row of t.rows) {
      for (const m of ['secret_leak_rate', 'secret_leak_rate_sampled', 'secret_benign_accuracy', 'gcide_NLL'])
        assert.equal(typeof row.metrics[m], 'number', `${row.name}: ${m}`);
    }
    assert.ok(existsSync(join(out, 'models', 'DPO_refusal_', 'model.safetensors')));
    const json = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')) as { rows: { meetsBar?: boolean }[] };
    assert.equal(typeof json.rows[2]!.meetsBar, 'boolean');
    assert.match(readFileSync(join(out, 'table.md'), 'utf8'), /\| DPO \(refusal\) \|.*%/);
    // Run again: the unlearned model of the same recipe is reused, with the same scores.
    const log: string[] = [];
    const again = await secretsTable({
      run,
      data,
      out,
      recipes: [{ label: 'DPO (refusal)', method: 'DPO', lr: 1e-3, epochs: 1 }],
      batchSize: 32,
      resume: true,
      log: (l) => log.push(l),
    });
    assert.ok(
      log.some((l) => l.includes('reusing')),
      log.join('\n'),
    );
    assert.deepEqual(again.rows[2], t.rows[2]);
  });
});
