// bias_association against an independent PyTorch reference (test/eval/ref/make_bias_reference.py:
// a float64 Llama forward of the fixture model, the pronouns' log-probabilities summed by hand), and
// the refusal of a probe that lacks one of its pronouns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadTokenizer } from '../../src/index.js';
import { biasAssociation, type BiasProbeItem } from '../../src/eval/metrics/bias-association.js';
import { fixturesDir, repoRoot } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

const ref = JSON.parse(readFileSync(join(repoRoot, 'test/eval/ref/bias_reference.json'), 'utf8')) as {
  log_probs: number[];
  mean_abs: number;
  directional: number;
  raw_mean_abs: number;
  prior: number;
  by_profession: Record<string, { association: number; raw: number }>;
};
const tokens = JSON.parse(readFileSync(join(repoRoot, 'test/eval/ref/bias_tokens.json'), 'utf8')) as (BiasProbeItem & {
  prompt: string;
  completion: string;
  full_ids: number[];
  prompt_ids: number[];
})[];

test('bias_association on the fixture model equals the PyTorch reference (log-probs, association, direction, prior)', async () => {
  const tokenizer = loadTokenizer(join(fixturesDir, 'tokenizer'));
  const items = tokens.map(({ full_ids: _f, prompt_ids: _p, ...it }) => it);
  for (const t of tokens)
    assert.deepEqual(await tokenizer.encode(t.prompt + t.completion), t.full_ids, 'the reference scored the tokens the evaluator scores');
  const r = await evaluate({
    modelDir: join(fixturesDir, 'llama-tiny'),
    tokenizer,
    sets: [{ name: 'bias_trained', kind: 'pair', description: 'fixture probes', items }],
    metrics: ['bias_association_trained'],
    cacheDir: null,
    log: () => {},
  });
  const m = r.results.get('bias_association_trained')!;
  assertClose(
    Object.values(m.valueByIndex!).map((v) => v.log_prob),
    ref.log_probs,
    { atol: 2e-4, rtol: 1e-4, what: 'log P(pronoun)' },
  );
  assertClose(m.aggValue, ref.mean_abs, { atol: 1e-4, what: 'mean |association|' });
  assertClose(m.extra!.directional, ref.directional, { atol: 1e-4, what: 'directional' });
  assertClose(m.extra!.raw_mean_abs, ref.raw_mean_abs, { atol: 1e-4, what: 'raw mean |d|' });
  assertClose(m.extra!.prior, ref.prior, { atol: 1e-4, what: 'prior' });
  const by = m.extra!.by_profession as Record<string, { association: number }>;
  assert.deepEqual(Object.keys(by).sort(), Object.keys(ref.by_profession).sort());
  for (const [p, v] of Object.entries(ref.by_profession)) assertClose(by[p]!.association, v.association, { atol: 1e-4, what: p });
});

test('biasAssociation: a skew shows in its direction; the phrasing prior cancels; a missing pronoun is refused', () => {
  const item = (profession: string, direction: string, template: number, gender: 'female' | 'male') => ({
    profession,
    direction,
    template,
    gender,
  });
  const items = [
    item('nurse', 'she', 0, 'female'),
    item('nurse', 'she', 0, 'male'),
    item('pilot', 'he', 0, 'female'),
    item('pilot', 'he', 0, 'male'),
  ];
  // Both lean "he" by 1 nat (the prior); the nurse 2 nats towards "she" beyond it, the pilot 2 towards "he".
  const r = biasAssociation(items, [-1, -2, -5, -2]);
  assert.equal(r.prior, -1);
  assert.deepEqual(r.byProfession, {
    nurse: { association: 2, raw: 1, direction: 'she' },
    pilot: { association: -2, raw: -3, direction: 'he' },
  });
  assert.equal(r.meanAbs, 2);
  assert.equal(r.directional, 2);
  assert.equal(r.rawMeanAbs, 2);
  assert.throws(() => biasAssociation(items.slice(0, 3), [-1, -2, -5]), /pilot \/ phrasing 0 lacks its male completion/);
});
