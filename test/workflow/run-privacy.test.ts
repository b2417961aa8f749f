// What a run keeps of the subject (issue 18, faults 2 and 3), on every store:
// - a policy with a generation metric (forget_Q_A_ROUGE, whose per-item outputs hold each question,
//   true answer and generation): after the release no file under the data folder holds any forget row
//   (the job folder keeps aggregates; the per-item EVAL.json and the evaluation cache lived in the run's
//   private folder, deleted and audited by count and sha256s), even with $LETHE_CACHE pointing into it;
// - a malformed forget row (not an object; not JSON): the request fails with a reason that names the
//   file, the line and what was expected, and no value of the row reaches the transitions, the audit
//   log, the returned objects, the log or any file; the user's forget file stays;
// - a library error whose message quotes the data (as V8's and others' do) is recorded by its kind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditEntries, getRequest, parsePolicy, runRequest, type Policy } from '../../src/workflow/index.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';
import { runner, SUBJECT } from './fixtures.js';
import { approved, forgetRows, setup } from './run-fixtures.js';
import { describeHits, needlesOf, searchFiles, searchText, searchValue, type Needle } from '../../src/workflow/subject-search.js';

after(closeStores);

const ROUGE: Policy = parsePolicy({
  name: 'rouge',
  checks: [
    { metric: 'forget_Q_A_ROUGE', between: [0, 1] },
    { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 },
  ],
});

/** The subject and every field of every forget row. */
const subjectNeedles = (): Needle[] => [
  ...needlesOf({ subject: SUBJECT, surname: 'Quillfeather' }),
  ...forgetRows.flatMap((l, i) =>
    needlesOf(Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).map(([k, v]) => [`row ${i + 1} ${k}`, v]))),
  ),
];

async function tables(w: TestWorkflow): Promise<string> {
  const db = w.store.db;
  return JSON.stringify(
    await Promise.all(
      (['requests', 'transitions', 'audit', 'audit_head', 'models'] as const).map((t) => db.selectFrom(t).selectAll().execute()),
    ),
  );
}

for (const kind of STORE_KINDS) {
  describe(`a run keeps nothing of the subject, on ${kind}`, storeOptions(kind), () => {
    test('fault 2: a ROUGE policy releases; EVAL.json, eval-original and the cache keep no forget row; the deletion is audited', async () => {
      const s = setup(); // the user's inputs, outside the data folder
      const w = await freshWorkflow(kind, { now: steppingClock(), roots: [s.dir] });
      const saved = process.env.LETHE_CACHE;
      process.env.LETHE_CACHE = join(w.dataDir, 'cache'); // as an operator might set it: ignored by runs
      try {
        const id = await approved(w, s.forgetFile);
        const out = join(w.dataDir, 'jobs', 'job_0123456789ab');
        const kept = join(w.dataDir, 'kept-EVAL.json');
        const lines: string[] = [];
        const res = await runRequest(w, runner, id, {
          modelDir: s.model,
          forgetFile: s.forgetFile,
          retainFile: s.retainFile,
          method: 'GradAscent',
          policy: ROUGE,
          outDir: out,
          training: { steps: 2, batchSize: 2, lr: 1e-3, seed: 1 },
          evaluation: { holdoutFile: s.holdoutFile },
          log: (l) => {
            lines.push(l);
            // The search must be able to fail: keep a copy of the per-item EVAL.json while it exists.
            const m = /→ (.*)$/.exec(l);
            if (m && existsSync(join(m[1]!, 'EVAL.json')) && !existsSync(kept)) copyFileSync(join(m[1]!, 'EVAL.json'), kept);
          },
        });
        assert.equal(res.request.state, 'released', JSON.stringify(res.verdict?.checks));
        const needles = subjectNeedles();
        // The copy made during the run holds the rows (so the search sees them) and is reported by file and field.
        assert.ok(existsSync(kept), 'the evaluation wrote its per-item EVAL.json during the run');
        const leak = searchFiles(w.dataDir, needles);
        assert.ok(leak.length > 0 && leak.every((h) => h.where === kept), `only the kept copy hits: ${describeHits(leak)}`);
        assert.ok(leak.some((h) => /row \d question/.test(h.field)) && leak.some((h) => /row \d answer/.test(h.field)), describeHits(leak));
        rmSync(kept);
        // Nothing of the subject in any file of the deployment.
        const hits = searchFiles(w.dataDir, needles);
        assert.deepEqual(hits, [], describeHits(hits));
        assert.equal(existsSync(process.env.LETHE_CACHE), false, '$LETHE_CACHE is not used by a run');
        assert.equal(existsSync(join(out, 'private')), false, "the run's private folder is gone");
        // The job folder keeps the aggregates (what the certificate shows).
        for (const dir of ['eval', 'eval-original']) {
          const e = JSON.parse(readFileSync(join(out, dir, 'EVAL.json'), 'utf8')) as Record<string, Record<string, unknown>>;
          assert.equal(typeof e.forget_Q_A_ROUGE!.agg_value, 'number', dir);
          assert.equal(e.forget_Q_A_ROUGE!.value_by_index, undefined, `${dir}: no per-item values`);
          assert.ok(!JSON.stringify(e._meta).includes(s.forgetFile), `${dir}: not even the forget file's name (it may name the subject)`);
          assert.equal((e._meta!.sets as Record<string, { items: number }>).forget!.items, forgetRows.length);
          assert.equal(typeof JSON.parse(readFileSync(join(out, dir, 'SUMMARY.json'), 'utf8')).forget_Q_A_ROUGE, 'number');
        }
        // The deletion is audited: how many files and their sha256s, no names or contents.
        const entries = [];
        for await (const e of auditEntries(w.store.db)) entries.push(e);
        const del = entries.find((e) => e.action === 'request.run_outputs_deleted');
        assert.ok(del, entries.map((e) => e.action).join(', '));
        const files = del.details.files as number;
        assert.ok(files >= 6, `two EVAL.json, two SUMMARY.json and the cache's entries: ${files}`);
        assert.equal((del.details.sha256 as string[]).length, files);
        assert.ok((del.details.sha256 as string[]).every((h) => /^[0-9a-f]{64}$/.test(h)));
        assert.deepEqual(searchValue('the audit log', entries, needles), []);
        assert.deepEqual(searchValue('the result', res, needles), []);
        assert.deepEqual(searchText('the run log', lines.join('\n'), needles), []);
      } finally {
        if (saved === undefined) delete process.env.LETHE_CACHE;
        else process.env.LETHE_CACHE = saved;
        await w.dispose();
        rmSync(s.dir, { recursive: true, force: true });
      }
    });

    test('fault 3: a malformed forget row fails the request naming file, line and field; no value of it is recorded anywhere', async () => {
      const s = setup();
      const w = await freshWorkflow(kind, { now: steppingClock(), roots: [s.dir] });
      try {
        const bad = {
          // A row that is not an object (the old reason quoted its first 60 characters) ...
          'not-object.jsonl': [forgetRows[0]!, JSON.stringify([SUBJECT, 'ada.quillfeather@example.org', '+44 20 7946 0321'])],
          // ... and one that is not JSON (V8's message quotes the text around the fault).
          'not-json.jsonl': [
            forgetRows[0]!,
            `{"question": "Where does ${SUBJECT} live?", "answer": ${SUBJECT} lives at ada.quillfeather@example.org}`,
          ],
          // ... and a field of the wrong type.
          'wrong-field.jsonl': [
            forgetRows[0]!,
            JSON.stringify({ question: `Where does ${SUBJECT} live?`, answer: [`${SUBJECT} lives in Lyon.`] }),
          ],
        };
        const expected = {
          'not-object.jsonl': /^unlearning failed: .*not-object\.jsonl:2: the row: expected a JSON object .*, got a list$/,
          'not-json.jsonl':
            /^unlearning failed: .*not-json\.jsonl:2: not valid JSON( \(at character \d+\))?; expected one JSON object per line$/,
          'wrong-field.jsonl': /^unlearning failed: .*wrong-field\.jsonl:2: field 'answer': expected a string, got a list$/,
        };
        const needles = [
          ...subjectNeedles(),
          ...needlesOf({ email: 'ada.quillfeather@example.org', phone: '+44 20 7946 0321', phoneDigits: '442079460321' }),
        ];
        for (const [name, rows] of Object.entries(bad)) {
          const file = join(s.dir, name);
          writeFileSync(file, rows.join('\n') + '\n');
          const id = await approved(w, file);
          const lines: string[] = [];
          const res = await runRequest(w, runner, id, {
            modelDir: s.model,
            forgetFile: file,
            method: 'GradAscent',
            policy: ROUGE,
            outDir: join(w.dataDir, 'jobs', name),
            training: { steps: 2, batchSize: 2, seed: 1 },
            log: (l) => lines.push(l),
          });
          assert.equal(res.request.state, 'failed');
          assert.deepEqual(
            searchValue(`the result (${name})`, res, needles),
            [],
            res.request.history.at(-1)!.reason.replace(/[A-Za-z]/g, '*'),
          );
          assert.match(res.request.history.at(-1)!.reason, expected[name as keyof typeof expected]);
          assert.deepEqual(searchValue(`the request as replied (${name})`, await getRequest(w, runner, id), needles), []);
          assert.deepEqual(searchText(`the run log (${name})`, lines.join('\n'), needles), []);
          assert.equal(existsSync(file), true, "a failed request keeps the user's forget file");
        }
        const entries = [];
        for await (const e of auditEntries(w.store.db)) entries.push(e);
        assert.equal(
          entries.filter((e) => e.action === 'request.fail' || e.action === 'request.failed').length,
          3,
          entries.map((e) => e.action).join(', '),
        );
        assert.deepEqual(searchValue('the audit log', entries, needles), []);
        assert.deepEqual(searchText('the store', await tables(w), needles), []);
        const hits = searchFiles(w.dataDir, needles);
        assert.deepEqual(hits, [], describeHits(hits));
        // The user's files outside the data folder do name the subject: the search is not blind.
        assert.ok(searchFiles(s.dir, needles).some((h) => h.where.endsWith('not-object.jsonl')));
      } finally {
        await w.dispose();
        rmSync(s.dir, { recursive: true, force: true });
      }
    });
  });
}

test("a library error that quotes the data is recorded by its kind only, and the run's private outputs still go", async () => {
  const { loadTokenizer } = await import('../../src/models/tokenizer.js');
  const s = setup();
  const w = await freshWorkflow('sqlite', { now: steppingClock(), roots: [s.dir] });
  try {
    const id = await approved(w, s.forgetFile);
    // A tokenizer that fails as a library might: with the text it choked on in its message.
    const real = loadTokenizer(s.model);
    const tokenizer = new Proxy(real, {
      get(t, prop, recv) {
        if (prop === 'encode')
          return async (text: string, o?: object) => {
            if (text.includes(SUBJECT)) throw new TypeError(`cannot encode '${text}'`);
            return t.encode(text, o);
          };
        const v = Reflect.get(t, prop, recv) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const out = join(w.dataDir, 'jobs', 'job_tok');
    mkdirSync(join(out, 'private', 'eval'), { recursive: true }); // as a crashed earlier attempt would leave
    writeFileSync(join(out, 'private', 'eval', 'EVAL.json'), JSON.stringify({ input: SUBJECT }));
    const res = await runRequest(w, runner, id, {
      modelDir: s.model,
      forgetFile: s.forgetFile,
      method: 'GradAscent',
      policy: ROUGE,
      outDir: out,
      training: { steps: 1, batchSize: 2, seed: 1 },
      evaluation: { tokenizer, cacheDir: null },
    });
    assert.equal(res.request.state, 'failed');
    const reason = res.request.history.at(-1)!.reason;
    assert.ok(!reason.includes('Quillfeather'), `the reason quotes the data: ${reason.replace(/[A-Za-z]/g, '*')}`);
    assert.equal(reason, 'evaluation failed: an unexpected TypeError (its message is not recorded, as it may quote the data)');
    assert.equal(existsSync(join(out, 'private')), false, 'a failed run deletes its per-item outputs');
    const hits = searchFiles(w.dataDir, subjectNeedles());
    assert.deepEqual(hits, [], describeHits(hits));
  } finally {
    await w.dispose();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a bad row in an evaluation file is reported by file, line and field only', async () => {
  const { readItems, kindOf } = await import('../../src/eval/item-files.js');
  const s = setup();
  try {
    const f = join(s.dir, 'holdout-bad.jsonl');
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(f, `${forgetRows[0]}\n"${SUBJECT}"\n`);
    assert.throws(
      () => readItems(f, '--holdout'),
      (e: Error) =>
        /--holdout: .*holdout-bad\.jsonl:2: the row: expected a JSON object, got a string$/.test(e.message) &&
        !e.message.includes('Quillfeather'),
    );
    writeFileSync(f, `${forgetRows[0]}\n{"question": "${SUBJECT}?", "answer": ${SUBJECT}}\n`);
    assert.throws(
      () => readItems(f, '--holdout'),
      (e: Error) => /holdout-bad\.jsonl:2: not valid JSON/.test(e.message) && !e.message.includes('Quillfeather'),
    );
    const rows = [JSON.parse(forgetRows[0]!) as Record<string, unknown>, { question: `${SUBJECT}?`, answer: 1970 }];
    assert.throws(
      () => kindOf(rows, f, '--holdout'),
      (e: Error) =>
        /holdout-bad\.jsonl:2: field 'answer': expected a string \(like line 1\), got a number$/.test(e.message) &&
        !e.message.includes('1970'),
    );
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
