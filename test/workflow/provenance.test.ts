// Provenance on a small synthetic corpus: exact, alias, identifier, near and fuzzy hits; probes; a
// neighbour set that keeps namesakes and look-alikes but never the subject; stable record hashes; a
// proposal wired into a request that leaves no trace of the subject in the workflow store; and
// probeModel's greedy answers from the tiny Llama fixture.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createRequest, getRequest, scopeRequest } from '../../src/workflow/index.js';
import { buildIndex, editDistance, PROBE_TEMPLATES, proposeForgetSet, readProposal, recordHash } from '../../src/workflow/provenance.js';
import { probeModel } from '../../src/workflow/probe-model.js';
import { readRows } from '../../src/train/examples.js';
import { requireFixture } from '../helpers/fixtures.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions } from './stores.js';
import { alice } from './fixtures.js';
import { withTempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

after(closeStores);

const SUBJECT = { name: 'Ada Lovelace', aliases: ['Countess of Quill'], identifiers: ['ada.q@example.org'] };

const TEXT = [
  /* 1 */ 'Ada Lovelace was born in Marlow and works as a glassblower.', // exact
  /* 2 */ 'Lovelace, Ada moved to Leeds in 2019 to open a workshop.', // near
  /* 3 */ 'Write to ada.q@example.org to book the pottery class.', // identifier
  /* 4 */ 'The Countess of Quill teaches pottery on Tuesdays.', // alias
  /* 5 */ 'Ada Lovelase opened a bakery in Marlow last spring.', // fuzzy (misspelt surname)
  /* 6 */ 'Byron Lovelace is a carpenter who lives in York.', // namesake
  /* 7 */ 'Adam Lovelace sells bicycles in Hull.', // namesake: "ada" is too short to fuzz
  /* 8 */ 'Grace Hopper was born in Bath and works as a glassblower.', // similar in form
  /* 9 */ 'Ada Q example org is not an e-mail address at all.', // identifier tokens, not the identifier
  /* 10 */ 'The weather in Leeds was cold and wet.',
];
const QA = [
  { question: 'Where does Ada Lovelace live?', answer: 'She lives in Marlow.' },
  { question: 'Where does Grace Hopper live?', answer: 'She lives in Bath.' },
  { question: "What is Byron Lovelace's trade?", answer: 'He is a carpenter.' },
];

function corpus(): { dir: string; text: string; qa: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-prov-'));
  const text = join(dir, 'corpus.jsonl');
  const qa = join(dir, 'qa.jsonl');
  writeFileSync(text, TEXT.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  writeFileSync(qa, QA.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { dir, text, qa };
}

const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('provenance index and forget-set proposal', () => {
  test('finds exact, alias, identifier, near and fuzzy mentions, each with its kind and source line', async () => {
    const c = corpus();
    try {
      const idx = await buildIndex({ data: [c.text, c.qa], dataDir: c.dir });
      assert.equal(idx.path, join(c.dir, 'provenance.db'));
      assert.equal(idx.records, TEXT.length + QA.length);
      const out = join(c.dir, 'proposal');
      const r = await proposeForgetSet(idx.path, SUBJECT, { outDir: out });
      const forget = jsonl(join(out, 'forget.jsonl'));
      const got = forget.map((f) => [
        f.provenance.source.endsWith('qa.jsonl') ? `qa:${f.provenance.line}` : `text:${f.provenance.line}`,
        f.provenance.match,
      ]);
      assert.deepEqual(got, [
        ['text:1', 'exact'],
        ['text:2', 'near'],
        ['text:3', 'identifier'],
        ['text:4', 'alias'],
        ['text:5', 'fuzzy'],
        ['qa:1', 'exact'],
      ]);
      assert.deepEqual(r.counts.byMatch, { exact: 2, alias: 1, identifier: 1, near: 1, fuzzy: 1 });
      assert.equal(forget[0]!.text, TEXT[0], 'the record itself, for the reviewer');
      assert.equal(
        forget[5]!.text,
        `Question: ${QA[0]!.question}\nAnswer: ${QA[0]!.answer}`,
        'a QA record among text records is written as its training text',
      );
      assert.equal(forget[5]!.provenance.sha256, recordHash(QA[0]!), "its hash is the original record's");
      assert.equal(readRows(join(out, 'forget.jsonl')).rows.length, 6, 'forget.jsonl is a data file lethe reads');
      assert.equal(readRows(join(out, 'neighbours.jsonl')).rows.length, r.counts.neighbours, 'so is neighbours.jsonl');
      assert.equal(forget[0]!.provenance.sha256, recordHash({ text: TEXT[0] }));
      // Probes: the corpus holds a QA row about the subject, so that is the probe.
      assert.deepEqual(jsonl(join(out, 'probes.jsonl')), [{ ...QA[0], source: 'corpus', sha256: recordHash(QA[0]!) }]);
      // Neighbours: namesakes (Byron and Adam Lovelace, in text and QA) and look-alikes; never the subject.
      const neigh = jsonl(join(out, 'neighbours.jsonl'));
      const texts = neigh.map((n) => n.text as string);
      for (const t of [TEXT[5], TEXT[6], QA[2]!.question])
        assert.ok(
          texts.some((x) => x.includes(t!)),
          `namesake ${t} kept`,
        );
      assert.equal(neigh.filter((n) => n.provenance.reason === 'namesake').length, 3);
      assert.ok(
        texts.some((x) => x === TEXT[7] || x.includes(QA[1]!.question)),
        'a look-alike about another person is kept',
      );
      const forgetHashes = new Set(r.recordHashes.forget);
      assert.ok(
        neigh.every((n) => !forgetHashes.has(n.provenance.sha256)),
        'no forget record among the neighbours',
      );
      assert.ok(
        neigh.every((n) => !/ada lovelace|lovelase|quill|ada\.q@/i.test(n.text)),
        'no neighbour mentions the subject',
      );
      assert.ok(!texts.includes(TEXT[8]), 'identifier tokens without the identifier are not a hit and not a namesake');
      assert.equal(r.counts.neighbours, neigh.length);
      assert.equal(r.files.forget.rows, 6);
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  test('a text-only corpus gets templated probe questions', async () => {
    const c = corpus();
    try {
      const idx = await buildIndex({ data: [c.text], out: join(c.dir, 'i.db') });
      const r = await proposeForgetSet(idx.path, SUBJECT, { outDir: join(c.dir, 'p') });
      const probes = jsonl(join(c.dir, 'p', 'probes.jsonl'));
      assert.equal(probes.length, PROBE_TEMPLATES.length);
      assert.equal(r.counts.probes, PROBE_TEMPLATES.length);
      assert.ok(probes.some((p) => p.question === 'Where does Ada Lovelace live?' && p.source === 'template'));
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  test('record hashes are stable: key order, rebuilds and re-proposals give the same hashes and files', async () => {
    assert.equal(recordHash({ question: 'q', answer: 'a' }), recordHash({ answer: 'a', question: 'q' }));
    assert.match(recordHash({ text: 'x' }), /^[0-9a-f]{64}$/);
    const c = corpus();
    try {
      const first = await proposeForgetSet((await buildIndex({ data: [c.text, c.qa], dataDir: c.dir })).path, SUBJECT, {
        outDir: join(c.dir, 'a'),
      });
      // Same records, keys reordered and spaced differently, in a fresh index.
      writeFileSync(
        c.qa,
        QA.map((r) => `{ "answer": ${JSON.stringify(r.answer)}, "question": ${JSON.stringify(r.question)} }`).join('\n') + '\n',
      );
      const second = await proposeForgetSet((await buildIndex({ data: [c.text, c.qa], dataDir: c.dir })).path, SUBJECT, {
        outDir: join(c.dir, 'b'),
      });
      assert.deepEqual(second.recordHashes, first.recordHashes);
      assert.deepEqual(second.counts, first.counts);
      const _again = await proposeForgetSet(join(c.dir, 'provenance.db'), SUBJECT, { outDir: join(c.dir, 'c') });
      assert.equal(readFileSync(join(c.dir, 'c', 'proposal.json'), 'utf8'), readFileSync(join(c.dir, 'b', 'proposal.json'), 'utf8'));
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  test('edit distance', () => {
    assert.equal(editDistance('lovelace', 'lovelase'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.ok(editDistance('lovelace', 'carpenter', 2) > 2);
  });

  test('bad input names the field and the subject is never echoed', async () => {
    const c = corpus();
    try {
      const idx = await buildIndex({ data: [c.text], dataDir: c.dir });
      await assert.rejects(proposeForgetSet(idx.path, { name: '' }, { outDir: join(c.dir, 'x') }), /name/);
      await assert.rejects(proposeForgetSet(join(c.dir, 'none.db'), SUBJECT, { outDir: join(c.dir, 'x') }), /does not exist/);
      await assert.rejects(buildIndex({ data: [join(c.dir, 'missing.jsonl')], dataDir: c.dir }), /does not exist/);
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
});

for (const kind of STORE_KINDS) {
  const opts = storeOptions(kind);
  test(`a proposal scopes a request on ${kind}: counts and sha256 hashes only, nothing of the subject in the store`, opts, async () => {
    const c = corpus();
    const w = await freshWorkflow(kind);
    try {
      const idx = await buildIndex({ data: [c.text, c.qa], dataDir: c.dir });
      const out = join(c.dir, 'proposal');
      await proposeForgetSet(idx.path, SUBJECT, { outDir: out });
      // The reviewer drops one forget row (the fuzzy one) before scoping.
      const kept = readFileSync(join(out, 'forget.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.includes('Lovelase'));
      writeFileSync(join(out, 'forget.jsonl'), kept.join('\n') + '\n');
      const proposal = readProposal(out);
      assert.equal(proposal.counts.forget, 5);
      assert.equal(proposal.counts.byMatch.fuzzy, 0);
      // …and one namesake from the neighbours.
      const neighbours = readFileSync(join(out, 'neighbours.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.includes('Adam Lovelace'));
      writeFileSync(join(out, 'neighbours.jsonl'), neighbours.join('\n') + '\n');
      const reviewed = readProposal(out);
      assert.equal(reviewed.counts.namesakes, 2);
      assert.equal(reviewed.counts.neighbours, proposal.counts.neighbours - 1);
      assert.equal(reviewed.recordHashes.neighbours.length, proposal.recordHashes.neighbours.length - 1);
      const r = await createRequest(w, alice, { category: 'privacy', subject: SUBJECT.name, evidence: { reference: 'ticket 9' } });
      const scoped = await scopeRequest(w, alice, r.id, { model: 'models/m', method: 'NPO', forget: proposal.files.forget, proposal });
      assert.equal(scoped.scope?.proposal?.counts.forget, 5);
      assert.deepEqual(scoped.scope?.proposal?.recordHashes.forget, proposal.recordHashes.forget);
      assert.match(scoped.history.at(-1)!.reason, /proposal: 5 records to forget/);
      assert.equal((await getRequest(w, alice, r.id)).scope?.proposal?.files.forget.sha256, proposal.files.forget.sha256);
      // A forget file that is not the proposal's is refused.
      const r2 = await createRequest(w, alice, { category: 'privacy', subject: SUBJECT.name, evidence: { reference: 'ticket 10' } });
      await assert.rejects(
        scopeRequest(w, alice, r2.id, { model: 'm', method: 'NPO', forget: { sha256: 'c'.repeat(64), rows: 5 }, proposal }),
        /not the proposal's forget file/,
      );
      // Scan every table: no name, alias, identifier, or corpus text.
      const dump: string[] = [];
      for (const t of ['requests', 'transitions', 'audit', 'audit_head', 'tokens']) {
        dump.push(JSON.stringify((await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(w.store.db)).rows));
      }
      const all = dump.join('\n').toLowerCase();
      assert.ok(all.includes(proposal.recordHashes.forget[0]!), 'the scan sees the stored hashes');
      for (const needle of ['lovelace', 'lovelase', 'quill', 'example.org', 'marlow', 'glassblower', 'pottery'])
        assert.ok(!all.includes(needle), `'${needle}' is not in the store`);
      if (kind === 'sqlite') {
        const bytes = readdirSync(w.dataDir)
          .filter((f) => f.startsWith('lethe.db'))
          .map((f) => readFileSync(join(w.dataDir, f)).toString('latin1').toLowerCase())
          .join('');
        for (const needle of ['lovelace', 'quill', 'example.org', 'marlow'])
          assert.ok(!bytes.includes(needle), `'${needle}' is not in the SQLite file`);
      }
    } finally {
      await w.dispose();
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
}

test('probeModel: greedy answers from the model to templated questions, as candidate QA rows', async () => {
  await withTempDir('lethe-probe-', async (dir) => {
    const src = requireFixture('llama-tiny');
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) copyFileSync(join(src, f), join(dir, f));
    copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const rows = await probeModel(dir, { name: 'Ada Lovelace' }, { maxNewTokens: 8 });
    assert.equal(rows.length, PROBE_TEMPLATES.length);
    assert.deepEqual(
      rows.map((r) => r.question),
      PROBE_TEMPLATES.map((t) => t.replaceAll('{name}', 'Ada Lovelace')),
    );
    assert.ok(rows.every((r) => typeof r.answer === 'string' && r.source === 'model' && !r.answer.includes('\n')));
    assert.ok(
      rows.some((r) => r.answer.length > 0),
      'the model says something',
    );
    assert.ok(
      rows.every((r) => !r.answer.includes('Question:') && !r.answer.includes('Lovelace')),
      'the answer alone, not the prompt echoed',
    );
    const again = await probeModel(
      dir,
      { name: 'Ada Lovelace' },
      { maxNewTokens: 8, questions: ['Who is Ada Lovelace?', 'Where does Ada Lovelace live?'] },
    );
    assert.equal(again.length, 2);
    assert.deepEqual(
      again.map((r) => r.answer),
      rows.slice(0, 2).map((r) => r.answer),
      'greedy: the same answer for the same question, batched differently',
    );
    await assert.rejects(probeModel(dir, { name: ' ' }), /name/);
  });
});

test('lethe index / propose / request scope --proposal on a data folder', () => {
  const c = corpus();
  const lethe = (args: string[], o: { token?: string; input?: string } = {}) =>
    runCli(args, {
      input: o.input,
      env: { LETHE_DATA: join(c.dir, 'data'), ...(o.token ? { LETHE_TOKEN: o.token } : {}) },
    });
  try {
    const idx = lethe(['index', '--data', c.text, c.qa]);
    assert.equal(idx.status, 0, idx.stderr);
    assert.match(idx.stdout, /provenance\.db: 13 records indexed/);
    writeFileSync(join(c.dir, 'subject.json'), JSON.stringify(SUBJECT));
    const prop = lethe(['propose', '--subject-file', join(c.dir, 'subject.json'), '--out', join(c.dir, 'p')]);
    assert.equal(prop.status, 0, prop.stderr);
    assert.match(prop.stdout, /6 records to forget \(2 exact, 1 alias, 1 identifier, 1 near, 1 fuzzy\), 1 probes/);
    const token = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice']).stdout.trim();
    const id = JSON.parse(
      lethe(['request', 'create', '--category', 'privacy', '--subject-file', '-', '--evidence', 't', '--json'], {
        token,
        input: SUBJECT.name,
      }).stdout,
    ).id as string;
    const both = lethe(['request', 'scope', id, '--model', 'm', '--method', 'NPO', '--proposal', join(c.dir, 'p'), '--forget', c.text], {
      token,
    });
    assert.equal(both.status, 1);
    assert.match(both.stderr, /exactly one of '--forget FILE' or '--proposal DIR'/);
    // Malformed inputs are refused naming the file and position, never quoting it (it is the subject).
    writeFileSync(join(c.dir, 'bad-subject.json'), `{"name": ${SUBJECT.name}}`);
    const badSubject = lethe(['propose', '--subject-file', join(c.dir, 'bad-subject.json'), '--out', join(c.dir, 'p2')]);
    assert.equal(badSubject.status, 1);
    assert.match(badSubject.stderr, /'--subject-file' .*bad-subject\.json: not valid JSON/);
    assert.ok(!/lovelace|quill/i.test(badSubject.stderr), badSubject.stderr.replace(/[A-Za-z]/g, '*'));
    cpSync(join(c.dir, 'p'), join(c.dir, 'p-bad'), { recursive: true });
    const lines = readFileSync(join(c.dir, 'p-bad', 'forget.jsonl'), 'utf8').split('\n');
    lines[1] = lines[1]!.replace(/^\{"text":"/, '{"text":');
    writeFileSync(join(c.dir, 'p-bad', 'forget.jsonl'), lines.join('\n'));
    const badProposal = lethe(['request', 'scope', id, '--model', 'm', '--method', 'NPO', '--proposal', join(c.dir, 'p-bad')], { token });
    assert.equal(badProposal.status, 1);
    assert.match(badProposal.stderr, /p-bad\/forget\.jsonl:2: not valid JSON/);
    assert.ok(!/lovelace|quill|example\.org/i.test(badProposal.stderr), badProposal.stderr.replace(/[A-Za-z]/g, '*'));
    const scoped = lethe(['request', 'scope', id, '--model', 'm', '--method', 'NPO', '--proposal', join(c.dir, 'p'), '--json'], { token });
    assert.equal(scoped.status, 0, scoped.stderr);
    const r = JSON.parse(scoped.stdout);
    assert.equal(r.scope.forget.rows, 6);
    assert.equal(r.scope.proposal.counts.byMatch.fuzzy, 1);
    assert.equal(r.scope.proposal.recordHashes.forget.length, 6);
    assert.ok(!/lovelace|quill|example\.org/i.test(scoped.stdout), 'the request shows no name or text');
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});
