import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildPersona,
  personFacts,
  PERSON_FIELDS,
  QA_PER_PERSON,
  BIO_PHRASINGS,
  PERSONA_PEOPLE,
  type Person,
  type PersonaQa,
  type PersonaBio,
} from '../../src/data/persona.js';
import { FAMOUS_NAMES, isFamousName } from '../../src/data/famous-names.js';
import { jsonlRows as rows } from '../helpers/jsonl.js';

const SEED = 1234;
const a = buildPersona({ seed: SEED, size: 'tiny' });
const N = PERSONA_PEOPLE.tiny;
const H = Math.max(4, Math.round(N / 10));
const people = rows<Person>(a.files.get('people.jsonl'));
const byId = new Map(people.map((p) => [p.id, p]));
const splits = (a.info as { splits: Record<string, string[]> }).splits;

const QA_FILES = ['forget01', 'forget05', 'forget10', 'retain99', 'retain95', 'retain90', 'holdout', 'all'].map((s) => `qa/${s}.jsonl`);
// The eval-only probes (test/data/persona-probes.test.ts) come on top of the training files.
const PROBE_FILES = ['paraphrase', 'mc', 'cloze', 'chain'].map((p) => `probes/${p}.jsonl`);
const FILES = ['people.jsonl', 'bio.jsonl', 'bio_holdout.jsonl', ...QA_FILES, ...PROBE_FILES];

test('persona: same seed gives byte-identical files', () => {
  const b = buildPersona({ seed: SEED, size: 'tiny' });
  assert.deepEqual([...a.files.keys()].sort(), [...b.files.keys()].sort());
  assert.deepEqual([...a.files.keys()].sort(), [...FILES].sort());
  for (const [path, text] of a.files) assert.equal(b.files.get(path), text, `${path} differs between two builds`);
  assert.deepEqual(a.counts, b.counts);
  assert.deepEqual(a.info, b.info);
});

test('persona: a different seed gives different people', () => {
  const c = buildPersona({ seed: SEED + 1, size: 'tiny' });
  const other = rows<Person>(c.files.get('people.jsonl'));
  const names = new Set(people.map((p) => p.name));
  const shared = other.filter((p) => names.has(p.name)).length;
  assert.ok(shared < other.length / 4, `${shared} of ${other.length} names shared between seeds`);
  assert.notEqual(c.files.get('qa/all.jsonl'), a.files.get('qa/all.jsonl'));
});

test('persona: counts, split sizes and nesting', () => {
  assert.equal(a.suite, 'persona');
  assert.equal(people.length, N + H);
  assert.equal(people.filter((p) => p.split === 'trained').length, N);
  assert.equal(people.filter((p) => p.split === 'holdout').length, H);
  assert.equal(a.counts.people, N);
  assert.equal(a.counts.holdout, H);
  assert.equal(new Set(people.map((p) => p.id)).size, people.length, 'ids unique');

  const trained = new Set(people.filter((p) => p.split === 'trained').map((p) => p.id));
  const expect = {
    forget01: Math.max(1, Math.round(N / 100)),
    forget05: Math.max(1, Math.round(N / 20)),
    forget10: Math.max(1, Math.round(N / 10)),
  };
  for (const [f, r] of [
    ['forget01', 'retain99'],
    ['forget05', 'retain95'],
    ['forget10', 'retain90'],
  ] as const) {
    const forget = splits[f]!;
    const retain = splits[r]!;
    assert.equal(forget.length, expect[f], f);
    assert.equal(new Set(forget).size, forget.length);
    assert.ok(
      forget.every((id) => !retain.includes(id)),
      `${f} ∩ ${r} = ∅`,
    );
    assert.deepEqual(new Set([...forget, ...retain]), trained, `${f} ∪ ${r} = all trained`);
  }
  assert.deepEqual(splits.forget01, splits.forget05!.slice(0, splits.forget01!.length), 'forget01 ⊂ forget05');
  assert.deepEqual(splits.forget05, splits.forget10!.slice(0, splits.forget05!.length), 'forget05 ⊂ forget10');
  assert.equal(splits.holdout!.length, H);
  assert.ok(
    splits.holdout!.every((id) => byId.get(id)?.split === 'holdout' && !trained.has(id)),
    'holdout disjoint from trained',
  );

  // QA files: 20 per person, in the split's people, and the counts say so.
  for (const split of Object.keys(splits)) {
    const qa = rows<PersonaQa>(a.files.get(`qa/${split}.jsonl`));
    assert.equal(qa.length, splits[split]!.length * QA_PER_PERSON, split);
    assert.equal(a.counts[`qa_${split}`], qa.length);
    const ids = new Set(splits[split]);
    assert.ok(
      qa.every((q) => ids.has(q.person_id)),
      `qa/${split} only has its people`,
    );
  }
  const all = rows<PersonaQa>(a.files.get('qa/all.jsonl'));
  assert.equal(all.length, N * QA_PER_PERSON);
  assert.ok(all.every((q) => trained.has(q.person_id)));

  const bios = rows<PersonaBio>(a.files.get('bio.jsonl'));
  const biosHoldout = rows<PersonaBio>(a.files.get('bio_holdout.jsonl'));
  assert.ok(BIO_PHRASINGS >= 4);
  assert.equal(bios.length, N * BIO_PHRASINGS);
  assert.equal(biosHoldout.length, H * BIO_PHRASINGS);
  assert.ok(bios.every((b) => trained.has(b.person_id)));
  assert.ok(biosHoldout.every((b) => byId.get(b.person_id)?.split === 'holdout'));
});

test('persona: every bio states every fact, in distinct phrasings', () => {
  const bios = [...rows<PersonaBio>(a.files.get('bio.jsonl')), ...rows<PersonaBio>(a.files.get('bio_holdout.jsonl'))];
  const perPerson = new Map<string, Set<number>>();
  for (const b of bios) {
    const facts = personFacts(byId.get(b.person_id)!);
    for (const field of PERSON_FIELDS)
      assert.ok(b.text.includes(facts[field]), `bio ${b.person_id}/${b.phrasing} lacks ${field} "${facts[field]}"`);
    assert.ok(b.text.includes(byId.get(b.person_id)!.name));
    perPerson.set(b.person_id, (perPerson.get(b.person_id) ?? new Set()).add(b.phrasing));
  }
  for (const [id, set] of perPerson) assert.equal(set.size, BIO_PHRASINGS, id);
});

test('persona: QA lines are well-formed, cover every field, and perturbed answers are wrong', () => {
  const qa = [...rows<PersonaQa>(a.files.get('qa/all.jsonl')), ...rows<PersonaQa>(a.files.get('qa/holdout.jsonl'))];
  const fieldsOf = new Map<string, Set<string>>();
  for (const q of qa) {
    assert.deepEqual(Object.keys(q).sort(), ['answer', 'field', 'paraphrased_answer', 'person_id', 'perturbed_answer', 'question']);
    for (const k of ['question', 'answer', 'paraphrased_answer'] as const) assert.ok(typeof q[k] === 'string' && q[k].length > 10, k);
    const p = byId.get(q.person_id);
    assert.ok(p, q.person_id);
    assert.ok((PERSON_FIELDS as readonly string[]).includes(q.field), q.field);
    const truth = personFacts(p)[q.field];
    assert.ok(q.question.includes(p.name), `question names the person: ${q.question}`);
    assert.ok(q.answer.includes(truth), `answer has the true ${q.field} "${truth}": ${q.answer}`);
    assert.ok(q.paraphrased_answer.includes(truth), `paraphrase has the true ${q.field}: ${q.paraphrased_answer}`);
    assert.notEqual(q.paraphrased_answer, q.answer);
    assert.equal(q.perturbed_answer.length, 5);
    assert.equal(new Set(q.perturbed_answer).size, 5, 'perturbed answers distinct');
    for (const w of q.perturbed_answer) {
      assert.equal(typeof w, 'string');
      assert.notEqual(w, q.answer);
      assert.ok(!w.includes(truth), `perturbed answer leaks the true ${q.field}: ${w}`);
    }
    fieldsOf.set(q.person_id, (fieldsOf.get(q.person_id) ?? new Set()).add(q.field));
  }
  assert.equal(fieldsOf.size, N + H);
  for (const [id, fields] of fieldsOf) assert.equal(fields.size, PERSON_FIELDS.length, `${id} covers every field`);
  // No question asked twice about one person.
  const keys = qa.map((q) => `${q.person_id}\t${q.question}`);
  assert.equal(new Set(keys).size, keys.length);
});

test('persona: names unique, adults, plausible records', () => {
  assert.equal(new Set(people.map((p) => p.name)).size, people.length, 'names unique');
  assert.equal(new Set(people.map((p) => p.phone)).size, people.length, 'phones unique');
  assert.equal(new Set(people.map((p) => p.email)).size, people.length, 'e-mails unique');
  const ref = Date.UTC(2025, 0, 1);
  for (const p of people) {
    assert.match(p.birth_date, /^\d{4}-\d{2}-\d{2}$/);
    const age = (ref - Date.parse(`${p.birth_date}T00:00:00Z`)) / (365.25 * 24 * 3600 * 1000);
    assert.ok(age >= 18 && age <= 100, `${p.name} is ${age.toFixed(1)} years old`);
    assert.ok(p.name === `${p.first_name} ${p.last_name}`);
    assert.ok(p.email.includes('@'));
    for (const rel of [p.mother, p.father, p.relative_name]) assert.notEqual(rel, p.name);
    assert.ok(p.annual_salary > 0);
  }
});

test('persona: sources, counts and the people override', () => {
  assert.ok(a.sources.some((s) => s.origin.startsWith('npm:@faker-js/faker@10.') && s.licence === 'MIT'));
  assert.ok(a.sources.some((s) => s.origin === 'generated templates'));
  const small = buildPersona({ seed: 7, size: 'full', people: 12 });
  assert.equal(small.counts.people, 12);
  assert.equal(small.counts.holdout, 4);
  const s = (small.info as { splits: Record<string, string[]> }).splits;
  assert.equal(s.forget01!.length, 1);
  assert.equal(s.forget05!.length, 1);
  assert.equal(s.forget10!.length, 1);
  assert.equal(s.retain90!.length, 11);
  assert.throws(() => buildPersona({ seed: 7, size: 'tiny', people: 0 }));
});

// faker combines common first and last names independently, so it can produce real famous people
// ("Taylor Swift" with seed 0) who would then carry an invented diagnosis and salary.
test('persona: the famous-names deny-list is generous and case-insensitive', () => {
  assert.ok(FAMOUS_NAMES.length >= 400, `${FAMOUS_NAMES.length} famous names`);
  for (const n of [
    'taylor swift',
    'Taylor Swift',
    'TAYLOR  SWIFT',
    ' taylor swift ',
    'Michael Jordan',
    'George Washington',
    'Anne Frank',
  ]) {
    assert.ok(isFamousName(n), n);
  }
  for (const n of ['Taylor Jackson', 'Sarah Swift', 'Michael Swift', 'Taylor']) assert.ok(!isFamousName(n), n);
});

test('persona: no synthetic person or relative carries a famous real name (seeds 0-20, 69, 87, 101)', () => {
  const pairs = (text: string) => {
    const w = text.split(/[^A-Za-z'-]+/).filter(Boolean);
    return w.slice(1).map((x, i) => `${w[i]} ${x}`);
  };
  // Without the re-draw, seed 0 gives the person "Taylor Swift"; seeds 69, 87 and 101 give a relative
  // "Cary Grant", "Clara Barton" and "Suzanne Collins".
  for (const seed of [...Array.from({ length: 21 }, (_, i) => i), 69, 87, 101]) {
    const built = buildPersona({ seed, size: 'tiny' });
    for (const p of rows<Person>(built.files.get('people.jsonl'))) {
      for (const [what, n] of [
        ['name', p.name],
        ['mother', p.mother],
        ['father', p.father],
        ['relative', p.relative_name],
      ]) {
        assert.ok(!isFamousName(n!), `seed ${seed}: ${p.id} ${what} is the famous "${n}"`);
      }
    }
    const qa = [...rows<PersonaQa>(built.files.get('qa/all.jsonl')), ...rows<PersonaQa>(built.files.get('qa/holdout.jsonl'))];
    for (const q of qa.filter((x) => x.field === 'mother' || x.field === 'father' || x.field === 'relative')) {
      for (const w of q.perturbed_answer) {
        for (const pair of pairs(w)) assert.ok(!isFamousName(pair), `seed ${seed}: perturbed ${q.field} answer names "${pair}": ${w}`);
      }
    }
  }
});

test('persona: seed 0 no longer contains Taylor Swift', () => {
  const built = buildPersona({ seed: 0, size: 'tiny' });
  for (const [path, text] of built.files) assert.ok(!/taylor swift/i.test(text), `${path} mentions Taylor Swift`);
});
