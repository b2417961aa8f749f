// `lethe ask`: the model's greedy answer and the probability of an expected answer. The probabilities
// are checked against `lethe eval`'s forget_Q_A_Prob, which reaches them by another path (the
// evaluator's token statistics), and the generations against the model's greedy decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { loadModel, loadTokenizer } from '../../src/index.js';
import { greedyAnswers } from '../../src/eval/qa.js';

const dir = tempDir('lethe-ask-');
const model = tinyModel(dir);
const rows = PEOPLE.slice(0, 5).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` }));
const file = writeJsonl(join(dir, 'questions.jsonl'), rows);

test('ask --file --json: the mean probability is eval forget_Q_A_Prob; the answers are greedy decoding', async () => {
  const r = runCli(['ask', '--model', model, '--file', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const answered = JSON.parse(r.stdout) as { question: string; answer: string; generated: string; probability: number }[];
  assert.deepEqual(
    answered.map((a) => [a.question, a.answer]),
    rows.map((q) => [q.question, q.answer]),
  );
  const out = join(dir, 'eval');
  const e = runCli(['eval', '--model', model, '--forget', file, '--metrics', 'forget_Q_A_Prob', '--out', out, '--no-cache']);
  assert.equal(e.status, 0, e.stderr);
  const evalJson = JSON.parse(readFileSync(join(out, 'EVAL.json'), 'utf8')) as Record<
    string,
    { agg_value: number; value_by_index: Record<string, { prob: number }> }
  >;
  const byIndex = evalJson.forget_Q_A_Prob!.value_by_index;
  answered.forEach((a, k) =>
    assert.ok(Math.abs(a.probability - byIndex[k]!.prob) < 1e-6, `row ${k}: ${a.probability} vs ${byIndex[k]!.prob}`),
  );

  const m = loadModel(model);
  try {
    const greedy = await greedyAnswers(m, loadTokenizer(model), rows);
    assert.deepEqual(
      answered.map((a) => a.generated),
      greedy.map((g) => g.generated),
    );
  } finally {
    m.dispose();
  }
});

test('ask with one question: the answer, and P(--answer) only when one is given', () => {
  const plain = runCli(['ask', '--model', model, 'Where does Ada live?']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^Q: Where does Ada live\?\nA: .*\n/);
  assert.doesNotMatch(plain.stdout, /^P\(/m);
  const withAnswer = runCli(['ask', '--model', model, 'Where does Ada live?', '--answer', 'In room 0.']);
  assert.equal(withAnswer.status, 0, withAnswer.stderr);
  assert.match(withAnswer.stdout, /^P\("In room 0\."\) = \d+\.\d%$/m);
});

test('ask refuses what it cannot do, naming the fix; a bad row is named by line and field only', () => {
  const none = runCli(['ask', '--model', model]);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /ask: give a question .* or --file FILE/);
  const two = runCli(['ask', '--model', model, 'Q one?', 'Q two?', '--answer', 'x']);
  assert.notEqual(two.status, 0);
  assert.match(two.stderr, /--answer goes with exactly one question/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify(rows[0])}\n${JSON.stringify({ question: 'Where does Zoe Secretname live?', answer: 7 })}\n`);
  const r = runCli(['ask', '--model', model, '--file', bad]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.jsonl:2: field 'answer': expected a string, got a number/);
  assert.doesNotMatch(r.stderr, /Secretname/);
});
