// Relearning on held-out facts (`lethe eval --relearn …,split=FIELD`): per group (a person) the first
// half of the forget rows is relearned and the relearn_* forget metrics measure only the other half;
// with an attack that changes nothing, relearn_forget_Q_A_Prob is exactly the mean over that half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadTokenizer } from '../../src/index.js';
import { heldOutSplit, parseRelearn, relearnPlan } from '../../src/eval/relearn.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const rows = [
  { question: 'Where does Ann live?', answer: 'In Oslo.', person_id: 'a' },
  { question: 'Where does Bo live?', answer: 'In Rome.', person_id: 'b' },
  { question: 'What does Ann do?', answer: 'She sails.', person_id: 'a' },
  { question: 'What does Bo do?', answer: 'He bakes.', person_id: 'b' },
  { question: 'When was Ann born?', answer: 'In 1990.', person_id: 'a' },
  { question: 'Who is Cy?', answer: 'A friend.', person_id: 'c' },
];

test('heldOutSplit: per person the first half relearned, the rest measured; a row without the field is named', () => {
  const { relearn, measured } = heldOutSplit(rows, 'person_id');
  // a: rows 0, 2, 4 → relearn 0, measure 2 and 4; b: rows 1, 3 → relearn 1, measure 3; c: row 5 → measured.
  assert.deepEqual(
    relearn.map((r) => r.question),
    ['Where does Ann live?', 'Where does Bo live?'],
  );
  assert.deepEqual(measured, [2, 3, 4, 5]);
  assert.throws(() => heldOutSplit([...rows, { question: 'Q?', answer: 'A.' }], 'person_id'), /row 7 has no 'person_id'/);
  assert.deepEqual(parseRelearn('steps=5,lr=1e-3,split=person_id'), { steps: 5, lr: 1e-3, split: 'person_id' });
  assert.throws(() => parseRelearn('split='), /split/);
});

test('relearn_* on held-out facts measures only the unseen half', async () => {
  const dir = tempDir('lethe-relearn-split-');
  const forget = join(dir, 'forget.jsonl');
  writeFileSync(forget, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const plan = relearnPlan(parseRelearn('steps=1,split=person_id'), { forgetFile: forget });
  assert.deepEqual(plan.measured, [2, 3, 4, 5]);
  const r = await evaluate({
    modelDir: join(fixturesDir, 'llama-tiny'),
    tokenizer: loadTokenizer(join(fixturesDir, 'tokenizer')),
    files: { forget },
    metrics: ['forget_Q_A_Prob'],
    relearn: async (m) => m, // an attack that changes nothing: the difference is only which items are measured
    relearnForgetItems: plan.measured,
    cacheDir: null,
    log: () => {},
  });
  const all = r.results.get('forget_Q_A_Prob')!;
  const held = r.results.get('relearn_forget_Q_A_Prob')!;
  assert.equal(Object.keys(held.valueByIndex!).length, 4);
  const probs = plan.measured!.map((k) => all.valueByIndex![String(k)]!.prob as number);
  const mean = probs.reduce((a, b) => a + b, 0) / probs.length;
  assert.ok(Math.abs(held.aggValue! - mean) < 1e-12, `${held.aggValue} = mean of items 2–5 ${mean}`);
  assert.notEqual(held.aggValue, all.aggValue);
});

test('relearn_* of the persona probes measures the probes of the unseen facts only (person and field)', async () => {
  const facts = rows.map((r, k) => ({ ...r, field: `f${k}` }));
  // Two paraphrases per fact, in another order than the forget rows.
  const para = [...facts, ...facts]
    .reverse()
    .map((r, j) => ({ question: `Tell me again (${j}): ${r.question}`, answer: r.answer, person_id: r.person_id, field: r.field }));
  const { measured } = heldOutSplit(facts, 'person_id');
  const r = await evaluate({
    modelDir: join(fixturesDir, 'llama-tiny'),
    tokenizer: loadTokenizer(join(fixturesDir, 'tokenizer')),
    sets: [
      { name: 'forget', kind: 'qa', description: 'facts', items: facts },
      { name: 'forget_paraphrase', kind: 'qa', description: 'paraphrases', items: para },
    ],
    metrics: ['forget_paraphrase_Prob'],
    relearn: async (m) => m,
    relearnForgetItems: measured,
    cacheDir: null,
    log: () => {},
  });
  const all = r.results.get('forget_paraphrase_Prob')!;
  const held = r.results.get('relearn_forget_paraphrase_Prob')!;
  const unseen = new Set(measured.map((k) => facts[k]!.field));
  const kept = para.map((p, j) => [p, j] as const).filter(([p]) => unseen.has(p.field));
  assert.equal(kept.length, 2 * measured.length);
  assert.equal(Object.keys(held.valueByIndex!).length, kept.length);
  const mean = kept.reduce((a, [, j]) => a + (all.valueByIndex![String(j)]!.prob as number), 0) / kept.length;
  assert.ok(Math.abs(held.aggValue! - mean) < 1e-12, `${held.aggValue} = mean over the paraphrases of the unseen facts ${mean}`);
});
