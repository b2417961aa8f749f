// Model lineage on every store: registration (parents, how, data hashes; the refusals), the tree both
// ways, lookup by folder, the audit catching a lineage row added, edited or deleted outside the
// workflow; and an erasure on the target whose release reports each descendant (the LoRA fine-tune
// and the quantized copy need their own request, a student distilled on retain text only is
// unaffected), with the lineage in the certificate and no subject in it; the same through `lethe`,
// with edges recorded by real `finetune --lora` and `forget` runs.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { parsePolicy, runRequest, verifyAudit, type ReleaseCertificate } from '../../src/workflow/index.js';
import { descendantsOf, formatLineage, lineageOf, readLineage, registerModel } from '../../src/workflow/lineage.js';
import { modelFingerprint } from '../../src/util/model-fingerprint.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, storeOptions, type StoreKind, type TestWorkflow } from './stores.js';
import { alice, runner, SUBJECT } from './fixtures.js';
import { approved, setup, sha, type RunSetup } from './run-fixtures.js';
import { assertLineageStatuses, copyModel, corpusFile, lineageOnTarget, TARGET } from './lineage-fixtures.js';
import { needlesOf, searchText } from '../../src/workflow/subject-search.js';
import { runCli } from '../helpers/cli.js';

after(closeStores);

const LENIENT = parsePolicy({ name: 'lenient', checks: [{ metric: 'mia_min_k', between: [0, 1] }] });

const code = (c: string, re: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  assert.match(e.message, re);
  return true;
};

function noSubject(where: string, text: string): void {
  for (const needle of [SUBJECT, 'Quillfeather', 'Lyon', 'baker'])
    assert.ok(!text.toLowerCase().includes(needle.toLowerCase()), `${where} contains '${needle}'`);
}

/** A fresh run-fixtures folder and a workflow on `kind` (files in the folder allowed), disposed after `fn`. */
async function onStore(kind: StoreKind, fn: (w: TestWorkflow, s: RunSetup) => Promise<void>): Promise<void> {
  const s = setup();
  const w = await freshWorkflow(kind, { now: steppingClock(), roots: [s.dir] });
  try {
    await fn(w, s);
  } finally {
    await w.dispose();
  }
}

/** An erasure on the target, approved and released (GradAscent, a lenient policy): its certificate. */
async function releaseTarget(w: TestWorkflow, s: RunSetup): Promise<{ certText: string; html: string }> {
  const id = await approved(w, s.forgetFile, TARGET);
  const out = join(s.dir, 'out');
  const res = await runRequest(w, runner, id, {
    modelDir: s.model,
    forgetFile: s.forgetFile,
    retainFile: s.retainFile,
    method: 'GradAscent',
    policy: LENIENT,
    outDir: out,
    training: { steps: 1, batchSize: 2, seed: 1 },
    evaluation: { holdoutFile: s.holdoutFile, cacheDir: null },
  });
  assert.equal(res.request.state, 'released', res.request.history.at(-1)?.reason);
  return { certText: readFileSync(join(out, 'certificate.json'), 'utf8'), html: readFileSync(join(out, 'certificate.html'), 'utf8') };
}

for (const kind of STORE_KINDS) {
  describe(`lineage on ${kind}`, storeOptions(kind), () => {
    test('register records parents, how and data hashes; refuses what it cannot record', () =>
      onStore(kind, async (w, s) => {
        const base = await registerModel(w, runner, { name: 'base', modelDir: s.model, how: 'base' });
        assert.equal(base.contentSha256, modelFingerprint(s.model).sha256);
        const lora = copyModel(s, 'lora');
        const m = await registerModel(w, runner, {
          name: 'lora',
          modelDir: lora,
          how: 'lora',
          parents: ['base'],
          data: [{ path: s.retainFile }],
        });
        assert.deepEqual(m.parents, ['base']);
        assert.deepEqual(m.data, [{ path: s.retainFile, sha256: sha(s.retainFile), role: 'train' }]);
        assert.equal(m.registeredBy, 'runner');
        const reg = (body: Record<string, unknown>) => registerModel(w, runner, { modelDir: lora, ...body });
        await assert.rejects(reg({ name: 'base', how: 'base' }), code('CONFLICT', /registered already/));
        await assert.rejects(reg({ name: 'x', how: 'finetune', parents: ['nope'] }), code('NOT_FOUND', /parent nope is not registered/));
        await assert.rejects(reg({ name: 'x', how: 'finetune' }), code('BAD_INPUT', /needs '--parent NAME'/));
        await assert.rejects(reg({ name: 'x', how: 'base', parents: ['base'] }), code('BAD_INPUT', /a 'base' model has no parent/));
        await assert.rejects(reg({ name: 'x', how: 'quantise', parents: ['base'] }), code('BAD_INPUT', /'how' must be one of 'base'/));
        await assert.rejects(
          reg({ name: 'x', how: 'finetune', parents: ['base'], data: [{ path: s.forgetFile, role: 'forget' }] }),
          code('BAD_INPUT', /forget data goes with '--how unlearning' only/),
        );
        await assert.rejects(
          reg({ name: 'x', how: 'finetune', parents: ['base'], data: [{ path: join(s.dir, 'none.jsonl') }] }),
          code('BAD_INPUT', /'data\[0\]' must be an existing path/),
        );
        await assert.rejects(
          reg({ name: 'x', how: 'finetune', parents: ['base'], data: [{ path: join(w.dataDir, 'keys', 'subject-salt') }] }),
          code('BAD_INPUT', /not the deployment's keys/),
        );
        await assert.rejects(reg({ name: 'a b', how: 'base' }), code('BAD_INPUT', /'name' must be/));
        assert.deepEqual([...(await readLineage(w.store.db)).keys()], ['base', 'lora']);
        assert.equal((await verifyAudit(w)).ok, true);
        await assert.rejects(
          registerModel(w, alice, { name: 'y', modelDir: lora, how: 'base' }),
          code('FORBIDDEN', /model.register: role 'requester'/),
        );
      }));

    test('the tree: ancestors and descendants (a merge under both parents), lookup by folder', () =>
      onStore(kind, async (w, s) => {
        const reg = (name: string, how: 'base' | 'finetune' | 'merge' | 'quantization', parents: string[]) =>
          registerModel(w, runner, { name, modelDir: copyModel(s, name), how, parents });
        await reg('a', 'base', []);
        await reg('b', 'base', []);
        await reg('a-ft', 'finetune', ['a']);
        await reg('ab', 'merge', ['a-ft', 'b']);
        await reg('ab-int4', 'quantization', ['ab']);
        const all = await readLineage(w.store.db);
        assert.deepEqual(
          descendantsOf(all, 'a').map((m) => m.name),
          ['a-ft', 'ab', 'ab-int4'],
        );
        const v = await lineageOf(w, alice, join(s.dir, 'models', 'a-ft'));
        assert.equal(v.model.name, 'a-ft', 'found by the folder');
        assert.deepEqual(
          v.ancestors.map((m) => m.name),
          ['a'],
        );
        assert.equal(
          formatLineage(v).replace(/ {2}[0-9a-f]{12}…/g, ''),
          ['a  (base)', '└─ * a-ft  (finetune)', '   └─ ab  (merge)', '      └─ ab-int4  (quantization)'].join('\n'),
        );
        const merged = await lineageOf(w, alice, 'ab');
        assert.deepEqual(
          merged.ancestors.map((m) => m.name),
          ['a', 'a-ft', 'b'],
        );
        await assert.rejects(lineageOf(w, alice, 'nope'), code('NOT_FOUND', /'nope' is not a registered model/));
      }));

    test('a lineage row added, edited or deleted outside the workflow fails the audit', () =>
      onStore(kind, async (w, s) => {
        await registerModel(w, runner, { name: 'base', modelDir: s.model, how: 'base' });
        await registerModel(w, runner, { name: 'child', modelDir: copyModel(s, 'child'), how: 'finetune', parents: ['base'] });
        const problems = async () => (await verifyAudit(w)).problems;
        // Distillation would make the child unaffected by an erasure on base: an edit that hides it.
        await sql`update lineage set how = 'distillation' where name = 'child'`.execute(w.store.db);
        assert.deepEqual(await problems(), ['lineage child: its row does not match audit entry 2 (edited: parents, data, how or folder)']);
        await sql`update lineage set how = 'finetune' where name = 'child'`.execute(w.store.db);
        assert.deepEqual(await problems(), []);
        await sql`delete from lineage where name = 'child'`.execute(w.store.db);
        assert.deepEqual(await problems(), ['lineage child: registered in audit entry 2 but its lineage row is gone (deleted)']);
        await sql`insert into lineage select 'ghost', path, content_sha256, how, parents_json, data_json, details_json, registered_by, registered_at from lineage where name = 'base'`.execute(
          w.store.db,
        );
        assert.ok((await problems()).includes('lineage ghost: no audit entry registered it (a lineage row added outside the workflow)'));
      }));

    test('an erasure on the target: LoRA and quantized copy need their own request, a student distilled on retain text is unaffected', () =>
      onStore(kind, async (w, s) => {
        await lineageOnTarget(w, s);
        const { certText, html } = await releaseTarget(w, s);
        assertLineageStatuses((JSON.parse(certText) as ReleaseCertificate).lineage);
        assert.match(html, /<td>student-clean<\/td><td>distillation<\/td><td>tiny-assistant<\/td><td>unaffected<\/td>/);
        const audit = await sql<{ details: string }>`select details from audit where action = 'request.released'`.execute(w.store.db);
        assert.deepEqual(JSON.parse(audit.rows[0]!.details).lineage, {
          model: TARGET,
          released: 1,
          'needs-own-request': 5,
          unaffected: 2,
        });
        noSubject('the certificate', certText);
        noSubject('the certificate page', html);
        const tables = await Promise.all(['lineage', 'audit', 'models'].map((t) => sql`select * from ${sql.table(t)}`.execute(w.store.db)));
        noSubject('the store', JSON.stringify(tables.map((t) => t.rows)));
        assert.equal((await verifyAudit(w)).ok, true);
      }));
  });
}

test('lethe register / finetune --lora --register / forget --register / lineage, then an erasure on the target', async () => {
  const s = setup();
  const dep = join(s.dir, 'deployment');
  const env = { LETHE_DATA: dep };
  const lethe = (...args: string[]) => {
    const r = runCli(args, { env });
    assert.equal(r.status, 0, `lethe ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const corpus = corpusFile(s);
  lethe('register', TARGET, '--model', s.model, '--data', corpus);
  // Real runs record their own edge; the parent is found by the --model folder's fingerprint.
  const lora = join(s.dir, 'models', 'assistant-lora');
  const ft = lethe(
    'finetune',
    '--model',
    s.model,
    '--data',
    s.retainFile,
    '--lora',
    'r=2,alpha=4,targets=q_proj',
    '--steps',
    '1',
    '--out',
    lora,
    '--register',
    'assistant-lora',
  );
  assert.match(ft.stderr, /registered assistant-lora \(lora from tiny-assistant, 1 data file\(s\) recorded\)/);
  const forgot = join(s.dir, 'models', 'assistant-forgot');
  lethe(
    'forget',
    '--model',
    s.model,
    '--forget',
    s.forgetFile,
    '--retain',
    s.retainFile,
    '--method',
    'GradDiff',
    '--steps',
    '1',
    '--out',
    forgot,
    '--register',
    'assistant-forgot',
  );
  lethe('register', 'assistant-int8', '--model', copyModel(s, 'assistant-int8'), '--parent', TARGET, '--how', 'quantization');
  lethe(
    'register',
    'student-clean',
    '--model',
    copyModel(s, 'student-clean'),
    '--parent',
    TARGET,
    '--how',
    'distillation',
    '--data',
    s.retainFile,
  );
  // Refused before training: nothing is written to --out.
  const finetuneRegistering = (model: string, name: string, ...extra: string[]) =>
    runCli(
      ['finetune', '--model', model, '--data', s.retainFile, '--steps', '1', '--out', join(s.dir, 'x'), '--register', name, ...extra],
      { env },
    );
  const refused = finetuneRegistering(join(s.dir, 'models', 'student-clean'), 'student-clean');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--register student-clean: the name is registered already/);
  const nowhere = finetuneRegistering(s.model, 'x', '--deployment', join(s.dir, 'typo'));
  assert.match(nowhere.stderr, /--register x: \S+typo is not a deployment \(no lethe.db/);
  assert.ok(!existsSync(join(s.dir, 'typo')), 'no deployment is made by a typo');
  assert.ok(!existsSync(join(s.dir, 'x')), 'refused before training');

  const tree = lethe('lineage', TARGET).stdout.replace(/ {2}[0-9a-f]{12}…/g, '');
  const short = (f: string) => `${sha(f).slice(0, 12)}…`;
  assert.equal(
    tree.trim(),
    [
      `* ${TARGET}  (base; data train ${short(corpus)})`,
      `├─ assistant-forgot  (unlearning; data forget ${short(s.forgetFile)}, train ${short(s.retainFile)})`,
      '├─ assistant-int8  (quantization)',
      `├─ assistant-lora  (lora; data train ${short(s.retainFile)})`,
      `└─ student-clean  (distillation; data train ${short(s.retainFile)})`,
    ].join('\n'),
  );
  const json = JSON.parse(lethe('lineage', lora, '--json').stdout);
  assert.equal(json.model.name, 'assistant-lora', 'a folder is found by its fingerprint');
  assert.equal(json.model.details.merged, false);
  assert.deepEqual(
    json.ancestors.map((m: { name: string }) => m.name),
    [TARGET],
  );
  const forgotJson = JSON.parse(lethe('lineage', 'assistant-forgot', '--json').stdout);
  assert.deepEqual(
    forgotJson.model.data.map((d: { role: string; path: string | null }) => [d.role, d.path]),
    [
      ['forget', null],
      ['train', s.retainFile],
    ],
    "a forget file's path is not recorded (its name may name the person)",
  );
  // A recipe search registers its winner like a plain run.
  const searched = join(s.dir, 'models', 'assistant-searched');
  lethe(
    ...['forget', '--model', s.model, '--forget', s.forgetFile, '--retain', s.retainFile, '--method', 'GradDiff'],
    ...['--search', '1', '--holdout', s.holdoutFile, '--steps', '2', '--out', searched, '--register', 'assistant-searched'],
  );
  const searchedJson = JSON.parse(lethe('lineage', 'assistant-searched', '--json').stdout);
  assert.equal(searchedJson.model.how, 'unlearning');
  assert.deepEqual(searchedJson.model.parents, [TARGET]);
  assert.equal(searchedJson.model.contentSha256, JSON.parse(lethe('lineage', searched, '--json').stdout).model.contentSha256);
  assert.equal(JSON.parse(lethe('audit', 'verify', '--json').stdout).ok, true);

  // The request through the library (four-eyes needs two people), the release through `lethe release`.
  const w = await freshWorkflow('sqlite', { dataDir: dep, roots: [s.dir] });
  let id: string;
  try {
    id = await approved(w, s.forgetFile, TARGET);
  } finally {
    await w.dispose();
  }
  const policy = join(s.dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(LENIENT));
  const out = join(s.dir, 'out');
  const released = lethe(
    ...['release', id, '--data-root', s.dir, '--model', s.model, '--forget', s.forgetFile, '--retain', s.retainFile],
    ...['--holdout', s.holdoutFile, '--method', 'GradAscent', '--steps', '1', '--policy', policy, '--out', out],
  );
  assert.match(released.stdout, /lineage: assistant-lora needs-own-request: made from tiny-assistant by lora: inherits/);
  assert.match(released.stdout, /lineage: student-clean unaffected: made by distillation/);
  const cert = JSON.parse(readFileSync(join(out, 'certificate.json'), 'utf8')) as ReleaseCertificate;
  assert.deepEqual(Object.fromEntries(cert.lineage!.models.map((m) => [m.name, m.status])), {
    [TARGET]: 'released',
    'assistant-forgot': 'needs-own-request',
    'assistant-int8': 'needs-own-request',
    'assistant-lora': 'needs-own-request',
    'assistant-searched': 'needs-own-request',
    'student-clean': 'unaffected',
  });
  // The unlearned copy's forget file is the subject's, but it was unlearned, not learned: only inheritance counts.
  const forgotEntry = cert.lineage!.models.find((m) => m.name === 'assistant-forgot')!;
  assert.deepEqual(
    forgotEntry.data.map((d) => d.finding),
    ['not searched', 'clean'],
  );
  noSubject('the release output', released.stdout + released.stderr);
});

test('the subject search finds a record in the spellings JSON gives it', () => {
  const needles = needlesOf({ text: 'Zoë "Q" Ode\nof Lyon' });
  const hit = (text: string) => searchText('f', text, needles).length > 0;
  assert.ok(hit('Zoë "Q" Ode\nof Lyon'), 'as text');
  assert.ok(hit(JSON.stringify({ text: 'Zoë "Q" Ode\nof Lyon' })), "as JavaScript's JSON writes it");
  assert.ok(hit('{"text": "Zo\\u00eb \\"Q\\" Ode\\nof Lyon"}'), "as Python's json.dumps writes it");
  assert.ok(!hit(JSON.stringify({ text: 'Zoe "Q" Ode of Lyon' })), 'another text is not a hit');
});
