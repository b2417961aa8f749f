import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutDictd } from '../helpers/dictd.js';
import { buildGeneral, cleanGcideEntry, formatGcideDefinition, parseDiscovery, parseElementEntry } from '../../src/data/general.js';
import type { BuiltSuite } from '../../src/data/suite.js';
import { withTempDir } from '../helpers/tmp.js';

const skip = skipWithoutDictd(['gcide', 'elements']);

type Row = Record<string, unknown>;

function rows(suite: BuiltSuite, path: string): Row[] {
  const content = suite.files.get(path);
  assert.ok(content !== undefined, `missing ${path}`);
  assert.ok(content.endsWith('\n'), `${path} must end with a newline`);
  return content
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Row);
}

/** "Apple (n.): 1. The fleshy..." → "apple". */
function headwordOf(text: string): string {
  return text
    .slice(0, text.indexOf(': '))
    .replace(/ \([^()]*\)$/, '')
    .toLowerCase();
}

let built: { a: BuiltSuite; again: BuiltSuite; other: BuiltSuite } | undefined;
function builds() {
  built ??= {
    a: buildGeneral({ seed: 1, size: 'tiny' }),
    again: buildGeneral({ seed: 1, size: 'tiny' }),
    other: buildGeneral({ seed: 2, size: 'tiny' }),
  };
  return built;
}

test('general: one seed gives byte-identical files; another seed another sample', { skip }, () => {
  const { a, again, other } = builds();
  assert.equal(a.suite, 'general');
  for (const [path, content] of a.files) assert.equal(again.files.get(path), content, `${path} differs between two builds with one seed`);
  assert.deepEqual(a.counts, again.counts);
  assert.notEqual(other.files.get('gcide/train.jsonl'), a.files.get('gcide/train.jsonl'));
  assert.notEqual(other.files.get('gcide/heldout.jsonl'), a.files.get('gcide/heldout.jsonl'));
  assert.notEqual(other.files.get('elements/facts_qa.jsonl'), a.files.get('elements/facts_qa.jsonl')); // perturbed answers
});

test('general: GCIDE train text is clean, about 1.5 MB in tiny, and shares no headword with heldout', { skip }, () => {
  const { a } = builds();
  const trainBytes = Buffer.byteLength(a.files.get('gcide/train.jsonl')!);
  assert.ok(trainBytes > 1_400_000 && trainBytes < 1_900_000, `${trainBytes} bytes of train text`);
  const train = rows(a, 'gcide/train.jsonl');
  const heldout = rows(a, 'gcide/heldout.jsonl');
  assert.ok(heldout.length > 50 && heldout.length < train.length / 20, `${heldout.length} heldout vs ${train.length} train`);
  for (const row of [...train, ...heldout]) {
    assert.deepEqual(Object.keys(row), ['text']);
    const text = row.text as string;
    assert.match(text, /^[^:]+: \S/, text);
    assert.ok(!/[\\{}]|\[1913 Webster\]|\[PJC\]|WordNet 1\.5|\s{2}/.test(text), `not clean: ${text}`);
  }
  const trainHeadwords = new Set(train.map((r) => headwordOf(r.text as string)));
  for (const r of heldout)
    assert.ok(!trainHeadwords.has(headwordOf(r.text as string)), `'${headwordOf(r.text as string)}' is in train and heldout`);
  assert.equal(a.counts.gcide_train, train.length);
  assert.equal(a.counts.gcide_heldout, heldout.length);
  assert.ok(a.sources.some((s) => s.origin === 'Debian package dict-gcide' && s.licence === 'GPL-3+'));
});

test('general: element facts in TOFU layout, with wrong values in the same sentence', { skip }, () => {
  const { a } = builds();
  const qa = rows(a, 'elements/facts_qa.jsonl');
  assert.ok(qa.length > 400, `${qa.length} fact QA`);
  for (const row of qa) {
    for (const f of ['question', 'answer', 'paraphrased_answer'])
      assert.ok(typeof row[f] === 'string' && (row[f] as string).length > 0, `${f}: ${JSON.stringify(row)}`);
    const perturbed = row.perturbed_answer as string[];
    assert.equal(perturbed.length, 5);
    assert.equal(new Set(perturbed).size, 5);
    assert.ok(!perturbed.includes(row.answer as string), `perturbed equals answer: ${row.answer}`);
    assert.notEqual(row.paraphrased_answer, row.answer);
    // Perturbed answers keep the sentence and swap the value: same words before the value.
    const stem = (row.answer as string).split(' ').slice(0, 3).join(' ');
    assert.ok(
      perturbed.every((p) => p.startsWith(stem)),
      `${row.answer} vs ${perturbed[0]}`,
    );
  }
  const byQuestion = new Map(qa.map((r) => [r.question, r.answer]));
  assert.equal(byQuestion.get('What is the chemical symbol of helium?'), 'The chemical symbol of helium is He.');
  assert.equal(byQuestion.get('What is the atomic number of oxygen?'), 'The atomic number of oxygen is 8.');
  assert.equal(byQuestion.get('Which element has atomic number 26?'), 'The element with atomic number 26 is iron.');
  assert.equal(byQuestion.get('What is the atomic weight of hydrogen?'), 'The atomic weight of hydrogen is 1.0079.');
  assert.equal(byQuestion.get('Who discovered hydrogen, and in what year?'), 'Hydrogen was discovered by Henry Cavendish in 1776.');
  const text = rows(a, 'elements/facts_text.jsonl');
  assert.equal(text.length, 2 * a.counts.elements!);
  assert.ok(text.some((r) => (r.text as string).includes('The chemical symbol of helium is He.')));
});

test('general: GCIDE and element parsing of single entries', () => {
  const apple = cleanGcideEntry(`Apple \\Ap"ple\\ ([a^]p"p'l), n. [OE. appel, eppel, AS. [ae]ppel,
   [ae]pl; of unknown origin.]
   1. The fleshy pome or fruit of a rosaceous tree ({Pyrus
      malus}) cultivated in numberless varieties.
      [1913 Webster]

   Note: The European crab apple is supposed to be the original.
         [1913 Webster]

   2. (Bot.) Any tree genus {Pyrus}; an apple tree. --Holland.
      [1913 Webster]

            Quoted verse that is not a definition.  --Shak.
      [1913 Webster]

   {Apple of the eye}, the pupil.
   [1913 Webster] Applejack
`);
  assert.ok(apple);
  assert.equal(
    formatGcideDefinition(apple),
    'Apple (n.): 1. The fleshy pome or fruit of a rosaceous tree (Pyrus malus) cultivated in numberless varieties. 2. Any tree genus Pyrus; an apple tree.',
  );
  // Entities ['e], [ae] become letters; [R.] and [Prov. Eng.] labels go.
  const cafe = cleanGcideEntry(
    "Cafe \\Ca*fe\"\\, n. [F. caf['e].]\n   A coffee house; a caf['e] or [ae]rated tavern. [R.]\n   [1913 Webster]\n",
  );
  assert.equal(cafe && formatGcideDefinition(cafe), 'Cafe (n.): A coffee house; a cafe or aerated tavern.');
  assert.equal(cleanGcideEntry("Colt's tooth \\Colt's\" tooth`\\\n   See under {Colt}.\n   [1913 Webster]\n"), undefined);

  assert.deepEqual(parseDiscovery('Colourless gas. Discovered by Henry Cavendish in 1776.'), { discoverer: 'Henry Cavendish', year: 1776 });
  assert.deepEqual(parseDiscovery('Discovered in 1797 by Vauquelin.'), { discoverer: 'Vauquelin', year: 1797 });
  assert.deepEqual(parseDiscovery('Discovered by Carl F. Auer von Welsbach in Austria in 1885 by separating didymium.'), {
    discoverer: 'Carl F. Auer von Welsbach',
    year: 1885,
  });
  assert.equal(parseDiscovery('Discovered in 1970 by Berkeley researchers.'), undefined);
  assert.equal(parseDiscovery('Discovered by the Joint Institute for Nuclear Research at Dubna in 1974.'), undefined);
  const helium = parseElementEntry(
    'helium\nSymbol: He\nAtomic number: 2\nAtomic weight: 4.0026\nColourless gas.\nDiscovered in the solar spectrum in 1868 by Lockyer.\n\n',
  );
  assert.deepEqual(helium && { ...helium, description: undefined }, {
    name: 'helium',
    symbol: 'He',
    atomicNumber: 2,
    atomicWeight: '4.0026',
    description: undefined,
  });
  const astatine = parseElementEntry('astatine\nSymbol: At\nAtomic number: 85\nAtomic weight: (210)\nRadioactive halogen element.\n');
  assert.equal(astatine?.atomicWeight, undefined);
});

test('general: a missing package is named with its apt-get fix', () => {
  withTempDir('lethe-general-', (dir) => {
    assert.throws(
      () => buildGeneral({ seed: 1, size: 'tiny' }, dir),
      /the general suite needs .*gcide\.index \(Debian package dict-gcide\): apt-get install dict-gcide/,
    );
  });
});
