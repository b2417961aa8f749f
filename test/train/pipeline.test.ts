// The whole `lethe train` pipeline on reduced suites and a micro model: every stage's folder
// loads, the retain models really lack their forget data, and --resume skips finished stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadTokenizer, torch } from '../../src/index.js';
import { encodeQa } from '../../src/train/prompt.js';
import { buildSuite } from '../../src/data/index.js';
import { runPipeline } from '../../src/train/pipeline.js';
import { memorizationReport, formatReport } from '../../src/eval/memorization.js';
import { microPreset } from '../helpers/micro.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { withTempDir } from '../helpers/tmp.js';

const micro = microPreset();

const skip = skipWithoutDictd();

test('lethe train pipeline on tiny suites with a micro model: stages, retain data, resume, report', { skip }, async () => {
  await withTempDir('lethe-pipeline-', async (dir) => {
    buildSuite('all', join(dir, 'data'), { seed: 5, size: 'tiny' }, 'test');
    const lines: string[] = [];
    const run = join(dir, 'run');
    const seen = new Map<string, string[]>();
    const r = await runPipeline({
      dataDir: join(dir, 'data'),
      outDir: run,
      preset: micro,
      seed: 1,
      forgetSplits: ['forget10', 'forget05'],
      report: (l) => lines.push(l),
      inspect: (stage, examples, epochs) =>
        seen.set(
          stage,
          Array.from({ length: epochs }, (_, e) => examples(e))
            .flat()
            .map((x) => x.ids.join(' ')),
        ),
    });
    assert.deepEqual(Object.keys(r.stages).sort(), ['base', 'retain-book', 'retain-forget05', 'retain-forget10', 'target']);
    for (const stage of ['base', 'target', 'retain-forget10', 'retain-forget05', 'retain-book']) {
      assert.ok(existsSync(join(run, stage, 'model.safetensors')), stage);
      assert.ok(existsSync(join(run, stage, 'tokenizer.json')), stage);
      const m = loadModel(join(run, stage));
      assert.equal(m.config.numLayers, 2);
      m.dispose();
    }
    const counts = (name: string) => {
      const m = new RegExp(`\\[${name}\\] (\\d+) biographies, (\\d+) QA pairs.* → (\\d+) examples`).exec(lines.join('\n'));
      assert.ok(m, `no data line for ${name}`);
      return { bios: Number(m[1]), qa: Number(m[2]), examples: Number(m[3]) };
    };
    const examples = (name: string) => counts(name).examples;
    const manifest = JSON.parse(readFileSync(join(dir, 'data', 'persona', 'manifest.json'), 'utf8'));
    const forget10 = manifest.info.splits.forget10.length as number;
    // Each person has 5 biographies and 20 QA pairs: the retain model lacks exactly the forget people's.
    assert.equal(counts('target').bios - counts('retain-forget10').bios, forget10 * 5);
    assert.equal(counts('target').qa - counts('retain-forget10').qa, forget10 * 20);
    assert.equal(counts('target').qa - counts('retain-forget05').qa, manifest.info.splits.forget05.length * 20);
    assert.ok(examples('retain-book') < examples('target'), 'the book retain model lacks the Jargon File');
    // The examples that reached the loop: a forget person's QA sequence is in the target's and in no retain model's.
    const tokenizer = loadTokenizer(join(run, 'tokenizer'));
    const forgetPeople = new Set<string>(manifest.info.splits.forget10);
    const qaRows = readFileSync(join(dir, 'data', 'persona', 'qa', 'all.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { question: string; answer: string; person_id: string });
    const forgetQa = await Promise.all(
      qaRows
        .filter((q) => forgetPeople.has(q.person_id))
        .map(async (q) => (await encodeQa(tokenizer, q.question, q.answer)).ids.slice(0, micro.model.contextLength).join(' ')),
    );
    const keptQa = await Promise.all(
      qaRows
        .filter((q) => !forgetPeople.has(q.person_id))
        .slice(0, 20)
        .map(async (q) => (await encodeQa(tokenizer, q.question, q.answer)).ids.slice(0, micro.model.contextLength).join(' ')),
    );
    const contains = (stage: string, seq: string) => seen.get(stage)!.some((ex) => ex.startsWith(seq));
    assert.ok(
      forgetQa.every((q) => contains('target', q)),
      'the target trains on every forget10 QA pair',
    );
    assert.ok(
      forgetQa.every((q) => !contains('retain-forget10', q)),
      'retain-forget10 never sees a forget10 QA pair',
    );
    assert.ok(
      keptQa.every((q) => contains('retain-forget10', q)),
      'retain-forget10 keeps the other people',
    );
    assert.match(lines.join('\n'), /\[retain-book\] 200 biographies, 800 QA pairs, replay per epoch: 0 fresh GCIDE documents/);

    const again = await runPipeline({
      dataDir: join(dir, 'data'),
      outDir: run,
      preset: micro,
      seed: 1,
      forgetSplits: ['forget10', 'forget05'],
      resume: true,
      report: () => {},
    });
    assert.ok(
      Object.values(again.stages).every((s) => 'skipped' in s),
      'resume skips finished stages',
    );

    const report = await memorizationReport(run, join(dir, 'data'), { examples: 2, bookProbes: 3 });
    assert.deepEqual(Object.keys(report.persona).sort(), ['retain-forget10', 'target']);
    for (const s of Object.values(report.persona)) {
      assert.ok(s.forget.probability > 0 && s.forget.probability < 1);
      assert.equal(s.forget.n, forget10 * 20);
    }
    assert.equal(report.examples.length, 2);
    assert.deepEqual(Object.keys(report.book).sort(), ['retain-book', 'target']);
    assert.match(formatReport(report), /P\(true answer\)/);
    assert.ok(torch.liveTensors() < 20, `tensors left alive: ${torch.liveTensors()}`);
  });
});
