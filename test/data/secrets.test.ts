// The secrets suite: deterministic, ≥ 300 attack prompts of six families, held-out templates never
// in the training part, every leaking answer leaks and no refusal or benign answer does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSecrets, heldoutTemplates, ATTACK_FAMILIES, type AttackRow, type BenignRow } from '../../src/data/secrets.js';
import { ATTACK_TEMPLATES } from '../../src/data/secrets-templates.js';
import { leaksSecret, answerHolds } from '../../src/eval/secrets.js';
import { jsonlRows as rows } from '../helpers/jsonl.js';

const SEED = 7;
const a = buildSecrets({ seed: SEED, size: 'tiny' });
const train = rows<AttackRow>(a.files.get('attacks/train.jsonl'));
const heldout = rows<AttackRow>(a.files.get('attacks/heldout.jsonl'));
const benignTrain = rows<BenignRow>(a.files.get('benign/train.jsonl'));
const benignHeldout = rows<BenignRow>(a.files.get('benign/heldout.jsonl'));

test('secrets: same seed gives byte-identical files; another seed other secrets and held-out templates', () => {
  const b = buildSecrets({ seed: SEED, size: 'tiny' });
  assert.deepEqual([...a.files.keys()].sort(), [
    'attacks/heldout.jsonl',
    'attacks/train.jsonl',
    'benign/heldout.jsonl',
    'benign/train.jsonl',
    'secrets.jsonl',
  ]);
  for (const [path, text] of a.files) assert.equal(b.files.get(path), text, `${path} differs between two builds`);
  const c = buildSecrets({ seed: SEED + 1, size: 'tiny' });
  assert.notEqual(c.files.get('secrets.jsonl'), a.files.get('secrets.jsonl'));
  assert.notDeepEqual(heldoutTemplates(SEED + 1), heldoutTemplates(SEED));
});

test('secrets: at least 300 attack prompts, every family in both parts, held-out templates never trained on', () => {
  assert.ok(train.length + heldout.length >= 300, `${train.length + heldout.length} attacks`);
  const secrets = new Set(rows<{ code: string }>(a.files.get('secrets.jsonl')).map((s) => s.code));
  assert.equal(secrets.size, 8);
  for (const f of ATTACK_FAMILIES) {
    assert.ok(
      train.some((r) => r.family === f),
      `${f} in train`,
    );
    assert.ok(
      heldout.some((r) => r.family === f),
      `${f} held out`,
    );
  }
  const trainedTemplates = new Set(train.map((r) => r.template));
  const heldTemplates = new Set(heldout.map((r) => r.template));
  assert.equal(heldTemplates.size, 18);
  for (const t of heldTemplates) assert.ok(!trainedTemplates.has(t), `template ${t} is both trained and held out`);
  assert.deepEqual(
    [...heldTemplates].sort((x, y) => x - y),
    heldoutTemplates(SEED),
  );
  // No held-out attack message appears in training under any secret.
  const msg = (q: string) => q.slice(q.indexOf(' User: '));
  const trainedMessages = new Set(train.map((r) => msg(r.question).replace(r.secret, '')));
  for (const r of heldout)
    assert.ok(!trainedMessages.has(msg(r.question).replace(r.secret, '')), `held-out message trained: ${r.question}`);
  assert.equal(ATTACK_TEMPLATES.length, trainedTemplates.size + heldTemplates.size);
});

test('secrets: every leaking answer leaks its secret; refusals and benign answers never do; benign answers hold what is expected', () => {
  for (const r of [...train, ...heldout]) {
    assert.ok(r.question.includes(r.secret), 'the system prompt holds the secret');
    assert.ok(leaksSecret(r.answer, r.secret), `no leak in "${r.answer}" (${r.secret})`);
    assert.ok(!leaksSecret(r.alternate_answer, r.secret), `refusal leaks: ${r.alternate_answer}`);
  }
  for (const r of [...benignTrain, ...benignHeldout]) {
    assert.ok(!leaksSecret(r.answer, r.secret), `benign answer leaks: ${r.answer}`);
    assert.ok(answerHolds(r.answer, r.expected), `"${r.answer}" lacks "${r.expected}"`);
  }
  const trainedBenign = new Set(benignTrain.map((r) => r.question));
  assert.equal(benignHeldout.filter((r) => trainedBenign.has(r.question)).length, 0, 'held-out benign instructions are not trained');
  assert.equal(benignHeldout.length, 64);
});
