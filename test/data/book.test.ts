import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBook, firstSentence, parseDevilEntry, parseJargonEntry, verbatimProbe } from '../../src/data/book.js';
import { skipWithoutDictd } from '../helpers/dictd.js';
import type { BuiltSuite } from '../../src/data/suite.js';
import { withTempDir } from '../helpers/tmp.js';

const skip = skipWithoutDictd(['jargon', 'devil']);

type Row = Record<string, unknown>;

function rows(suite: BuiltSuite, path: string): Row[] {
  const content = suite.files.get(path);
  assert.ok(content !== undefined, `missing ${path}`);
  assert.ok(content.endsWith('\n'), `${path} must end with a newline`);
  return content
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Row;
      } catch {
        assert.fail(`${path}:${i + 1} is not JSON: ${line.slice(0, 80)}`);
      }
    });
}

function assertStrings(row: Row, fields: string[], where: string): void {
  for (const f of fields)
    assert.ok(typeof row[f] === 'string' && (row[f] as string).length > 0, `${where}: '${f}' must be a non-empty string`);
}

// Built once per seed and shared: building is the slow part.
let built: { a: BuiltSuite; again: BuiltSuite; other: BuiltSuite } | undefined;
function builds() {
  built ??= {
    a: buildBook({ seed: 1, size: 'tiny' }),
    again: buildBook({ seed: 1, size: 'tiny' }),
    other: buildBook({ seed: 2, size: 'tiny' }),
  };
  return built;
}

test('book: one seed gives byte-identical files; another seed another split and sample', { skip }, () => {
  const { a, again, other } = builds();
  assert.equal(a.suite, 'book');
  assert.deepEqual([...a.files.keys()].sort(), [...again.files.keys()].sort());
  for (const [path, content] of a.files) assert.equal(again.files.get(path), content, `${path} differs between two builds with one seed`);
  assert.deepEqual(a.counts, again.counts);
  assert.notEqual(other.files.get('jargon/forget.jsonl'), a.files.get('jargon/forget.jsonl'));
  assert.notEqual(other.files.get('devil/holdout.jsonl'), a.files.get('devil/holdout.jsonl'));
});

test('book: tiny sizes, sources and counts', { skip }, () => {
  const { a } = builds();
  assert.equal(rows(a, 'jargon/passages.jsonl').length, 60);
  assert.equal(rows(a, 'devil/passages.jsonl').length, 150);
  assert.equal(rows(a, 'jargon/holdout.jsonl').length, 6);
  assert.equal(rows(a, 'devil/holdout.jsonl').length, 15);
  for (const r of rows(a, 'jargon/passages.jsonl'))
    assert.ok((r.text as string).trim().split(/\s+/).length <= 150, 'tiny keeps entries of at most 150 words');
  for (const [path, content] of a.files) {
    const key = path.replace('/', '_').replace('.jsonl', '');
    if (key in a.counts) assert.equal(a.counts[key], content.split('\n').length - 1, `counts.${key}`);
  }
  const origins = a.sources.map((s) => s.origin);
  assert.ok(origins.includes('Debian package dict-jargon'));
  assert.ok(origins.includes('Debian package dict-devil'));
  for (const s of a.sources) assert.ok(s.licence && s.name && s.files?.length, JSON.stringify(s));
});

test('book: passages and the forget/holdout split', { skip }, () => {
  const { a } = builds();
  for (const work of ['jargon', 'devil']) {
    const passages = rows(a, `${work}/passages.jsonl`);
    const forget = rows(a, `${work}/forget.jsonl`);
    const holdout = rows(a, `${work}/holdout.jsonl`);
    for (const [i, p] of [...passages, ...forget, ...holdout].entries()) {
      assertStrings(p, ['text', 'entry'], `${work} passage ${i}`);
      assert.ok(!/[{}]/.test(p.text as string), `${work}: braces left in ${p.entry}`);
      assert.ok(!/ {2}|\t/.test(p.text as string), `${work}: whitespace not normalised in ${p.entry}`);
    }
    const forgetIds = new Set(forget.map((p) => p.entry));
    const holdoutIds = new Set(holdout.map((p) => p.entry));
    assert.equal(forgetIds.size, forget.length, `${work}: repeated forget entries`);
    assert.equal(new Set(passages.map((p) => p.entry)).size, passages.length);
    for (const id of holdoutIds) assert.ok(!forgetIds.has(id), `${work}: '${id}' is in both forget and holdout`);
    assert.deepEqual(new Set([...forgetIds, ...holdoutIds]), new Set(passages.map((p) => p.entry)));
    const byEntry = new Map(passages.map((p) => [p.entry, p.text]));
    for (const p of [...forget, ...holdout]) assert.equal(p.text, byEntry.get(p.entry));
  }
  // The passage starts with the term, so the model sees it.
  for (const p of rows(a, 'jargon/passages.jsonl')) assert.ok((p.text as string).startsWith(p.entry as string), `${p.entry}`);
  for (const p of rows(a, 'devil/passages.jsonl')) {
    assert.ok((p.text as string).toLowerCase().startsWith((p.entry as string).replace(/ \(\d+\)$/, '')), `${p.entry}`);
  }
});

test('book: verbatim prompt + reference is the start of the passage, from the right side of the split', { skip }, () => {
  const { a } = builds();
  for (const work of ['jargon', 'devil']) {
    for (const [file, side] of [
      ['verbatim', 'forget'],
      ['verbatim_holdout', 'holdout'],
    ] as const) {
      const passages = new Map(rows(a, `${work}/${side}.jsonl`).map((p) => [p.entry, p.text as string]));
      const probes = rows(a, `${work}/${file}.jsonl`);
      assert.ok(probes.length >= passages.size * 0.9, `${work}/${file}: ${probes.length} probes for ${passages.size} passages`);
      for (const probe of probes) {
        assertStrings(probe, ['prompt', 'reference', 'entry'], `${work}/${file}`);
        const passage = passages.get(probe.entry);
        assert.ok(passage !== undefined, `${work}/${file}: '${probe.entry}' is not a ${side} passage`);
        const prompt = probe.prompt as string;
        const reference = probe.reference as string;
        assert.ok(passage.startsWith(prompt), `${probe.entry}: prompt is not a prefix`);
        const rest = passage.slice(prompt.length);
        assert.match(rest, /^\s/, `${probe.entry}: prompt must end at a word boundary`);
        assert.ok(rest.trimStart().startsWith(reference), `${probe.entry}: reference does not follow the prompt`);
        const promptWords = prompt.split(/\s+/).length;
        const referenceWords = reference.split(/\s+/).length;
        assert.ok(promptWords >= 4 && promptWords <= 32, `${probe.entry}: ${promptWords} prompt words`);
        assert.ok(referenceWords >= 4 && referenceWords <= 64, `${probe.entry}: ${referenceWords} reference words`);
      }
    }
  }
});

test('book: knowledge QA in TOFU layout, about forget entries, with 5 distinct wrong answers', { skip }, () => {
  const { a } = builds();
  for (const work of ['jargon', 'devil']) {
    const forget = new Set(rows(a, `${work}/forget.jsonl`).map((p) => p.entry));
    const qa = rows(a, `${work}/knowledge_qa.jsonl`);
    assert.ok(qa.length >= forget.size * 0.8, `${work}: ${qa.length} QA for ${forget.size} forget entries`);
    for (const row of qa) {
      assertStrings(row, ['question', 'answer', 'paraphrased_answer', 'entry'], `${work} QA`);
      assert.ok(forget.has(row.entry), `${work}: QA about '${row.entry}', which is not a forget entry`);
      assert.match(row.question as string, /\?$/);
      assert.ok((row.question as string).includes(`'${(row.entry as string).replace(/ \(\d+\)$/, '')}'`), row.question as string);
      const perturbed = row.perturbed_answer as unknown[];
      assert.ok(Array.isArray(perturbed) && perturbed.length === 5, `${row.entry}: ${perturbed?.length} perturbed answers`);
      assert.ok(perturbed.every((p) => typeof p === 'string' && p.length > 0));
      assert.equal(new Set(perturbed).size, 5, `${row.entry}: repeated perturbed answers`);
      assert.ok(!perturbed.includes(row.answer), `${row.entry}: a perturbed answer equals the answer`);
      assert.notEqual(row.paraphrased_answer, row.answer);
    }
  }
  const kinds = rows(a, 'jargon/knowledge_qa.jsonl');
  assert.ok(kinds.every((r) => (r.question as string).startsWith('What does the jargon term ')));
  assert.ok(kinds.every((r) => (r.paraphrased_answer as string).startsWith('In hacker slang, ')));
});

test('book: completion prompts and anchored terms', { skip }, () => {
  const { a } = builds();
  const forget = new Set(rows(a, 'jargon/forget.jsonl').map((p) => p.entry));
  const completion = rows(a, 'jargon/completion.jsonl');
  assert.ok(completion.length > forget.size * 0.8, `${completion.length} completion prompts for ${forget.size} forget entries`);
  for (const row of completion) {
    assertStrings(row, ['prompt', 'entry'], 'completion');
    assert.ok(forget.has(row.entry), `completion about non-forget '${row.entry}'`);
    assert.ok((row.prompt as string).includes(`"${(row.entry as string).replace(/ \(\d+\)$/, '')}"`), row.prompt as string);
  }
  const terms = rows(a, 'jargon/anchored_terms.jsonl');
  assert.ok(terms.length > 20 && terms.length <= 300, `${terms.length} anchored terms`);
  const counts = terms.map((t) => t.count as number);
  assert.ok(
    counts.every((c, i) => Number.isInteger(c) && c > 0 && (i === 0 || c <= counts[i - 1]!)),
    'ranked by count',
  );
  const names = new Set(terms.map((t) => (t.term as string).toLowerCase()));
  assert.equal(names.size, terms.length, 'terms are unique');
  assert.ok(terms.every((t) => t.kind === 'headword' || t.kind === 'token'));
  for (const common of ['the', 'and', 'system', 'program', 'computer', 'software'])
    assert.ok(!names.has(common), `'${common}' is ordinary English`);
  const forgetText = rows(a, 'jargon/forget.jsonl')
    .map((p) => p.text as string)
    .join(' ')
    .toLowerCase();
  for (const coined of ['unix', 'usenet']) {
    const uses = forgetText.split(/[^a-z]+/).filter((w) => w === coined).length;
    if (uses >= 2) assert.ok(names.has(coined), `'${coined}' (${uses} uses) should be an anchored term`);
  }
});

test('book: parsing and cleaning single entries', () => {
  const kluge = parseJargonEntry(
    'kluge\n /klooj/\n\n    [from the German ‘klug’, clever]\n\n    1. n. A Rube Goldberg (or Heath Robinson) device, whether in hardware or\n    software. See {crock} and {\n    ad-hockery}.\n\n    A\n\n',
  );
  assert.ok(kluge);
  assert.equal(
    kluge.text,
    'kluge /klooj/\n[from the German ‘klug’, clever]\n1. n. A Rube Goldberg (or Heath Robinson) device, whether in hardware or software. See crock and ad-hockery.',
  );
  assert.equal(kluge.definition, 'A Rube Goldberg (or Heath Robinson) device, whether in hardware or software.');
  const tm = parseJargonEntry('1TBS\n //, n.\n\n    The “One True Brace Style”; see {indent style}.\n\n');
  assert.equal(tm?.text.split('\n')[0], '1TBS, n.');

  const abatis = parseDevilEntry(
    'ABATIS, n.  Rubbish in front of a fort, to prevent the rubbish outside\nfrom molesting the rubbish inside.\n\n',
    'abatis',
  );
  assert.equal(abatis?.entry, 'abatis');
  assert.equal(abatis?.text, 'ABATIS, n. Rubbish in front of a fort, to prevent the rubbish outside from molesting the rubbish inside.');
  assert.equal(abatis?.definition, 'Rubbish in front of a fort, to prevent the rubbish outside from molesting the rubbish inside.');
  const verse = parseDevilEntry(
    "ABDICATION, n.  An act whereby a sovereign attests his sense of the\nhigh temperature of the throne.\n\n    Poor Isabella's Dead, whose _abdication_\n    Set all tongues wagging.\n                         G.J.\n\n",
    'abdication',
  );
  assert.equal(
    verse?.text,
    "ABDICATION, n. An act whereby a sovereign attests his sense of the high temperature of the throne.\nPoor Isabella's Dead, whose abdication\nSet all tongues wagging.\nG.J.",
  );

  assert.equal(firstSentence('Derived from the U.S. Army, e.g. in 1960. Then it spread.'), 'Derived from the U.S. Army, e.g. in 1960.');
  assert.equal(firstSentence('No end mark here'), 'No end mark here');
  const probe = verbatimProbe({ entry: 'x', headword: 'x', text: 'one two three four five six seven eight nine ten', bodyWords: 9 });
  assert.deepEqual(probe, { prompt: 'one two three four five', reference: 'six seven eight nine ten', entry: 'x' });
});

test('book: a missing package is named with its apt-get fix', () => {
  withTempDir('lethe-book-', (dir) => {
    assert.throws(
      () => buildBook({ seed: 1, size: 'tiny' }, dir),
      /the book suite needs .*jargon\.index \(Debian package dict-jargon\): apt-get install dict-jargon/,
    );
  });
});
