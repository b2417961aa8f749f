import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rougeL, rougeTokens } from '../../src/eval/rouge.js';

test('ROUGE-L tokenises like rouge_score (lower case, alphanumeric runs)', () => {
  assert.deepEqual(rougeTokens("Élodie's café, costs 3.50€!"), ['lodie', 's', 'caf', 'costs', '3', '50']);
});

test('ROUGE-L precision, recall and F1 from the longest common subsequence', () => {
  // LCS of "the cat sat on the mat" / "the cat is on the mat" = "the cat on the mat" (5 tokens).
  const r = rougeL('the cat sat on the mat', 'the cat is on the mat');
  assert.equal(r.precision, 5 / 6);
  assert.equal(r.recall, 5 / 6);
  assert.equal(r.f1, 5 / 6);
  // Prediction shorter than the reference: recall 2/4, precision 2/2.
  const s = rougeL('born 1973', 'He was born 1973');
  assert.deepEqual(s, { precision: 1, recall: 0.5, f1: 2 / 3 });
  assert.deepEqual(rougeL('', 'anything'), { precision: 0, recall: 0, f1: 0 });
  assert.equal(rougeL('a b c d', 'd c b a').recall, 0.25, 'order matters: a subsequence, not a bag of words');
});

test('ROUGE-L F1 when precision and recall differ (hand-checked)', () => {
  // "the cat" vs "The cat sat.": LCS 2, precision 2/2, recall 2/3, F1 = 2·1·(2/3)/(1 + 2/3) = 0.8.
  const r = rougeL('the cat', 'The cat sat.');
  assert.deepEqual([r.precision, r.recall], [1, 2 / 3]);
  assert.ok(Math.abs(r.f1 - 0.8) < 1e-12);
  // Punctuation and case are separators only: "Smith-Jones, J." = smith jones j.
  assert.equal(rougeL('smith jones j', 'Smith-Jones, J.').f1, 1);
});
