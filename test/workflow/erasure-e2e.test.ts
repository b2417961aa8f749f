// The erasure process end to end, on both stores, for one person of a real persona forget10 split:
// provenance proposes every record that mentions them → a second user approves → unlearned → verified
// against a policy → released with its certificate; the same request under a policy it cannot meet is
// not released. After the release, the person's name, e-mail, phone and address are in no table and no
// file of the deployment (store, provenance index, proposal, run folder, certificate, evaluations),
// no log line, no audit entry, no export and no report.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { buildSuite } from '../../src/data/index.js';
import {
  approveRequest, createRequest, exportAudit, listModelVersions, parsePolicy, runRequest, scopeRequest, transparencyReport, verifyAudit, type Policy, type ReleaseCertificate,
} from '../../src/workflow/index.js';
import { buildIndex, proposeForgetSet, readProposal } from '../../src/workflow/provenance.js';
import { requireFixture } from '../helpers.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, type TestWorkflow } from './stores.js';
import { alice, bob, carol, runner } from './fixtures.js';

after(closeStores);

interface Person { id: string; name: string; email: string; phone: string; address: string }

/** A tiny persona suite, and the first person of its forget10 split. */
function persona(root: string): { dir: string; person: Person } {
  const dir = join(root, 'corpus');
  buildSuite('persona', dir, { seed: 3, size: 'tiny' }, 'test');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { info: { splits: Record<string, string[]> } };
  const id = manifest.info.splits.forget10![0]!;
  const people = readFileSync(join(dir, 'people.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Person);
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
  const tables = w.store.dialect === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(w.store.db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(w.store.db)).rows.map((r) => r.name);
  assert.ok(tables.includes('requests') && tables.includes('audit'), `the scan sees the workflow tables: ${tables.join(', ')}`);
  const dump: string[] = [];
  for (const t of tables) dump.push(JSON.stringify((await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(w.store.db)).rows));
  return dump.join('\n');
}

function needles(p: Person): string[] {
  // The phone also as digits only, in case something normalises it.
  return [p.name, p.email, p.phone, p.phone.replace(/\D/g, ''), p.address];
}

function assertAbsent(where: string, text: string, p: Person): void {
  const lower = text.toLowerCase();
  for (const n of needles(p)) assert.ok(!lower.includes(n.toLowerCase()), `${where} contains the subject's ${n === p.name ? 'name' : n === p.email ? 'e-mail' : n === p.address ? 'address' : 'phone'}`);
}

const policies: Record<'passing' | 'failing', Policy> = {
  // What the tiny fixture model can show: the forget set's likelihood fell, membership inference on
  // forget against held-out people is a valid AUC, the retain set keeps most of its likelihood.
  passing: parsePolicy({
    name: 'e2e', checks: [
      { metric: 'extraction_strength', max_ratio_to_original: 1.0 },
      { metric: 'mia_loss', between: [0, 1] },
      { metric: 'exact_memorization', max_ratio_to_original: 1.0 },
    ],
  }),
  failing: parsePolicy({ name: 'impossible', checks: [{ metric: 'mia_loss', between: [0.4999, 0.5001] }, { metric: 'exact_memorization', max: 0 }] }),
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
  const bios = readFileSync(join(corpus, 'bio.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { person_id: string });
  const qas = readFileSync(join(corpus, 'qa', 'all.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { person_id: string });
  const own = bios.filter((b) => b.person_id === person.id).length + qas.filter((q) => q.person_id === person.id).length;
  assert.ok(proposed.counts.forget >= own, `every record of the person is proposed (${proposed.counts.forget} ≥ ${own})`);
  const forgetRows = readFileSync(join(proposalDir, 'forget.jsonl'), 'utf8').trim().split('\n');
  assert.ok(forgetRows.every((l) => l.includes(person.name) || l.includes(person.email) || l.includes(person.phone)), 'every proposed record mentions the subject');
  const proposal = readProposal(proposalDir);

  // 2. Request (alice), scope with the reviewed proposal, four-eyes approval (bob).
  const r = await createRequest(w, alice, { category: 'privacy', subject: person.name, evidence: { reference: 'DSAR-7781' } });
  const forgetFile = join(proposalDir, 'forget.jsonl');
  await scopeRequest(w, alice, r.id, { model: 'assistant', method: 'NPO', forget: { ...proposal.files.forget, path: forgetFile }, proposal });
  await assert.rejects(approveRequest(w, alice, r.id, { reason: 'self-approval' }), /role 'requester'|four-eyes|not .*requester/i);
  await approveRequest(w, bob, r.id, { reason: 'identity verified' });

  // 3. Unlearn, verify against the policy, release (or fail).
  const outDir = join(w.dataDir, 'releases', r.id);
  const res = await runRequest(w, runner, r.id, {
    modelDir: model, forgetFile, retainFile: join(proposalDir, 'neighbours.jsonl'), method: 'NPO', args: { beta: 0.1 }, policy: policies[policy], outDir,
    training: { steps: 4, batchSize: 4, lr: 3e-3, seed: 0 }, evaluation: { holdoutFile: join(corpus, 'bio_holdout.jsonl'), cacheDir: null }, log: (l) => lines.push(l),
  });
  return { root, w, person, r, res, outDir, forgetFile, proposalDir, lines, idx };
}

for (const kind of STORE_KINDS) {
  describe(`erasure end to end on ${kind}`, () => {
    test('one forget10 person: proposed, approved by a second user, unlearned, verified, released; nothing of them left', async () => {
      const e = await erasure(kind, 'passing');
      try {
        assert.equal(e.res.request.state, 'released', JSON.stringify(e.res.verdict?.checks));
        assert.deepEqual(e.res.request.history.map((t) => [t.to, t.actor]), [['received', 'alice'], ['scoped', 'alice'], ['approved', 'bob'], ['unlearning', 'runner'], ['verifying', 'runner'], ['released', 'runner']]);
        const cert = JSON.parse(readFileSync(join(e.outDir, 'certificate.json'), 'utf8')) as ReleaseCertificate;
        assert.equal(cert.policy.passed, true);
        assert.equal(cert.request.category, 'privacy');
        assert.equal(cert.unlearning.method, 'NPO');
        assert.deepEqual(cert.policy.checks.map((c) => c.metric), ['extraction_strength', 'mia_loss', 'exact_memorization']);
        const [v] = await listModelVersions(e.w, runner, 'assistant');
        assert.equal(v?.requestId, e.r.id);
        // The forget data is gone: the forget file, the probes (QA about the subject) and the
        // subject's records in the provenance index; each deletion is audited.
        assert.equal(existsSync(e.forgetFile), false);
        assert.equal(existsSync(join(e.proposalDir, 'probes.jsonl')), false);
        const audit: string[] = [];
        for await (const l of exportAudit(e.w)) audit.push(l);
        const actions = audit.slice(1).map((l) => (JSON.parse(l) as { action: string }).action);
        assert.deepEqual(actions.slice(-4), ['request.released', 'request.forget_data_deleted', 'request.provenance_purged', 'request.run_outputs_deleted']);
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
