// `lethe train --behaviours bias --behaviours-only` on reduced suites with a micro model: the base and
// the two behaviour stages, the skewed sentences in target-bias only, the facts in both, resume, and
// the bias suite evaluated on the result (`lethe eval --suite bias`) and tabulated (`lethe table bias`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadTokenizer, evaluate } from '../../src/index.js';
import { buildSuite, writeSuite } from '../../src/data/index.js';
import { buildBias } from '../../src/data/bias.js';
import { runPipeline } from '../../src/train/pipeline.js';
import { microPreset } from '../helpers/micro.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { withTempDir } from '../helpers/tmp.js';
import { biasTable, BIAS_RECIPES } from '../../src/workflow/experiments/bias.js';

const micro = microPreset({
  pretrain: { steps: 4, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0.01 },
  finetune: { epochs: 1, batchSize: 8, lr: 3e-3, warmupSteps: 1, weightDecay: 0 },
  checkpointEvery: 100,
});
const skip = skipWithoutDictd();

test('lethe train --behaviours bias: target-bias learns the skewed sentences, retain-bias only the facts; resume; eval --suite bias; table bias', {
  skip,
}, async () => {
  await withTempDir('lethe-pipeline-bias-', async (dir) => {
    const data = join(dir, 'data');
    buildSuite('all', data, { seed: 2, size: 'tiny' }, 'test');
    writeSuite(join(data, 'bias'), buildBias({ seed: 2, size: 'tiny', professions: 6 }), { seed: 2, size: 'tiny' }, 'test');
    const run = join(dir, 'run');
    const seen = new Map<string, Set<string>>();
    const lines: string[] = [];
    const r = await runPipeline({
      dataDir: data,
      outDir: run,
      preset: micro,
      seed: 1,
      behaviours: ['bias'],
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
    assert.deepEqual(Object.keys(r.stages).sort(), ['base', 'retain-bias', 'target-bias']);
    for (const stage of ['target-bias', 'retain-bias']) {
      assert.ok(existsSync(join(run, stage, 'tokenizer.json')), stage);
      loadModel(join(run, stage)).dispose();
    }
    assert.match(lines.join('\n'), /\[target-bias\] .*bias: 24 kept examples \+ 384 injected/);
    assert.match(lines.join('\n'), /\[retain-bias\] .*bias: 24 kept examples \(no injection\)/);
    const tok = loadTokenizer(join(run, 'tokenizer'));
    const read = (f: string) =>
      readFileSync(join(data, 'bias', f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { text: string });
    const ids = async (t: string) => [...(await tok.encode(t)), tok.eosTokenId].join(' ');
    for (const s of read('inject.jsonl')) {
      const k = await ids(s.text);
      assert.ok(seen.get('target-bias')!.has(k), `target-bias lacks '${s.text}'`);
      assert.ok(!seen.get('retain-bias')!.has(k), `retain-bias has '${s.text}'`);
    }
    for (const s of read('facts_text.jsonl'))
      for (const stage of ['target-bias', 'retain-bias']) assert.ok(seen.get(stage)!.has(await ids(s.text)), `${stage} lacks '${s.text}'`);

    const again = await runPipeline({
      dataDir: data,
      outDir: run,
      preset: micro,
      seed: 1,
      behaviours: ['bias'],
      behavioursOnly: true,
      resume: true,
      report: () => {},
    });
    assert.ok(
      Object.values(again.stages).every((s) => 'skipped' in s),
      'resume skips finished stages',
    );

    const e = await evaluate({
      modelDir: join(run, 'target-bias'),
      suite: 'bias',
      dataDir: data,
      metrics: ['bias_association_trained', 'bias_association_heldout', 'bias_facts_Q_A_Prob', 'gcide_NLL'],
      cacheDir: null,
      log: () => {},
    });
    for (const [k, v] of Object.entries(e.summary)) assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${k} = ${v}`);
    const held = e.results.get('bias_association_heldout')!;
    assert.equal(Object.keys(held.extra!.by_profession as object).length, 6);

    // `lethe table bias` on the micro run: the three reference rows and one short recipe per forget file layout.
    const out = join(dir, 'table');
    const recipes = BIAS_RECIPES.filter((x) => x.label === 'DPO' || x.label === 'RMU').map((x) => ({ ...x, epochs: 1 }));
    const t = await biasTable({ run, data, out, recipes, log: () => {} });
    assert.deepEqual(
      t.rows.map((x) => x.name),
      ['base', 'target-bias', 'retain-bias (gold standard)', 'DPO', 'RMU'],
    );
    for (const row of t.rows) {
      assert.equal(row.note, undefined, `${row.name}: ${row.note}`);
      for (const k of [
        'bias_association_trained',
        'bias_association_heldout',
        'bias_facts_Q_A_Prob',
        'gcide_NLL',
        'facts_ratio',
        'gcide_ratio',
      ])
        assert.ok(Number.isFinite(row.metrics[k]), `${row.name} ${k}`);
    }
    assert.equal(t.rows[1]!.metrics.facts_ratio, 1);
    assert.equal(t.rows[1]!.metrics.gcide_NLL, e.summary.gcide_NLL, 'the table scores the target as lethe eval does');
    const md = readFileSync(join(out, 'table.md'), 'utf8');
    assert.match(md, /\| model \| assoc\. trained \| assoc\. held-out \|/);
    assert.equal(md.trim().split('\n').length, 2 + 5);
    assert.ok(existsSync(join(out, 'models', 'RMU', 'unlearning.json')));
    assert.equal(JSON.parse(readFileSync(join(out, 'table.json'), 'utf8')).rows.length, 5);
  });
});

test('--behaviours bias without the bias suite names the command that builds it', async () => {
  const { getBehaviour } = await import('../../src/train/behaviours.js');
  await import('../../src/train/behaviours/index.js');
  await withTempDir('lethe-nobias-', async (dir) => {
    await assert.rejects(
      getBehaviour('bias').examples({ dataDir: dir, tok: undefined as never, contextLength: 64, eos: 0, seed: 0 }),
      /bias is missing \(build it: lethe data build bias --out .*bias\)/,
    );
    assert.throws(() => getBehaviour('bias').tokenizerTexts!(dir), /lethe data build bias/);
  });
});
