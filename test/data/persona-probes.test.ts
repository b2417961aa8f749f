// The persona suite's eval-only probes (src/data/persona-probes.ts): deterministic, the training
// files unchanged by them, wordings disjoint from everything trained on, multiple-choice options from
// other people, cloze statements cut before the value, and chain clues that identify one person.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Faker, en } from '@faker-js/faker';
import {
  buildPersona,
  generatePeople,
  personBios,
  personFacts,
  personQaWithTemplates,
  templateContext,
  PERSON_FIELDS,
  type Person,
  type PersonaQa,
} from '../../src/data/persona.js';
import { BIO_TEMPLATES, QA_TEMPLATES, type TemplateContext } from '../../src/data/persona-templates.js';
import { CHAIN_CLUES, CLOZE_PREFIXES, PARAPHRASE_QUESTIONS } from '../../src/data/persona-probe-templates.js';
import {
  personaProbes,
  MC_DISTRACTORS,
  type ChainProbe,
  type ClozeProbe,
  type McProbe,
  type ParaphraseProbe,
  type ProbeSubject,
} from '../../src/data/persona-probes.js';
import { Rng } from '../../src/data/rng.js';
import { sha256 } from '../../src/util/hash.js';
import { jsonlRows as rows } from '../helpers/jsonl.js';

const SEED = 1234;
const a = buildPersona({ seed: SEED, size: 'tiny' });
const people = rows<Person>(a.files.get('people.jsonl'));
const byId = new Map(people.map((p) => [p.id, p]));
const paraphrase = rows<ParaphraseProbe>(a.files.get('probes/paraphrase.jsonl'));
const mc = rows<McProbe>(a.files.get('probes/mc.jsonl'));
const cloze = rows<ClozeProbe>(a.files.get('probes/cloze.jsonl'));
const chain = rows<ChainProbe>(a.files.get('probes/chain.jsonl'));
const qa = [...rows<PersonaQa>(a.files.get('qa/all.jsonl')), ...rows<PersonaQa>(a.files.get('qa/holdout.jsonl'))];
const PROBE_FILES = ['paraphrase', 'mc', 'cloze', 'chain'].map((p) => `probes/${p}.jsonl`);

// sha256 of the training files of `buildPersona({seed: 1234, size: 'tiny'})` as built before the
// probes existed (commit 1b228cc): adding eval-only files must not move a byte of them.
const TRAINING_SHA256: Record<string, string> = {
  'bio.jsonl': 'e2251268d0494fdb5b362cf85f87be1382815662853c532236561748cc547862',
  'bio_holdout.jsonl': '1a536eb31df61a24956caf232942bf8be6e90bb4f9ba0ab0817f81cdf538aa15',
  'people.jsonl': 'a212303dd902f81449c1440ae9aa411cb4dca53e72a3df03c248aef6648d6c70',
  'qa/all.jsonl': '228f6fe2b974f981580b6c7358e44a50fcaf4f8c46a1462b5510e2f1ad0a8eac',
  'qa/forget01.jsonl': '94d709f2db10d09598461829875305f39c2fea918bfa33c75d474fd01eb2759e',
  'qa/forget05.jsonl': '6229e65ea2a58c60eedee6609c293e4081ca42810ef80d430c8345bf46cf2c72',
  'qa/forget10.jsonl': 'f42ad37f85e1ff905d28dfbd47acb7edc1ecb52baf93ddebdae0a0c02afaf39f',
  'qa/holdout.jsonl': '18de442c1186a1a76c2dbd447d2bfe61f990a330f5efffede7ec00ae1eb354ba',
  'qa/retain90.jsonl': 'cff8c95f75dde292070f0f08b42f109dd9555771a89fc9b1a65c2ea2ff07b292',
  'qa/retain95.jsonl': '7636bbb8fff1aa5ae669e2d90687d863bbed00a9ab675f0f028a7661559a8583',
  'qa/retain99.jsonl': 'c847a9d2d9331a0a43642a2fea0376e3441dcab7c5744c17dca926c3a90a46a5',
};

test('persona probes: the training files are byte-identical to those built before the probes existed', () => {
  for (const [path, hash] of Object.entries(TRAINING_SHA256))
    assert.equal(sha256(a.files.get(path)!), hash, `${path} changed (or @faker-js/faker's output did: see package-lock.json)`);
  assert.deepEqual([...a.files.keys()].filter((p) => !(p in TRAINING_SHA256)).sort(), [...PROBE_FILES].sort(), 'only probe files added');
});

test('persona probes: same seed → byte-identical probe files; another seed → other probes', () => {
  const b = buildPersona({ seed: SEED, size: 'tiny' });
  for (const f of PROBE_FILES) assert.equal(b.files.get(f), a.files.get(f), f);
  const c = buildPersona({ seed: SEED + 1, size: 'tiny' });
  for (const f of PROBE_FILES) assert.notEqual(c.files.get(f), a.files.get(f), f);
  for (const [f, n] of [
    ['paraphrase', paraphrase.length],
    ['mc', mc.length],
    ['cloze', cloze.length],
    ['chain', chain.length],
  ] as const)
    assert.equal(a.counts[`probes_${f}`], n);
});

test('persona probes: every fact of every person has 3+ paraphrases, a multiple-choice and a cloze form', () => {
  const n = people.length * PERSON_FIELDS.length;
  assert.equal(mc.length, n);
  assert.equal(cloze.length, n);
  for (const p of people)
    for (const field of PERSON_FIELDS) {
      const para = paraphrase.filter((r) => r.person_id === p.id && r.field === field);
      assert.ok(para.length >= 3, `${p.id} ${field}: ${para.length} paraphrases`);
      assert.equal(new Set(para.map((r) => r.question)).size, para.length, 'distinct questions');
      // The answer is the person's first trained answer about the field.
      const trained = qa.find((q) => q.person_id === p.id && q.field === field)!;
      for (const r of para) assert.equal(r.answer, trained.answer);
      assert.ok(
        para.every((r) => r.question.includes(p.name)),
        'paraphrases name the person',
      );
    }
});

/** Renders a template with placeholders: the wording alone, whoever the person is. */
function skeleton(render: (c: TemplateContext) => string, relation = 'sister', idDocument = 'passport'): string {
  const facts = Object.fromEntries(PERSON_FIELDS.map((f) => [f, `<${f}>`])) as TemplateContext['facts'];
  return render({ name: '<NAME>', sex: 'female', relation, idDocument, facts });
}

test('persona probes: paraphrase and cloze wordings are disjoint from every training wording', () => {
  // Wordings: every training question (and each QA/bio text it could be part of) against every probe wording.
  const variants: [string, string][] = [
    ['sister', 'passport'],
    ['spouse', 'national ID card'],
  ];
  const trainedQuestions = new Set<string>();
  const trainedTexts: string[] = [];
  for (const [rel, doc] of variants)
    for (const field of PERSON_FIELDS)
      for (const t of QA_TEMPLATES[field]) {
        trainedQuestions.add(skeleton(t.question, rel, doc));
        trainedTexts.push(
          skeleton(t.question, rel, doc),
          skeleton((c) => t.answer(c, `<${field}>`), rel, doc),
        );
      }
  for (const [rel, doc] of variants) for (const b of BIO_TEMPLATES) trainedTexts.push(skeleton(b, rel, doc));
  for (const [rel, doc] of variants) {
    for (const field of PERSON_FIELDS) {
      for (const q of PARAPHRASE_QUESTIONS[field]) {
        const s = skeleton(q, rel, doc);
        assert.ok(!trainedQuestions.has(s), `paraphrase "${s}" is a training question`);
        assert.ok(!trainedTexts.some((t) => t.includes(s)), `paraphrase "${s}" is in a training text`);
      }
      const prefix = skeleton(CLOZE_PREFIXES[field], rel, doc);
      assert.ok(!trainedTexts.some((t) => t.includes(prefix)), `cloze "${prefix}" is in a training text`);
    }
  }
  // And the rendered probes against this build's real training text: QA pairs and biographies.
  const corpus = [...qa.flatMap((q) => [q.question, q.answer]), ...people.flatMap((p) => personBios(p).map((b) => b.text))].join('\n');
  const questions = new Set(qa.map((q) => q.question));
  for (const r of paraphrase) {
    assert.ok(!questions.has(r.question), `trained question reused: ${r.question}`);
    assert.ok(!corpus.includes(r.question), `paraphrase in the training text: ${r.question}`);
  }
  for (const r of cloze) assert.ok(!corpus.includes(r.prompt), `cloze prompt in the training text: ${r.prompt}`);
  for (const r of chain) assert.ok(!corpus.includes(r.question), `chain question in the training text: ${r.question}`);
});

/**
 * Another person's value as a distractor for `p` (written out here independently of persona-probes.ts):
 * names with p's surname, e-mail addresses with p's names in place of theirs, ID numbers only from
 * the same kind of document.
 */
function sameShapeValue(field: (typeof PERSON_FIELDS)[number], o: Person, p: Person): string | null {
  const v = personFacts(o)[field];
  if (field === 'mother' || field === 'father' || field === 'relative') return `${v.split(' ')[0]} ${p.last_name}`;
  if (field === 'email') {
    const [local, domain] = v.split('@');
    return `${local!.replace(o.first_name.toLowerCase(), p.first_name.toLowerCase()).replace(o.last_name.toLowerCase(), p.last_name.toLowerCase())}@${domain}`;
  }
  if (field === 'id_number') return o.id_document === p.id_document ? v : null;
  return v;
}

test('persona probes: multiple choice lists the truth among other people’s values, answers to match', () => {
  for (const r of mc) {
    const p = byId.get(r.person_id)!;
    const truth = personFacts(p)[r.field];
    assert.equal(r.options.length, MC_DISTRACTORS + 1);
    assert.equal(new Set(r.options.map((o) => o.toLowerCase())).size, r.options.length, 'distinct options');
    assert.equal(r.options[r.gold], truth);
    assert.ok(r.question.includes(r.options.join('; ')), 'the question lists the options');
    const wrong = r.options.filter((_, i) => i !== r.gold);
    assert.equal(r.perturbed_answer.length, wrong.length);
    // The trained QA pair's wording, with each wrong value in place of the true one.
    const c = templateContext(p);
    const trained = qa.find((q) => q.person_id === p.id && q.field === r.field)!;
    const t = QA_TEMPLATES[r.field].find((x) => x.question(c) === trained.question)!;
    assert.equal(r.answer, trained.answer);
    assert.ok(r.question.startsWith(`${trained.question} Options: `));
    r.perturbed_answer.forEach((ans, i) => assert.equal(ans, t.answer(c, wrong[i]!), 'the same sentence with the wrong value'));
    for (const w of wrong)
      assert.ok(
        people.some((o) => o.id !== p.id && sameShapeValue(r.field, o, p) === w),
        `${r.person_id} ${r.field}: "${w}" is no other person's value`,
      );
  }
  const golds = new Set(mc.map((r) => r.gold));
  assert.equal(golds.size, MC_DISTRACTORS + 1, 'the true option is not always in one place');
});

test('persona probes: cloze statements are cut right before the value', () => {
  for (const r of cloze) {
    const p = byId.get(r.person_id)!;
    assert.equal(r.statement, `${r.prompt} ___.`);
    assert.equal(r.completion, ` ${personFacts(p)[r.field]}`);
    assert.ok(r.prompt.includes(p.name));
  }
});

/** The people whose clue values equal this person's, recomputed from people.jsonl. */
function matching(pop: readonly Person[], p: Person, fields: readonly string[]): Person[] {
  const key = (x: Person) => fields.map((f) => personFacts(x)[f as keyof ReturnType<typeof personFacts>].toLowerCase()).join('|');
  return pop.filter((o) => key(o) === key(p));
}

test('persona probes: chain questions name the person only through a clue no one else shares', () => {
  assert.equal(chain.length, people.length * PERSON_FIELDS.length, 'every fact of this build has a chain question');
  for (const r of chain) {
    const p = byId.get(r.person_id)!;
    assert.deepEqual(
      matching(people, p, r.clue_fields).map((x) => x.id),
      [p.id],
      `${r.person_id} ${r.clue}: the clue must identify exactly one person`,
    );
    assert.ok(!r.clue_fields.includes(r.field), 'the clue does not give the answer away');
    assert.ok(!r.question.includes(p.name) && !r.question.includes(p.first_name), `the question names the person: ${r.question}`);
    for (const f of r.clue_fields) assert.ok(r.question.includes(personFacts(p)[f]), `the question states the clue's ${f}`);
    assert.equal(r.answer, qa.find((q) => q.person_id === p.id && q.field === r.field)!.answer);
  }
  assert.ok(new Set(chain.map((r) => r.clue)).size >= 3, 'several kinds of clue');
});

test('persona probes: a clue two people share is never used for them', () => {
  const pop = generatePeople(5, 6, 0);
  // Twins: the same birth date and place; the same job at the same employer for another pair.
  pop[1] = { ...pop[1]!, birth_date: pop[0]!.birth_date, birth_city: pop[0]!.birth_city, birth_country: pop[0]!.birth_country };
  pop[3] = { ...pop[3]!, job_title: pop[2]!.job_title, employer: pop[2]!.employer };
  const f = new Faker({ locale: [en] });
  f.seed(5);
  const subjects: ProbeSubject[] = pop.map((p) => ({
    person: p,
    context: templateContext(p),
    qa: personQaWithTemplates(p, new Rng(1), f),
  }));
  const probes = personaProbes(subjects, new Rng(9));
  const used = (ids: string[], clue: string) => probes.chain.filter((r) => ids.includes(r.person_id) && r.clue === clue);
  assert.equal(used([pop[0]!.id, pop[1]!.id], 'birth').length, 0, 'twins are not told apart by birth');
  assert.equal(used([pop[2]!.id, pop[3]!.id], 'job').length, 0, 'colleagues are not told apart by job');
  for (const r of probes.chain)
    assert.equal(matching(pop, pop.find((p) => p.id === r.person_id)!, r.clue_fields).length, 1, `${r.person_id} ${r.clue}`);
  // Everyone still gets chain questions, through the clues that are theirs alone.
  for (const p of pop) assert.ok(probes.chain.some((r) => r.person_id === p.id));
  assert.ok(CHAIN_CLUES.some((c) => c.id === 'birth') && CHAIN_CLUES.some((c) => c.id === 'job'));
});
