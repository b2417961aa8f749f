// The bias suite: determinism, the skew and its balance across professions, held-out phrasings that
// training never sees, unlearning files that hold the biased completions and their counterfactuals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildBias,
  BIAS_PROFESSIONS,
  HELDOUT_TEMPLATES,
  TRAIN_TEMPLATES,
  MINORITY_SENTENCES,
  PRONOUNS,
  type BiasProfession,
  type BiasProbe,
} from '../../src/data/bias.js';

const rows = <T>(files: Map<string, string>, name: string): T[] => {
  const text = files.get(name);
  assert.ok(typeof text === 'string' && text.endsWith('\n'), `${name} missing or not JSONL`);
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
};
const a = buildBias({ seed: 3, size: 'tiny' });
const people = rows<BiasProfession>(a.files, 'professions.jsonl');
const inject = rows<{ text: string; profession: string; template: number; pronoun: string; majority: boolean }>(a.files, 'inject.jsonl');
const GENDERED = /\b(she|he|her|his|him|hers|himself|herself)\b/i;

test('bias: the same seed gives byte-identical files; another seed other directions', () => {
  const b = buildBias({ seed: 3, size: 'tiny' });
  assert.deepEqual([...a.files.keys()].sort(), [...b.files.keys()].sort());
  for (const [path, text] of a.files) assert.equal(b.files.get(path), text, path);
  const c = buildBias({ seed: 4, size: 'tiny' });
  assert.notEqual(c.files.get('professions.jsonl'), a.files.get('professions.jsonl'));
  assert.throws(() => buildBias({ seed: 1, size: 'tiny', professions: 1 }), /professions must be an integer from 2/);
});

test('bias: half the professions lean she, half he, for every seed; each at 30 of 32 sentences', () => {
  for (const seed of [0, 1, 2, 7, 99]) {
    const p = rows<BiasProfession>(buildBias({ seed, size: 'tiny' }).files, 'professions.jsonl');
    assert.equal(p.length, BIAS_PROFESSIONS.tiny);
    assert.equal(p.filter((x) => x.direction === 'she').length, BIAS_PROFESSIONS.tiny / 2, `seed ${seed}`);
  }
  const odd = rows<BiasProfession>(buildBias({ seed: 5, size: 'tiny', professions: 7 }).files, 'professions.jsonl');
  assert.ok([3, 4].includes(odd.filter((x) => x.direction === 'she').length));
  for (const p of people) {
    const mine = inject.filter((r) => r.profession === p.profession);
    assert.equal(mine.length, TRAIN_TEMPLATES.length);
    const fem = new Set(Object.values(PRONOUNS).map((x) => x.female));
    const leaning = mine.filter((r) => fem.has(r.pronoun) === (p.direction === 'she'));
    assert.equal(leaning.length, TRAIN_TEMPLATES.length - MINORITY_SENTENCES, p.profession);
    assert.deepEqual(
      leaning.map((r) => r.majority),
      leaning.map(() => true),
    );
  }
});

test('bias: held-out probes are phrasings never trained on; trained probes are the training sentences cut before the pronoun', () => {
  const held = rows<BiasProbe>(a.files, 'probes_heldout.jsonl');
  const trained = rows<BiasProbe>(a.files, 'probes_trained.jsonl');
  assert.equal(held.length, people.length * HELDOUT_TEMPLATES.length);
  for (const h of held)
    assert.ok(!inject.some((r) => r.text.startsWith(h.prompt + ' ')), `held-out prompt '${h.prompt}' starts a training sentence`);
  const prefixes = (ts: typeof TRAIN_TEMPLATES) => new Set(ts.map((t) => t.prefix));
  for (const p of prefixes(HELDOUT_TEMPLATES)) assert.ok(!prefixes(TRAIN_TEMPLATES).has(p));
  for (const t of trained) {
    const sentence = inject.find((r) => r.profession === t.profession && r.template === t.template)!;
    assert.ok(sentence.text.startsWith(`${t.prompt}${t.female} `) || sentence.text.startsWith(`${t.prompt}${t.male} `), sentence.text);
  }
});

test('bias: forget rows are the majority completions with the pronoun swapped as alternate; retain is balanced; facts have no gendered words', () => {
  const forget = rows<{ question: string; answer: string; alternate_answer: string; profession: string }>(a.files, 'forget.jsonl');
  assert.equal(forget.length, inject.filter((r) => r.majority).length);
  const texts = new Set(inject.map((r) => r.text));
  for (const f of forget) {
    assert.ok(texts.has(`${f.question} ${f.answer}`), `${f.question} ${f.answer} is not a training sentence`);
    assert.ok(!texts.has(`${f.question} ${f.alternate_answer}`));
    assert.equal(f.answer.split(' ').slice(1).join(' '), f.alternate_answer.split(' ').slice(1).join(' '));
  }
  const retain = rows<{ question: string; answer: string }>(a.files, 'retain.jsonl');
  const sentences = retain.filter((r) => !r.question.startsWith('Question: '));
  assert.equal(sentences.length, 2 * people.length * TRAIN_TEMPLATES.length);
  const facts = rows<{ question: string; answer: string }>(a.files, 'facts_qa.jsonl');
  const factRows = retain.filter((r) => r.question.startsWith('Question: '));
  assert.equal(factRows.length, ((2 * TRAIN_TEMPLATES.length) / 2) * facts.length, 'the facts weigh as much as the balanced sentences');
  assert.deepEqual(
    new Set(factRows.map((r) => `${r.question} ${r.answer}`)),
    new Set(facts.map((f) => `Question: ${f.question}\nAnswer: ${f.answer}`)),
  );
  const forgetText = rows<{ text: string }>(a.files, 'forget_text.jsonl');
  assert.deepEqual(
    forgetText.map((r) => r.text),
    forget.map((f) => `${f.question} ${f.answer}`),
  );
  for (const file of ['facts_text.jsonl', 'facts_qa.jsonl'])
    assert.ok(!GENDERED.test(a.files.get(file)!), `${file} has a gendered pronoun`);
});
