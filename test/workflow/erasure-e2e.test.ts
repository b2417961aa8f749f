// The erasure process end to end, on every store, for one person of a real persona forget10 split:
// provenance proposes every record that mentions them → a second user approves → unlearned → verified
// against a policy → released with its certificate; the same request under a policy it cannot meet is
// not released. After the release, the person's name, e-mail, phone and address are in no table and no
// file of the deployment (store, provenance index, proposal, run folder, certificate, evaluations),
// no log line, no audit entry, no export and no report. And every way a request can end, in one
// deployment (SQLite and the PostgreSQL server through `lethe serve`'s job runner, whose worker
// processes open the same store; PGlite, which cannot be shared, through runRequest with an
// AbortSignal for the cancel): failed on a
// malformed forget row, cancelled while verifying, released under a ROUGE policy (greedy generations),
// released from a reviewed proposal; then every byte of every file under the data folder, every table,
// every API reply (four roles) and every log line is searched for every field of the subject's
// records (src/workflow/subject-search.ts, which names the file and the field of a hit): zero hits.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { buildSuite } from '../../src/data/index.js';
import {
  approveRequest,
  createRequest,
  createToken,
  exportAudit,
  getJob,
  getRequest,
  JobRunner,
  listJobs,
  listModelVersions,
  parsePolicy,
  runRequest,
  scopeRequest,
  transparencyReport,
  verifyAudit,
  type Policy,
  type ReleaseCertificate,
} from '../../src/workflow/index.js';
import { buildIndex, PROVENANCE_FILE, proposeForgetSet, readProposal } from '../../src/workflow/provenance.js';
import { buildServer } from '../../src/server/app.js';
import { sha } from './run-fixtures.js';
import {
  describeHits,
  filesUnder as regularFiles,
  needlesOf,
  searchFiles,
  searchText,
  searchValue,
  type Needle,
} from '../../src/workflow/subject-search.js';
import { requireFixture } from '../helpers/fixtures.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';
import { alice, bob, carol, runner } from './fixtures.js';

after(closeStores);

type Person = Pick<import('../../src/data/persona.js').Person, 'id' | 'name' | 'email' | 'phone' | 'address'>;

/** A tiny persona suite, and the first person of its forget10 split. */
function persona(root: string): { dir: string; person: Person } {
  const dir = join(root, 'corpus');
  buildSuite('persona', dir, { seed: 3, size: 'tiny' }, 'test');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { info: { splits: Record<string, string[]> } };
  const id = manifest.info.splits.forget10![0]!;
  const people = readFileSync(join(dir, 'people.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Person);
  return { dir, person: people.find((p) => p.id === id)! };
}

/** Every file under a folder, as text (binary files as latin1, so SQLite pages are searched too). */
function filesUnder(dir: string): { path: string; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [{ path: p, text: readFileSync(p).toString('latin1') }];
  });
}

async function everyTable(w: TestWorkflow): Promise<string> {
  const tables =
    w.store.dialect === 'sqlite'
      ? (
          await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(w.store.db)
        ).rows.map((r) => r.name)
      : (
          await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
            w.store.db,
          )
        ).rows.map((r) => r.name);
  assert.ok(tables.includes('requests') && tables.includes('audit'), `the scan sees the workflow tables: ${tables.join(', ')}`);
  const dump: string[] = [];
  for (const t of tables)
    dump.push(JSON.stringify((await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(w.store.db)).rows));
  return dump.join('\n');
}

function needles(p: Person): string[] {
  // The phone also as digits only, in case something normalises it.
  return [p.name, p.email, p.phone, p.phone.replace(/\D/g, ''), p.address];
}

function assertAbsent(where: string, text: string, p: Person): void {
  const lower = text.toLowerCase();
  for (const n of needles(p))
    assert.ok(
      !lower.includes(n.toLowerCase()),
      `${where} contains the subject's ${n === p.name ? 'name' : n === p.email ? 'e-mail' : n === p.address ? 'address' : 'phone'}`,
    );
}

const policies: Record<'passing' | 'failing', Policy> = {
  // What the tiny fixture model can show: the forget set's likelihood fell, membership inference on
  // forget against held-out people is a valid AUC, the retain set keeps most of its likelihood.
  passing: parsePolicy({
    name: 'e2e',
    checks: [
      { metric: 'extraction_strength', max_ratio_to_original: 1.0 },
      { metric: 'mia_loss', between: [0, 1] },
      { metric: 'exact_memorization', max_ratio_to_original: 1.0 },
    ],
  }),
  failing: parsePolicy({
    name: 'impossible',
    checks: [
      { metric: 'mia_loss', between: [0.4999, 0.5001] },
      { metric: 'exact_memorization', max: 0 },
    ],
  }),
};

async function erasure(kind: (typeof STORE_KINDS)[number], policy: 'passing' | 'failing') {
  const root = mkdtempSync(join(tmpdir(), 'lethe-e2e-'));
  const w = await freshWorkflow(kind, { now: steppingClock(), dataDir: join(root, 'deployment') });
  const { dir: corpus, person } = persona(root);
  const lines: string[] = [];
  // The model the company serves (the tiny Llama fixture) and its tokenizer.
  const model = join(root, 'models', 'assistant');
  mkdirSync(model, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(model, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));

  // 1. Provenance: index the training corpus, propose the forget set for the subject.
  const idx = await buildIndex({ data: [join(corpus, 'bio.jsonl'), join(corpus, 'qa', 'all.jsonl')], dataDir: w.dataDir });
  const subject = { name: person.name, identifiers: [person.email, person.phone, person.address] };
  const proposalDir = join(w.dataDir, 'proposals', 'p1');
  const proposed = await proposeForgetSet(idx.path, subject, { outDir: proposalDir });
  const bios = readFileSync(join(corpus, 'bio.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { person_id: string });
  const qas = readFileSync(join(corpus, 'qa', 'all.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { person_id: string });
  const own = bios.filter((b) => b.person_id === person.id).length + qas.filter((q) => q.person_id === person.id).length;
  assert.ok(proposed.counts.forget >= own, `every record of the person is proposed (${proposed.counts.forget} ≥ ${own})`);
  const forgetRows = readFileSync(join(proposalDir, 'forget.jsonl'), 'utf8').trim().split('\n');
  assert.ok(
    forgetRows.every((l) => l.includes(person.name) || l.includes(person.email) || l.includes(person.phone)),
    'every proposed record mentions the subject',
  );
  const proposal = readProposal(proposalDir);

  // 2. Request (alice), scope with the reviewed proposal, four-eyes approval (bob).
  const r = await createRequest(w, alice, { category: 'privacy', subject: person.name, evidence: { reference: 'DSAR-7781' } });
  const forgetFile = join(proposalDir, 'forget.jsonl');
  await scopeRequest(w, alice, r.id, {
    model: 'assistant',
    method: 'NPO',
    forget: { ...proposal.files.forget, path: forgetFile },
    proposal,
  });
  await assert.rejects(approveRequest(w, alice, r.id, { reason: 'self-approval' }), /role 'requester'|four-eyes|not .*requester/i);
  await approveRequest(w, bob, r.id, { reason: 'identity verified' });

  // 3. Unlearn, verify against the policy, release (or fail).
  const outDir = join(w.dataDir, 'releases', r.id);
  const res = await runRequest(w, runner, r.id, {
    modelDir: model,
    forgetFile,
    retainFile: join(proposalDir, 'neighbours.jsonl'),
    method: 'NPO',
    args: { beta: 0.1 },
    policy: policies[policy],
    outDir,
    training: { steps: 4, batchSize: 4, lr: 3e-3, seed: 0 },
    evaluation: { holdoutFile: join(corpus, 'bio_holdout.jsonl'), cacheDir: null },
    log: (l) => lines.push(l),
  });
  return { root, w, person, r, res, outDir, forgetFile, proposalDir, lines, idx };
}

// ---------------------------------------------------------------------------------------------
// Every way a request can end, in one deployment, then every byte and every reply searched.

/** Every field of the subject's records: the person's details (the phone also as digits only), and each
 *  question, answer, paraphrase, wrong answer and biography of theirs in the corpus. A value that also
 *  describes someone else (a shared employer, another person's fact used as a wrong answer) is not the
 *  subject's and stays out: the deployment keeps other people's records. */
function subjectNeedles(corpus: string, p: Person): { needles: Needle[]; dropped: number } {
  const read = (f: string) =>
    readFileSync(join(corpus, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const people = read('people.jsonl');
  const records = [...read('bio.jsonl'), ...read(join('qa', 'all.jsonl'))];
  const own = records.filter((r) => r.person_id === p.id);
  const others = JSON.stringify([...people.filter((q) => q.id !== p.id), ...records.filter((r) => r.person_id !== p.id)]).toLowerCase();
  const person = people.find((q) => q.id === p.id)!;
  const fields = Object.fromEntries(
    Object.entries(person).filter(([k, v]) => typeof v === 'string' && !['id', 'split', 'sex'].includes(k)),
  );
  const all = [
    ...needlesOf({ ...fields, phone_digits: p.phone.replace(/\D/g, '') }),
    ...own.flatMap((r, i) =>
      needlesOf({
        [`record ${i + 1} question`]: r.question,
        [`record ${i + 1} answer`]: r.answer,
        [`record ${i + 1} paraphrased_answer`]: r.paraphrased_answer,
        [`record ${i + 1} perturbed_answer`]: r.perturbed_answer,
        [`record ${i + 1} text`]: r.text,
      }),
    ),
  ];
  const seen = new Set<string>();
  const needles = all.filter(
    (n) => !others.includes(n.value.toLowerCase()) && !seen.has(n.value.toLowerCase()) && seen.add(n.value.toLowerCase()),
  );
  return { needles, dropped: all.length - needles.length };
}

const ROUGE_RAW = {
  name: 'rouge',
  checks: [
    { metric: 'forget_Q_A_ROUGE', between: [0, 1] },
    { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 },
    { metric: 'mia_loss', between: [0, 1] },
  ],
};
const ROUGE_POLICY: Policy = parsePolicy(ROUGE_RAW);

for (const kind of STORE_KINDS) {
  const title = `every way a request ends, on ${kind}: failed on a malformed row, cancelled, released (ROUGE), released (proposal); nothing of the subject in any byte or reply`;
  test(title, storeOptions(kind), async () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-e2e-all-'));
    const data = join(root, 'deployment');
    const inputs = join(root, 'inputs'); // the user's files: an allowed root outside the data folder
    const w = await freshWorkflow(kind, { now: steppingClock(), dataDir: data, roots: [inputs] });
    const replies: [string, unknown][] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    try {
      mkdirSync(inputs, { recursive: true });
      const { dir: corpus, person } = persona(inputs);
      const model = join(inputs, 'models', 'assistant');
      mkdirSync(model, { recursive: true });
      for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(model, f));
      copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
      const { needles, dropped } = subjectNeedles(corpus, person);
      for (const f of ['name', 'email', 'phone', 'phone_digits', 'address', 'id_number', 'account_number'])
        assert.ok(
          needles.some((n) => n.field === f),
          `the search looks for the ${f}`,
        );
      assert.ok(
        needles.filter((n) => /answer$/.test(n.field)).length >= 15,
        `every answer of theirs: ${needles.length} needles (${dropped} shared with others left out)`,
      );

      // The subject's QA rows (a QA file, so ROUGE has answers to compare), in the user's input root.
      const qaRows = readFileSync(join(corpus, 'qa', 'all.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => (JSON.parse(l) as { person_id: string }).person_id === person.id);
      const file = (name: string, rows: string[]) => {
        const f = join(inputs, name);
        writeFileSync(f, rows.join('\n') + '\n');
        return f;
      };
      const holdout = join(corpus, 'qa', 'holdout.jsonl');
      const scoped = async (forget: string, rows: number, o: { path?: boolean } = {}) => {
        const r = await createRequest(w, alice, { category: 'privacy', subject: person.name, evidence: { reference: 'DSAR-7781' } });
        replies.push(['the created request', r]);
        replies.push([
          'the scoped request',
          await scopeRequest(w, alice, r.id, {
            model: 'assistant',
            method: 'GradAscent',
            forget: { sha256: sha(forget), rows, ...(o.path ? { path: forget } : {}) },
          }),
        ]);
        replies.push(['the approved request', await approveRequest(w, bob, r.id, { reason: 'identity verified' })]);
        return r.id;
      };
      const options = (forgetFile: string, outDir: string, policy: Policy, steps = 3) => ({
        modelDir: model,
        forgetFile,
        method: 'GradAscent',
        policy,
        outDir,
        training: { steps, batchSize: 4, lr: 1e-3, seed: 0 },
        evaluation: { holdoutFile: holdout },
        log,
      });
      const runner$ = !w.inProcessOnly ? new JobRunner(w, { dataDir: data, roots: [inputs], log }) : null;
      const jobDone = (id: string) =>
        new Promise<void>((res) => {
          const on = (j: { id: string; state: string }) => {
            if (j.id === id && ['succeeded', 'failed', 'cancelled'].includes(j.state)) {
              runner$!.off('job', on);
              res();
            }
          };
          runner$!.on('job', on);
        });

      // 1. A malformed forget row (a list holding the subject's details): the request fails, naming file, line and type.
      const malformed = file('malformed.jsonl', [
        qaRows[0]!,
        JSON.stringify([person.name, person.email, person.phone, person.address]),
        ...qaRows.slice(1, 3),
      ]);
      const badId = await scoped(malformed, 4);
      if (runner$) {
        const job = await runner$.submit(runner, badId, {
          model,
          forgetFile: malformed,
          holdoutFile: holdout,
          method: 'GradAscent',
          training: { steps: 3 },
          policy: ROUGE_RAW,
        });
        const done = jobDone(job.id);
        await done;
        const j = await getJob(w, runner, job.id);
        replies.push(['the failed job', j]);
        assert.equal(j.state, 'failed');
        assert.match(j.error ?? '', /malformed\.jsonl:2: the row: expected a JSON object .*got a list/);
      } else {
        replies.push([
          'the failed run',
          await runRequest(w, runner, badId, options(malformed, join(data, 'jobs', 'malformed'), ROUGE_POLICY)),
        ]);
      }
      const bad = await getRequest(w, runner, badId);
      assert.equal(bad.state, 'failed');
      assert.match(bad.history.at(-1)!.reason, /malformed\.jsonl:2: the row: expected a JSON object .*got a list$/);
      assert.ok(existsSync(malformed), "the user's forget file of a failed request stays (outside the data folder)");

      // 2. Cancelled while verifying (in process: the original model's per-item outputs are on disk by then).
      const cancelFile = file('cancel.jsonl', qaRows);
      const cancelId = await scoped(cancelFile, qaRows.length);
      const ac = new AbortController();
      const cancelOut = join(data, 'jobs', 'cancelled');
      let privateSeen = false;
      const cancelledRun = await runRequest(w, runner, cancelId, {
        ...options(cancelFile, cancelOut, ROUGE_POLICY),
        log: (l) => {
          log(l);
          if (/→ .*eval-original$/.test(l)) {
            privateSeen = existsSync(join(cancelOut, 'private', 'eval-original', 'EVAL.json'));
            ac.abort('cancelled by runner');
          }
        },
        signal: ac.signal,
      });
      replies.push(['the cancelled run', cancelledRun]);
      assert.ok(privateSeen, 'the per-item outputs existed when the run was cancelled');
      assert.equal(cancelledRun.request.state, 'failed');
      assert.equal(cancelledRun.request.history.at(-1)!.reason, 'cancelled by runner');
      assert.equal(existsSync(join(cancelOut, 'private')), false, 'a cancelled run deletes its per-item outputs');
      if (runner$) {
        // And a job cancelled by the runner while it unlearns (its worker killed).
        const jobId = await scoped(cancelFile, qaRows.length);
        const job = await runner$.submit(runner, jobId, {
          model,
          forgetFile: cancelFile,
          holdoutFile: holdout,
          method: 'GradAscent',
          training: { steps: 100000 },
          policy: ROUGE_RAW,
        });
        await new Promise<void>((res) => {
          const on = (j: { id: string; progress: { phase: string; step: number | null } }) => {
            if (j.id === job.id && j.progress.phase === 'unlearning' && (j.progress.step ?? 0) >= 1) {
              runner$.off('job', on);
              res();
            }
          };
          runner$.on('job', on);
        });
        replies.push(['the cancelled job', await runner$.cancel(runner, job.id)]);
        assert.equal((await getJob(w, runner, job.id)).state, 'cancelled');
        assert.equal((await getRequest(w, runner, jobId)).state, 'failed');
      }

      // 3. Released under a ROUGE policy (greedy generations of every forget question were compared).
      const qaForget = file('forget-qa.jsonl', qaRows);
      const rougeId = await scoped(qaForget, qaRows.length, { path: true });
      let rougeOut = join(data, 'jobs', 'rouge');
      if (runner$) {
        // As lethe serve runs it: a job, in a worker process, writing under DATA/jobs/<job>/.
        const job = await runner$.submit(runner, rougeId, {
          model,
          forgetFile: qaForget,
          holdoutFile: holdout,
          method: 'GradAscent',
          training: { steps: 3, lr: 1e-3 },
          policy: ROUGE_RAW,
        });
        const done = jobDone(job.id);
        await done;
        const j = await getJob(w, runner, job.id);
        replies.push(['the ROUGE job', j]);
        assert.equal(j.state, 'succeeded', j.error ?? '');
        rougeOut = join(data, 'jobs', job.id);
        assert.ok(existsSync(join(rougeOut, 'job.log')));
      } else {
        replies.push(['the ROUGE release', await runRequest(w, runner, rougeId, options(qaForget, rougeOut, ROUGE_POLICY))]);
      }
      assert.equal((await getRequest(w, runner, rougeId)).state, 'released');
      assert.equal(
        typeof (JSON.parse(readFileSync(join(rougeOut, 'certificate.json'), 'utf8')) as ReleaseCertificate).metrics.forget_Q_A_ROUGE!.value,
        'number',
      );
      assert.equal(
        typeof (JSON.parse(readFileSync(join(rougeOut, 'eval', 'EVAL.json'), 'utf8')) as Record<string, { agg_value: unknown }>)
          .forget_Q_A_ROUGE!.agg_value,
        'number',
        'the aggregates stay',
      );
      assert.equal(existsSync(join(rougeOut, 'private')), false);
      assert.equal(existsSync(qaForget), false, 'the recorded forget file is deleted');

      // 4. Released from a reviewed proposal: the subject's records leave the provenance index too.
      await buildIndex({ data: [join(corpus, 'bio.jsonl'), join(corpus, 'qa', 'all.jsonl')], dataDir: data });
      const proposalDir = join(data, 'proposals', 'p1');
      await proposeForgetSet(
        join(data, PROVENANCE_FILE),
        { name: person.name, identifiers: [person.email, person.phone, person.address] },
        { outDir: proposalDir },
      );
      const proposal = readProposal(proposalDir);
      const r = await createRequest(w, alice, { category: 'privacy', subject: person.name, evidence: { reference: 'DSAR-7781' } });
      await scopeRequest(w, alice, r.id, {
        model: 'assistant',
        method: 'NPO',
        forget: { ...proposal.files.forget, path: join(proposalDir, 'forget.jsonl') },
        proposal,
      });
      await approveRequest(w, bob, r.id, { reason: 'identity verified' });
      const viaProposal = await runRequest(w, runner, r.id, {
        modelDir: model,
        forgetFile: join(proposalDir, 'forget.jsonl'),
        retainFile: join(proposalDir, 'neighbours.jsonl'),
        method: 'NPO',
        args: { beta: 0.1 },
        policy: policies.passing,
        outDir: join(data, 'jobs', 'proposal'),
        training: { steps: 4, batchSize: 4, lr: 3e-3, seed: 0 },
        evaluation: { holdoutFile: join(corpus, 'bio_holdout.jsonl') },
        log,
      });
      replies.push(['the proposal release', viaProposal]);
      assert.equal(viaProposal.request.state, 'released', JSON.stringify(viaProposal.verdict?.checks));

      // Every reply the API gives about all this, to every role.
      const app = await buildServer(w, runner$ ? { jobs: runner$ } : {});
      try {
        const tokens: Record<string, string> = {};
        for (const role of ['admin', 'auditor', 'approver', 'requester'])
          tokens[role] = (await createToken(w, { role, name: `${role}-reader` })).token;
        const ids = [badId, cancelId, rougeId, r.id];
        const paths = [
          '/v1/requests',
          ...ids.map((id) => `/v1/requests/${id}`),
          '/v1/jobs',
          '/v1/releases',
          '/v1/releases/assistant/1/certificate',
          '/v1/releases/assistant/2/certificate.html',
          '/v1/audit/verify',
          '/v1/reports/transparency',
          '/v1/reports/transparency/public',
          '/transparency',
        ];
        for (const j of await listJobs(w, runner)) paths.push(`/v1/jobs/${j.id}`);
        for (const [role, token] of Object.entries(tokens))
          for (const url of paths) {
            const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
            assert.ok(res.statusCode < 400 || (res.statusCode === 403 && role !== 'admin'), `${role} GET ${url}: ${res.statusCode}`);
            replies.push([`${role} GET ${url}`, res.body]);
          }
      } finally {
        await app.close();
      }
      const audit: string[] = [];
      for await (const l of exportAudit(w)) audit.push(l);
      replies.push(
        ['the audit export', audit],
        ['the audit verification', await verifyAudit(w)],
        ['the transparency report', await transparencyReport(w, carol)],
        ['the registry', await listModelVersions(w, runner)],
      );
      const actions = audit.slice(1).map((l) => JSON.parse(l) as { action: string; details: Record<string, unknown> });
      assert.ok(
        actions.filter((a) => a.action === 'request.run_outputs_deleted').length >= 3,
        'the deletions of per-item outputs are audited (cancelled and both releases)',
      );

      // Zero hits: every byte of every file of the deployment, every table, every reply, every log line.
      const hits = [
        ...searchFiles(data, needles),
        ...searchText('the store', await everyTable(w), needles),
        ...replies.flatMap(([where, v]) => searchValue(where, v, needles)),
        ...searchText('the logs', lines.join('\n'), needles),
      ];
      assert.deepEqual(
        hits.map((h) => `${h.where}: ${h.field}`),
        [],
        describeHits(hits),
      );
      assert.ok(regularFiles(data).some((f) => f.endsWith('lethe.db')) || kind !== 'sqlite', 'the search covers the store file');
      // The search can fail: the user's own files (outside the deployment) name the subject.
      assert.ok(
        searchFiles(inputs, needles).some((h) => h.where === malformed && h.field === 'email'),
        'the malformed file is found by the e-mail',
      );
    } finally {
      await w.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
}

for (const kind of STORE_KINDS) {
  describe(`erasure end to end on ${kind}`, storeOptions(kind), () => {
    test('one forget10 person: proposed, approved by a second user, unlearned, verified, released; nothing of them left', async () => {
      const e = await erasure(kind, 'passing');
      try {
        assert.equal(e.res.request.state, 'released', JSON.stringify(e.res.verdict?.checks));
        assert.deepEqual(
          e.res.request.history.map((t) => [t.to, t.actor]),
          [
            ['received', 'alice'],
            ['scoped', 'alice'],
            ['approved', 'bob'],
            ['unlearning', 'runner'],
            ['verifying', 'runner'],
            ['released', 'runner'],
          ],
        );
        const cert = JSON.parse(readFileSync(join(e.outDir, 'certificate.json'), 'utf8')) as ReleaseCertificate;
        assert.equal(cert.policy.passed, true);
        assert.equal(cert.request.category, 'privacy');
        assert.equal(cert.unlearning.method, 'NPO');
        assert.deepEqual(
          cert.policy.checks.map((c) => c.metric),
          ['extraction_strength', 'mia_loss', 'exact_memorization'],
        );
        const [v] = await listModelVersions(e.w, runner, 'assistant');
        assert.equal(v?.requestId, e.r.id);
        // The forget data is gone: the forget file, the probes (QA about the subject) and the
        // subject's records in the provenance index; each deletion is audited.
        assert.equal(existsSync(e.forgetFile), false);
        assert.equal(existsSync(join(e.proposalDir, 'probes.jsonl')), false);
        const audit: string[] = [];
        for await (const l of exportAudit(e.w)) audit.push(l);
        const actions = audit.slice(1).map((l) => (JSON.parse(l) as { action: string }).action);
        assert.deepEqual(actions.slice(-4), [
          'request.released',
          'request.forget_data_deleted',
          'request.provenance_purged',
          'request.run_outputs_deleted',
        ]);
        assert.deepEqual((await verifyAudit(e.w)).problems, []);
        // Zero occurrences of the subject anywhere.
        assertAbsent('the store', await everyTable(e.w), e.person);
        for (const f of filesUnder(e.w.dataDir)) assertAbsent(f.path, f.text, e.person);
        assertAbsent('the run log', e.lines.join('\n'), e.person);
        assertAbsent('the audit export', audit.join('\n'), e.person);
        assertAbsent('the transparency report', JSON.stringify(await transparencyReport(e.w, carol)), e.person);
        // The scan can find what it looks for: the corpus the user owns still names the person.
        assert.ok(readFileSync(join(e.root, 'corpus', 'bio.jsonl'), 'utf8').includes(e.person.name));
      } finally {
        await e.w.dispose();
        rmSync(e.root, { recursive: true, force: true });
      }
    });

    test('a request whose verification fails is not released and keeps its forget data', async () => {
      const e = await erasure(kind, 'failing');
      try {
        assert.equal(e.res.request.state, 'failed');
        assert.match(e.res.request.history.at(-1)!.reason, /policy checks failed/);
        assert.deepEqual(await listModelVersions(e.w, runner), []);
        assert.equal(existsSync(join(e.outDir, 'certificate.json')), false);
        assert.equal(existsSync(e.forgetFile), true, 'a failed request keeps its forget file for another attempt');
        assertAbsent('the store', await everyTable(e.w), e.person);
        assertAbsent('the run log', e.lines.join('\n'), e.person);
      } finally {
        await e.w.dispose();
        rmSync(e.root, { recursive: true, force: true });
      }
    });
  });
}
