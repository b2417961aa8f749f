import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel, loadTokenizer } from '../../src/index.js';
import { forget, getMethod, resolveArgs } from '../../src/unlearn/index.js';
import { finetune } from '../../src/train/finetune.js';
import { genericLogits, segmentText, alignPredictors, readDictionary, genericLabelExamples } from '../../src/unlearn/methods/whp.js';
import { initModel } from '../../src/train/init.js';
import { distillExamples } from '../../src/unlearn/methods/distill.js';
import { encodeExamples } from '../../src/unlearn/procedures.js';
import type { ProcedureContext } from '../../src/unlearn/method.js';
import { PEOPLE, personText, tinyModel, writeJsonl } from './tiny.js';
import { withTempDir } from '../helpers/tmp.js';

const forgetRows = ['Ada', 'Bruno'].flatMap((p, i) => [0, 1, 2].map((k) => ({ text: personText(p, i + k) })));
const retainRows = PEOPLE.slice(2).flatMap((p, i) => [0, 1, 2].map((k) => ({ text: personText(p, i + k + 2) })));
const quiet = () => {};

function tensorsOf(dir: string): Record<string, Float32Array> {
  const { tensors } = torch.loadSafetensors(join(dir, 'model.safetensors'));
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = Float32Array.from(t.data() as Float32Array);
  torch.dispose(tensors);
  return out;
}

test('TaskVector: the output is exactly θ − α(θ_r − θ), θ_r the same fine-tune on the forget data', async () => {
  await withTempDir('lethe-tv-', async (dir) => {
    const model = tinyModel(dir);
    const f = writeJsonl(join(dir, 'forget.jsonl'), forgetRows);
    const common = { epochs: 2, lr: 3e-3, batchSize: 2, seed: 5 };
    await forget({
      modelDir: model,
      forgetFile: f,
      method: 'TaskVector',
      args: { alpha: '2.5' },
      outDir: join(dir, 'tv'),
      ...common,
      report: quiet,
    });
    await finetune({ modelDir: model, dataFiles: [f], outDir: join(dir, 'reinforced'), ...common, report: quiet });
    const base = tensorsOf(model);
    const r = tensorsOf(join(dir, 'reinforced'));
    const out = tensorsOf(join(dir, 'tv'));
    const f32 = Math.fround;
    let moved = 0;
    for (const name of Object.keys(base)) {
      const [t, tr, o] = [base[name]!, r[name]!, out[name]!];
      assert.equal(o.length, t.length, name);
      for (let i = 0; i < t.length; i++) {
        const want = f32(t[i]! - f32(f32(tr[i]! - t[i]!) * 2.5));
        if (!Object.is(o[i], want)) assert.fail(`${name}[${i}] = ${o[i]}, expected θ − α(θ_r − θ) = ${want} (θ ${t[i]}, θ_r ${tr[i]})`);
        if (o[i] !== t[i]) moved++;
      }
    }
    assert.ok(moved > 1000, `the weights moved (${moved})`);
    assert.ok(!existsSync(join(dir, 'tv', '.work')), 'the work folder is removed');
    const rec = JSON.parse(readFileSync(join(dir, 'tv', 'unlearning.json'), 'utf8'));
    assert.equal(rec.requests[0].method, 'TaskVector');
    assert.equal(rec.requests[0].args.alpha, 2.5);
  });
});

test('WHP: v_generic = v_base − α·ReLU(v_reinforced − v_base) on hand-made logits, and the alignment of anchored terms', () => {
  const base = torch.tensor([
    [1, 2, 3, 0],
    [0.5, -1, 2, 2],
  ]);
  const reinf = torch.tensor([
    [2, 1, 5, 0],
    [0.5, 3, 1, 2.25],
  ]);
  const g = genericLogits(base, reinf, 5);
  // row 0: ReLU(diff) = [1, 0, 2, 0] → [1−5, 2, 3−10, 0]; row 1: ReLU(diff) = [0, 4, 0, 0.25] → [0.5, −21, 2, 0.75]
  assert.deepEqual(g.toArray(), [
    [-4, 2, -7, 0],
    [0.5, -21, 2, 0.75],
  ]);
  assert.deepEqual(g.argmax(-1).toArray(), [1, 2]);
  assert.deepEqual(genericLogits(base, reinf, 0).toArray(), base.toArray(), 'α = 0 leaves the baseline');
  torch.dispose([base, reinf, g]);

  const terms = new Map([
    ['Harry', 'Jon'],
    ['Harry Potter', 'Jon Smith'],
    ['Ron', 'Tim'],
  ]);
  assert.deepEqual(segmentText('Harry Potter met Ron. Harrys Ronald', terms), [
    { text: 'Harry Potter', translated: 'Jon Smith', term: true },
    { text: ' met', translated: ' met', term: false },
    { text: ' Ron', translated: ' Tim', term: true },
    { text: '. Harrys Ronald', translated: '. Harrys Ronald', term: false },
  ]);
  // ids:  10 11 | 20 21 (term → 30) | 12 | eos 0
  const a = alignPredictors([
    { orig: [10, 11], trans: [10, 11], term: false, labelled: true },
    { orig: [20, 21], trans: [30], term: true, labelled: true },
    { orig: [12], trans: [12], term: false, labelled: true },
    { orig: [0], trans: [0], term: false, labelled: true },
  ]);
  assert.deepEqual(a.ids, [10, 11, 20, 21, 12, 0]);
  assert.deepEqual(a.transIds, [10, 11, 30, 12, 0]);
  // 11 ← trans 0; 20 (the term's first token) ← trans 1 (predicts 30); 21 no label; 12 ← trans 2 (after 30); eos ← trans 3
  assert.deepEqual(a.predictor, [0, 1, -1, 2, 3]);
  const b = alignPredictors([
    { orig: [5, 6], trans: [5, 6], term: false, labelled: false },
    { orig: [7, 8], trans: [7, 8], term: false, labelled: true },
  ]);
  assert.deepEqual(b.predictor, [-1, 1, 2], 'prompt tokens get no label');
  assert.throws(() => alignPredictors([{ orig: [1], trans: [2], term: false, labelled: true }]), /differs between the texts/);
});

test('WHP: the labels of a row are argmax(v_generic), the reinforced model read on the original text and the base on the translated one', async () => {
  await withTempDir('lethe-whp-labels-', async (dir) => {
    const modelDir = tinyModel(dir);
    const tok = loadTokenizer(modelDir);
    const base = loadModel(modelDir);
    const reinforced = initModel(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')), 9);
    const terms = new Map([['Ada', 'Gwen']]);
    const row = { text: 'Ada lives in room 3 and Ada likes maps.' };
    const alpha = 3;
    const { examples } = await genericLabelExamples({ base, reinforced, tok, rows: [row], terms, alpha, maxLength: 48, device: 'cpu' });
    // Expected, from the two models' logits and the alignment, elementwise in JS.
    const seg = segmentText(row.text, terms);
    const parts = [];
    for (const s of seg) {
      const orig = await tok.encode(s.text, { addSpecialTokens: false });
      parts.push({
        orig,
        trans: s.term ? await tok.encode(s.translated, { addSpecialTokens: false }) : orig,
        term: s.term,
        labelled: true,
      });
    }
    parts.push({ orig: [0], trans: [0], term: false, labelled: true });
    const a = alignPredictors(parts);
    const logits = (m: typeof base, ids: number[]) =>
      torch.tidy(() =>
        torch.noGrad(
          () =>
            m
              .forward(torch.tensor([ids], { dtype: 'int64' }))
              .logits.select(0, 0)
              .toArray() as number[][],
        ),
      );
    const R = logits(reinforced, a.ids);
    const B = logits(base, a.transIds);
    const want = a.ids.map(() => -100);
    a.predictor.forEach((q, p) => {
      if (q < 0) return;
      const v = B[q]!.map((b, k) => b - alpha * Math.max(0, R[p]![k]! - b));
      want[p + 1] = v.indexOf(Math.max(...v));
    });
    assert.deepEqual(examples[0]!.ids, a.ids);
    assert.deepEqual(examples[0]!.labels, want);
    assert.ok(want.filter((x) => x !== -100).length >= a.ids.length - 4, 'most tokens get a label');
    base.dispose();
    reinforced.dispose();
  });
});

test('WHP end to end: a dictionary run and a run with proposed terms; bad dictionaries are named', async () => {
  await withTempDir('lethe-whp-', async (dir) => {
    const model = tinyModel(dir);
    const f = writeJsonl(join(dir, 'forget.jsonl'), forgetRows);
    const r = writeJsonl(join(dir, 'retain.jsonl'), retainRows);
    const dict = join(dir, 'dict.json');
    writeFileSync(dict, JSON.stringify({ Ada: 'Gwen', Bruno: 'Hugo' }));
    const lines: string[] = [];
    const res = await forget({
      modelDir: model,
      forgetFile: f,
      method: 'WHP',
      args: { dictionary: dict, reinforce_epochs: '3' },
      outDir: join(dir, 'a'),
      epochs: 2,
      lr: 3e-3,
      batchSize: 2,
      seed: 1,
      report: (l) => lines.push(l),
    });
    assert.ok(res.parametersChanged > 1000);
    assert.ok(
      lines.some((l) => /2 anchored terms from/.test(l)),
      lines.join('\n'),
    );
    const gen = lines.find((l) => /generic labels: \d+ of \d+/.test(l))!;
    assert.ok(gen, lines.join('\n'));

    const auto: string[] = [];
    await forget({
      modelDir: model,
      forgetFile: f,
      retainFile: r,
      method: 'WHP',
      args: { reinforce_epochs: '4', auto_terms: '3' },
      outDir: join(dir, 'b'),
      epochs: 1,
      lr: 3e-3,
      batchSize: 2,
      seed: 1,
      report: (l) => auto.push(l),
    });
    const proposed = auto.find((l) => l.includes('anchored terms proposed'))!;
    const pairs = [...proposed.matchAll(/([\w'’-]+) → ([\w'’-]+)/g)].map((m) => [m[1]!, m[2]!]);
    assert.ok(pairs.length >= 1 && pairs.length <= 3, proposed);
    const retainText = retainRows.map((x) => x.text).join(' ');
    const forgetText = forgetRows.map((x) => x.text).join(' ');
    for (const [term, generic] of pairs) {
      assert.ok(forgetText.includes(term!) && !new RegExp(`\\b${term}\\b`).test(retainText), `${term} is a forget-only word`);
      assert.ok(
        new RegExp(`\\b${generic}\\b`).test(retainText) && !new RegExp(`\\b${generic}\\b`).test(forgetText),
        `${generic} is a retain word`,
      );
      assert.equal(/^[A-Z]/.test(term!), /^[A-Z]/.test(generic!), `${term} → ${generic}: the same kind`);
    }
    await assert.rejects(
      () => forget({ modelDir: model, forgetFile: f, method: 'WHP', outDir: join(dir, 'c'), report: quiet }),
      /needs --retain/,
    );
    writeFileSync(dict, '{"Ada": 3}');
    // The terms name what is forgotten (a person, here): errors give positions and types, never a term.
    assert.throws(
      () => readDictionary(dict),
      (e: Error) =>
        new RegExp(`dictionary ${dict}: the translation of entry 1 must be a string, got a number`).test(e.message) &&
        !e.message.includes('Ada'),
    );
    writeFileSync(dict, '{"Ada": ');
    assert.throws(
      () => readDictionary(dict),
      (e: Error) => new RegExp(`dictionary ${dict}: not JSON`).test(e.message) && !e.message.includes('Ada'),
    );
  });
});

test('Distill: the student learns from retain rows only (the forget rows are never read) and its loss falls; a smaller student from an unlearned teacher', async () => {
  await withTempDir('lethe-distill-', async (dir) => {
    const modelDir = tinyModel(dir);
    // A teacher that has learned something: the base fine-tuned on all rows.
    const all = writeJsonl(join(dir, 'all.jsonl'), [...forgetRows, ...retainRows]);
    await finetune({ modelDir, dataFiles: [all], outDir: join(dir, 'teacher'), epochs: 4, lr: 5e-3, batchSize: 4, report: quiet });
    const method = getMethod('Distill');
    const model = loadModel(join(dir, 'teacher'));
    const untouchable = new Proxy([] as never[], {
      get: (_t, key) => {
        throw new Error(`the forget rows were read (${String(key)})`);
      },
    });
    const ctx: ProcedureContext<never> = {
      args: resolveArgs(method, { temperature: '2' }) as never,
      model,
      modelDir: join(dir, 'teacher'),
      tokenizer: loadTokenizer(join(dir, 'teacher')),
      forgetRows: untouchable,
      retainRows,
      workDir: join(dir, 'work'),
      report: quiet,
      training: { seed: 0, device: 'cpu', maxLength: 48, steps: 40, lr: 3e-3, batchSize: 4 },
    };
    const seen = await distillExamples(ctx as never);
    const expected = await encodeExamples(ctx as never, retainRows);
    assert.deepEqual(
      seen.map((e) => e.ids),
      expected.map((e) => e.ids),
      'exactly the retain rows reach the loop',
    );
    const student = await method.procedure!(ctx as never);
    assert.ok(student && student !== model, 'a new model');
    const log = readFileSync(join(dir, 'work', 'distill', 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(log.at(-1).loss < log[0].loss * 0.7, `distillation loss ${log[0].loss} → ${log.at(-1).loss}`);
    student!.dispose();
    model.dispose();

    // Unlearn-then-distil: teacher=DIR, a smaller student config, through forget().
    const small = join(dir, 'small.json');
    const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
    writeFileSync(small, JSON.stringify({ ...cfg, num_hidden_layers: 1, hidden_size: 16, head_dim: 8, intermediate_size: 32 }));
    const f = writeJsonl(join(dir, 'forget.jsonl'), forgetRows);
    const r = writeJsonl(join(dir, 'retain.jsonl'), retainRows);
    await forget({
      modelDir,
      forgetFile: f,
      retainFile: r,
      method: 'Distill',
      args: { teacher: join(dir, 'teacher'), student_config: small, student_seed: '3' },
      outDir: join(dir, 'out'),
      steps: 5,
      report: quiet,
    });
    const out = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
    assert.equal(out.hidden_size, 16);
    assert.ok(existsSync(join(dir, 'out', 'tokenizer.json')), 'the student carries the tokenizer');
    loadModel(join(dir, 'out')).dispose();
    writeFileSync(small, JSON.stringify({ ...cfg, vocab_size: 999 }));
    await assert.rejects(
      () =>
        forget({
          modelDir,
          forgetFile: f,
          retainFile: r,
          method: 'Distill',
          args: { student_config: small },
          outDir: join(dir, 'out2'),
          steps: 2,
          report: quiet,
        }),
      new RegExp(`student_config ${small} has vocab_size 999, but the teacher's is 300`),
    );
    await assert.rejects(
      () => forget({ modelDir, forgetFile: f, method: 'Distill', outDir: join(dir, 'out3'), steps: 2, report: quiet }),
      /needs --retain/,
    );
  });
});
