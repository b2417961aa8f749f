// Jobs over real HTTP on the llama-tiny fixture (SQLite: a job's worker process opens the store, which
// an in-process PGlite cannot share): a run goes to release with progress and an end event on the
// server-sent stream; submissions are checked (paths inside the data folder, the policy, the state);
// cancel (queued and running) is audited; jobs of one model run in order, other models beside them.
// The job records on every store are tested at the end (no worker).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import {
  advanceRequest,
  approveRequest,
  auditEntries,
  createJob,
  createRequest,
  scopeRequest,
  createToken,
  getJob,
  getRequest,
  JobRunner,
  listJobs,
  verifyAudit,
} from '../../src/workflow/index.js';
import { resolveInputPath } from '../../src/workflow/jobs.js';
import { LetheError } from '../../src/util/errors.js';
import { buildIndex, proposeForgetSet, readProposal } from '../../src/workflow/provenance.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions, type TestWorkflow } from '../workflow/stores.js';
import { alice, bob, createBody, runner, SUBJECT } from '../workflow/fixtures.js';
import { approved, setup, type RunSetup } from '../workflow/run-fixtures.js';
import { client } from './job-client.js';

let w: TestWorkflow;
let app: FastifyInstance;
let s: RunSetup;
let api: ReturnType<typeof client>;
const tok: Record<string, string> = {};
let forgetCount = 0;

const LENIENT = {
  name: 'lenient',
  checks: [
    { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 },
    { metric: 'mia_min_k', between: [0, 1] },
  ],
};

before(async () => {
  w = await freshWorkflow('sqlite');
  s = setup(w.dataDir);
  cpSync(s.model, join(w.dataDir, 'model-b'), { recursive: true });
  mkdirSync(join(w.dataDir, 'policies'));
  writeFileSync(join(w.dataDir, 'policies', 'lenient.json'), JSON.stringify(LENIENT));
  app = await buildServer(w, { jobs: new JobRunner(w, { dataDir: w.dataDir, concurrency: 2 }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  api = client(`http://127.0.0.1:${port}`);
  for (const [name, role] of [
    ['root', 'admin'],
    ['carol', 'auditor'],
    ['bob', 'approver'],
  ] as const)
    tok[name] = (await createToken(w, { role, name })).token;
});
after(async () => {
  await app?.close();
  await w?.dispose();
  await closeStores();
});

/** An approved request over its own copy of the forget file (each release deletes its file). */
async function approvedRequest(): Promise<{ id: string; forgetFile: string }> {
  const name = `forget-${++forgetCount}.jsonl`;
  cpSync(s.forgetFile, join(w.dataDir, name));
  return { id: await approved(w, join(w.dataDir, name)), forgetFile: name };
}

const body = (forgetFile: string, over: Record<string, unknown> = {}) => ({
  model: 'model',
  forgetFile,
  retainFile: 'retain.jsonl',
  holdoutFile: 'holdout.jsonl',
  method: 'GradAscent',
  training: { steps: 4, checkpointEvery: 2 },
  policy: 'lenient',
  ...over,
});

const run = async (id: string, b: Record<string, unknown>) => {
  const r = await api.call('POST', `/v1/requests/${id}/run`, tok.root, b);
  assert.equal(r.status, 202, r.text);
  return r.json.job as { id: string; state: string };
};

const noSubject = (where: string, text: string) => {
  for (const needle of [SUBJECT, 'Quillfeather', 'Lovelace'])
    assert.ok(!text.toLowerCase().includes(needle.toLowerCase()), `${where} contains '${needle}'`);
};

test('a job runs to release: progress and end on the event stream, the registry and certificate over HTTP, audited, no subject anywhere', async () => {
  const { id, forgetFile } = await approvedRequest();
  const job = await run(id, body(forgetFile));
  assert.equal(job.state, 'queued');
  const { events, raw } = await api.events(job.id, tok.carol);
  assert.equal(events[0]!.event, 'state', 'the current job first');
  assert.equal(events.at(-1)!.event, 'end');
  assert.equal(events.at(-1)!.data.state, 'succeeded');
  const steps = events.filter((e) => e.event === 'progress' && e.data.progress.phase === 'unlearning').map((e) => e.data.progress.step);
  assert.deepEqual(steps, [1, 2, 3, 4], 'one progress event per training step');
  assert.ok(events.some((e) => e.data.progress.phase === 'verifying') && events.some((e) => e.data.progress.phase === 'releasing'));
  assert.ok(
    events
      .filter((e) => e.event === 'state')
      .map((e) => e.data.state)
      .includes('running'),
  );
  noSubject('the event stream', raw);

  const j = (await api.call('GET', `/v1/jobs/${job.id}`, tok.carol)).json;
  assert.equal(j.state, 'succeeded');
  assert.equal(j.attempts, 1);
  assert.equal(j.error, null);
  assert.deepEqual(j.progress, { phase: 'done', step: null, totalSteps: null, loss: null, resumedFrom: null });
  assert.ok(j.startedAt <= j.finishedAt && j.createdAt <= j.startedAt);
  const listed = (await api.call('GET', '/v1/jobs?state=succeeded', tok.carol)).json.jobs as { id: string }[];
  assert.ok(listed.some((x) => x.id === job.id));
  assert.equal((await api.call('GET', '/v1/jobs?state=nope', tok.carol)).status, 400);

  const r = (await api.call('GET', `/v1/requests/${id}`, tok.carol)).json;
  assert.deepEqual(
    r.history.map((t: { to: string; actor: string }) => `${t.to}:${t.actor}`),
    ['received:alice', 'scoped:alice', 'approved:bob', 'unlearning:root', 'verifying:root', 'released:root'],
  );
  assert.equal(existsSync(join(w.dataDir, forgetFile)), false, 'the forget file is deleted');

  const releases = (await api.call('GET', '/v1/releases', tok.carol)).json.releases as {
    name: string;
    version: number;
    requestId: string;
  }[];
  const rel = releases.find((x) => x.requestId === id)!;
  assert.equal(rel.name, 'tiny-assistant');
  const cert = await api.call('GET', `/v1/releases/${rel.name}/${rel.version}/certificate`, tok.carol);
  assert.equal(cert.status, 200);
  assert.equal(cert.json.request.id, id);
  assert.equal(cert.json.policy.name, 'lenient');
  const html = await api.call('GET', `/v1/releases/${rel.name}/${rel.version}/certificate.html`, tok.carol);
  assert.match(html.type, /^text\/html/);
  assert.ok(html.text.startsWith('<!doctype html>') && html.text.includes(id));
  assert.equal((await api.call('GET', `/v1/releases/${rel.name}/99/certificate`, tok.carol)).status, 404);

  const actions = [];
  for await (const e of auditEntries(w.store.db)) if (e.requestId === id) actions.push(e.action);
  assert.deepEqual(actions, [
    'request.create',
    'request.scope',
    'request.approve',
    'job.submit',
    'request.unlearning',
    'request.verifying',
    'request.released',
    'request.forget_data_deleted',
    'request.run_outputs_deleted',
  ]);
  assert.equal(existsSync(join(w.dataDir, 'jobs', job.id, 'private')), false, "the run's per-item outputs are deleted");
  assert.ok(existsSync(join(w.dataDir, 'jobs', job.id, 'eval', 'SUMMARY.json')), 'the aggregates stay');
  assert.deepEqual((await verifyAudit(w)).problems, []);
  const jobsTable = JSON.stringify(await w.store.db.selectFrom('jobs').selectAll().execute());
  noSubject('the jobs table', jobsTable);
  noSubject('job.log', readFileSync(join(w.dataDir, 'jobs', job.id, 'job.log'), 'utf8'));

  // A released request cannot run again; the certificate changed on disk is not served
  assert.equal((await api.call('POST', `/v1/requests/${id}/run`, tok.root, body(forgetFile))).status, 409);
  const certFile = join(w.dataDir, 'jobs', job.id, 'certificate.json');
  writeFileSync(certFile, readFileSync(certFile, 'utf8').replace('"lenient"', '"forged"'));
  assert.equal((await api.call('GET', `/v1/releases/${rel.name}/${rel.version}/certificate`, tok.carol)).status, 409);
  // The server never reads a certificate through a link (here to the store, whose locks closing a descriptor would drop)
  rmSync(certFile);
  symlinkSync(join(w.dataDir, 'lethe.db'), certFile);
  const linked = await api.call('GET', `/v1/releases/${rel.name}/${rel.version}/certificate`, tok.carol);
  assert.equal(linked.status, 404, linked.text);
  assert.match(linked.json.message, /not a regular file/);
});

test('a submission is checked: paths inside the data folder, the policy, the scope, one active job per request', async () => {
  const { id, forgetFile } = await approvedRequest();
  const bad = async (b: Record<string, unknown>, field: string, re: RegExp) => {
    const r = await api.call('POST', `/v1/requests/${id}/run`, tok.root, b);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.field, field || undefined, r.text);
    assert.match(r.json.message, re);
  };
  await bad(
    body(forgetFile, { forgetFile: '/etc/hostname' }),
    'forgetFile',
    /run: 'forgetFile' must be a path inside the data folder, got '\/etc\/hostname'/,
  );
  await bad(body(forgetFile, { retainFile: '../../etc/hostname' }), 'retainFile', /inside the data folder/);
  await bad(body(forgetFile, { holdoutFile: 'missing.jsonl' }), 'holdoutFile', /an existing path/);
  await bad(body(forgetFile, { model: 'retain.jsonl' }), 'model', /a Hugging Face model folder/);
  await bad(body(forgetFile, { policy: 'strictest' }), 'policy', /the name of a file in the policies folder/);
  await bad(body(forgetFile, { policy: { checks: [{ metric: 'x' }] } }), 'policy.checks.0', /exactly one threshold kind/);
  await bad(body(forgetFile, { training: { steps: 0 } }), 'training.steps', /must be >= 1/);
  await bad(body(forgetFile, { colour: 'red' }), 'colour', /not a known field/);
  await bad(body(forgetFile, { training: { steps: 2, epochs: 1 } }), 'training', /'steps' or 'epochs', not both/);
  await bad(body(forgetFile, { args: { gamma: 1 } }), 'args', /method GradAscent has no argument 'gamma'/);
  // The forget file's sha256 is checked by the job's worker, not the server: the job fails, the request stays approved
  const mismatch = await run(id, body('retain.jsonl'));
  const failed = await api.waitJob(mismatch.id, tok.carol, (j) => j.state !== 'queued' && j.state !== 'running');
  assert.equal(failed.state, 'failed');
  assert.match(
    failed.error,
    /^the worker stopped: request req_\w+: the forget file's sha256 [0-9a-f]{12}… is not the approved scope's [0-9a-f]{12}…$/,
  );
  assert.equal((await getRequest(w, runner, id)).state, 'approved');
  const { method: _, ...noMethod } = body(forgetFile);
  await bad(noMethod, 'method', /'method' is required/);
  const first = await run(id, body(forgetFile, { training: { steps: 200 } }));
  const again = await api.call('POST', `/v1/requests/${id}/run`, tok.root, body(forgetFile));
  assert.equal(again.status, 409);
  assert.match(again.json.message, new RegExp(`job ${first.id} is already (queued|running)`));
  const cancelled = await api.call('POST', `/v1/jobs/${first.id}/cancel`, tok.root);
  assert.equal(cancelled.json.state, 'cancelled');
});

test("a run body naming the deployment's own files, a folder, a device, a fifo or a path outside the roots is a 400 naming the field; nothing is opened", async () => {
  const { id, forgetFile } = await approvedRequest();
  const jobFile = join(w.dataDir, 'jobs', 'job_000000000001', 'eval', 'EVAL.json');
  mkdirSync(join(jobFile, '..'), { recursive: true });
  writeFileSync(jobFile, '{}');
  symlinkSync(join(w.dataDir, 'lethe.db'), join(w.dataDir, 'store-link.jsonl'));
  spawnSync('mkfifo', [join(w.dataDir, 'fifo.jsonl')]);
  mkdirSync(join(w.dataDir, 'a-folder.jsonl'));
  symlinkSync(join(w.dataDir, 'lethe.db'), join(w.dataDir, 'policies', 'evil.json'));
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ forgetFile: 'lethe.db' }, 'forgetFile', /not the store/],
    [{ forgetFile: 'lethe.db-wal' }, 'forgetFile', /not the store/],
    [{ retainFile: 'lethe.db-shm' }, 'retainFile', /not the store/],
    [{ holdoutFile: 'keys/audit-ed25519.key.pem' }, 'holdoutFile', /not the deployment's keys/],
    [{ retainFile: 'jobs/job_000000000001/eval/EVAL.json' }, 'retainFile', /not the job folders/],
    [{ forgetFile: 'store-link.jsonl' }, 'forgetFile', /not the store/],
    [{ forgetFile: 'a-folder.jsonl' }, 'forgetFile', /a regular file \(it is a directory\)/],
    [{ forgetFile: 'fifo.jsonl' }, 'forgetFile', /a regular file \(it is a fifo\)/],
    [{ forgetFile: '/dev/zero' }, 'forgetFile', /inside the data folder/],
    [{ forgetFile: '/' }, 'forgetFile', /inside the data folder/],
    [{ model: '.' }, 'model', /not the data folder itself/],
    [{ model: 'jobs' }, 'model', /not the job folders/],
    [{ policy: 'evil' }, 'policy', /not the store/],
  ];
  for (const [over, field, re] of cases) {
    const r = await api.call('POST', `/v1/requests/${id}/run`, tok.root, body(forgetFile, over));
    assert.equal(r.status, 400, `${JSON.stringify(over)}: ${r.text}`);
    assert.equal(r.json.field, field, r.text);
    assert.match(r.json.message, re);
  }
  assert.deepEqual(await listJobs(w, runner, { state: 'queued' }), [], 'none queued');
  // The scope's forget path over HTTP: '/' and the store are refused, naming the field
  const fresh = (await api.call('POST', '/v1/requests', tok.root, createBody())).json.id as string;
  for (const path of ['/', join(w.dataDir, 'lethe.db-wal'), '/dev/zero']) {
    const r = await api.call('POST', `/v1/requests/${fresh}/scope`, tok.root, {
      model: 'tiny',
      method: 'GradAscent',
      forget: { sha256: 'b'.repeat(64), rows: 4, path },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.field, 'forget.path', r.text);
  }
  assert.equal((await getRequest(w, runner, fresh)).state, 'received');
});

describe('cancel and the queues', () => {
  test('cancel: a queued job is dropped (its request stays approved), a running one is killed (its request fails); both audited', async () => {
    const a = await approvedRequest();
    const b = await approvedRequest();
    const ja = await run(a.id, body(a.forgetFile, { training: { steps: 500 } }));
    const jb = await run(b.id, body(b.forgetFile));
    const g = await approvedRequest();
    const jg = await run(g.id, body(g.forgetFile));
    rmSync(join(w.dataDir, g.forgetFile));
    await api.events(ja.id, tok.carol, (e) => e.event === 'progress' && (e.data.progress.step ?? 0) >= 2);
    assert.equal((await api.call('GET', `/v1/jobs/${jb.id}`, tok.carol)).json.state, 'queued', 'the same model: waits for the running job');

    const cb = await api.call('POST', `/v1/jobs/${jb.id}/cancel`, tok.root);
    assert.equal(cb.status, 200, cb.text);
    assert.equal(cb.json.state, 'cancelled');
    assert.match(cb.json.error, /cancelled by root before it started/);
    assert.equal((await getRequest(w, runner, b.id)).state, 'approved');

    const ca = await api.call('POST', `/v1/jobs/${ja.id}/cancel`, tok.root);
    assert.equal(ca.json.state, 'cancelled');
    const ra = await getRequest(w, runner, a.id);
    assert.equal(ra.state, 'failed');
    assert.deepEqual([ra.history.at(-1)!.reason, ra.history.at(-1)!.actor], ['cancelled by root', 'root']);
    assert.equal((await api.call('POST', `/v1/jobs/${ja.id}/cancel`, tok.root)).status, 409, 'a finished job cannot be cancelled');
    // The next queued job's forget file vanished before it started: the worker refuses, the request stays approved
    const fg = await api.waitJob(jg.id, tok.carol, (j) => j.state !== 'queued' && j.state !== 'running');
    assert.equal(fg.state, 'failed');
    assert.match(fg.error, /^the worker stopped: request req_\w+: the forget file .* does not exist/);
    assert.equal((await getRequest(w, runner, g.id)).state, 'approved');
    assert.equal((await api.call('POST', `/v1/jobs/${ja.id}/cancel`, tok.bob)).status, 403);
    const ended = await api.events(ja.id, tok.carol);
    assert.deepEqual(
      ended.events.map((e) => e.event),
      ['state', 'end'],
      'a finished job: its state, then end',
    );

    const cancels = [];
    for await (const e of auditEntries(w.store.db)) if (e.action === 'job.cancel') cancels.push([e.requestId, e.details.was, e.actor]);
    assert.deepEqual(cancels.slice(-2), [
      [b.id, 'queued', 'root'],
      [a.id, 'running', 'root'],
    ]);
    // The cancelled-before-start request can run again
    const rerun = await run(b.id, body(b.forgetFile, { training: { steps: 2 } }));
    await api.waitJob(rerun.id, tok.carol, (j) => j.state === 'succeeded');
  });

  test("one model's jobs run one at a time in order; another model's job runs beside them", async () => {
    const c = await approvedRequest();
    const d = await approvedRequest();
    const e = await approvedRequest();
    const jc = await run(c.id, body(c.forgetFile, { training: { steps: 30 } }));
    // Submitted at once, while c may still be starting: neither may start beside c on its model
    const [jd, je] = await Promise.all([
      run(d.id, body(d.forgetFile, { training: { steps: 2 } })),
      run(e.id, body(e.forgetFile, { model: 'model-b', training: { steps: 2 } })),
    ]);
    const done = (j: Record<string, any>) => ['succeeded', 'failed', 'cancelled'].includes(j.state);
    const [fc, fd, fe] = await Promise.all([jc, jd, je].map((j) => api.waitJob(j.id, tok.carol, done)));
    assert.deepEqual([fc!.state, fd!.state, fe!.state], ['succeeded', 'succeeded', 'succeeded'], JSON.stringify([fc, fd, fe]));
    assert.ok(fd!.startedAt >= fc!.finishedAt, `same model: d started ${fd!.startedAt} after c finished ${fc!.finishedAt}`);
    assert.ok(fe!.startedAt < fc!.finishedAt, `other model: e started ${fe!.startedAt} before c finished ${fc!.finishedAt}`);
    const versions = (await api.call('GET', '/v1/releases', tok.carol)).json.releases.map((r: { requestId: string; version: number }) => [
      r.requestId,
      r.version,
    ]);
    assert.ok(
      versions.find(([rid]: [string]) => rid === c.id)[1] < versions.find(([rid]: [string]) => rid === d.id)[1],
      'released in queue order',
    );
  });
});

test('the runner never starts two jobs of one model, nor more than its concurrency, even when submissions race', async () => {
  const fake = new JobRunner(w, {
    dataDir: w.dataDir,
    concurrency: 2,
    workerPath: fileURLToPath(new URL('./fake-worker.js', import.meta.url)),
  });
  const running = new Map<string, string>();
  const problems: string[] = [];
  let peak = 0;
  fake.on('job', (j: { id: string; model: string; state: string }) => {
    if (j.state === 'running') {
      if ([...running.values()].includes(j.model) && running.get(j.id) !== j.model)
        problems.push(`${j.id} started beside another job of ${j.model}`);
      running.set(j.id, j.model);
      peak = Math.max(peak, running.size);
    } else running.delete(j.id);
  });
  const reqs = await Promise.all([1, 2, 3, 4, 5].map(() => approvedRequest()));
  const jobs = await Promise.all(reqs.map((r, k) => fake.submit(runner, r.id, body(r.forgetFile, k % 2 ? {} : { model: 'model-b' }))));
  const end = Date.now() + 60_000;
  while ((await Promise.all(jobs.map((j) => getJob(w, runner, j.id)))).some((j) => j.state !== 'succeeded')) {
    assert.ok(Date.now() < end, 'the fake jobs finish');
    await new Promise((r) => setTimeout(r, 50));
  }
  await fake.stop();
  assert.deepEqual(problems, []);
  assert.equal(peak, 2, 'two models: two at once, no more');
});

test('a job cancelled while verifying, or whose worker dies, leaves no per-item outputs: deleted and audited by the runner', async () => {
  const slow = new JobRunner(w, { dataDir: w.dataDir, workerPath: fileURLToPath(new URL('./slow-worker.js', import.meta.url)) });
  try {
    for (const end of ['cancel', 'kill'] as const) {
      const r = await approvedRequest();
      const job = await slow.submit(runner, r.id, body(r.forgetFile));
      const until = Date.now() + 30_000;
      let row = await getJob(w, runner, job.id);
      while (!(row.state === 'running' && row.progress.phase === 'verifying')) {
        assert.ok(Date.now() < until, `the job runs: ${row.state}`);
        await new Promise((res) => setTimeout(res, 50));
        row = await getJob(w, runner, job.id);
      }
      for (const to of ['unlearning', 'verifying'] as const) await advanceRequest(w, runner, r.id, to, { reason: `simulated ${to}` });
      // What a verifying worker has written: the per-item outputs, naming the subject.
      const priv = join(w.dataDir, 'jobs', job.id, 'private');
      mkdirSync(join(priv, 'eval-original'), { recursive: true });
      writeFileSync(
        join(priv, 'eval-original', 'EVAL.json'),
        JSON.stringify({ forget_Q_A_ROUGE: { value_by_index: { 0: { input: `Where does ${SUBJECT} live?` } } } }),
      );
      if (end === 'cancel') await slow.cancel(runner, job.id);
      else {
        const pid = (await w.store.db.selectFrom('jobs').select('worker_pid').where('id', '=', job.id).executeTakeFirstOrThrow())
          .worker_pid!;
        process.kill(Number(pid), 'SIGKILL');
        while (!['failed', 'cancelled'].includes((await getJob(w, runner, job.id)).state)) await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal((await getJob(w, runner, job.id)).state, end === 'cancel' ? 'cancelled' : 'failed');
      assert.equal((await getRequest(w, runner, r.id)).state, 'failed');
      assert.equal(existsSync(priv), false, `${end}: the per-item outputs are deleted`);
      const deleted = [];
      for await (const e of auditEntries(w.store.db))
        if (e.requestId === r.id && e.action === 'request.run_outputs_deleted') deleted.push(e.details);
      assert.equal(deleted.length, 1, end);
      assert.equal(deleted[0]!.files, 1);
    }
  } finally {
    await slow.stop();
  }
});

test('closing the server ends open event streams (they never go idle, so close() would wait for them)', async () => {
  const r = await approvedRequest();
  const job = await createJob(w, runner, r.id, body(r.forgetFile), { dataDir: w.dataDir }); // queued, in no runner's queue
  const other = await buildServer(w, { jobs: new JobRunner(w, { dataDir: w.dataDir }) });
  await other.listen({ port: 0, host: '127.0.0.1' });
  const { port } = other.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${tok.carol}` } });
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /^event: state\ndata: \{"id":"job_/);
  const closed = await Promise.race([other.close().then(() => 'closed'), new Promise((res) => setTimeout(() => res('timed out'), 10_000))]);
  assert.equal(closed, 'closed');
  assert.equal((await reader.read()).done, true, 'the stream ended');
  await w.store.db.updateTable('jobs').set({ state: 'cancelled' }).where('id', '=', job.id).execute();
});

test("a crash between the release and the forget file's deletion: the restarted runner deletes it, audits it, and marks the job succeeded", async () => {
  const r = await approvedRequest();
  const job = await createJob(w, runner, r.id, body(r.forgetFile), { dataDir: w.dataDir });
  for (const to of ['unlearning', 'verifying', 'released'] as const)
    await advanceRequest(w, runner, r.id, to, { reason: `simulated ${to}` });
  await w.store.db.updateTable('jobs').set({ state: 'running' }).where('id', '=', job.id).execute();
  assert.ok(existsSync(join(w.dataDir, r.forgetFile)));
  // The worker had written per-item outputs (they name the subject) before the crash.
  const priv = join(w.dataDir, 'jobs', job.id, 'private', 'eval');
  mkdirSync(priv, { recursive: true });
  writeFileSync(
    join(priv, 'EVAL.json'),
    JSON.stringify({ forget_Q_A_ROUGE: { value_by_index: { 0: { input: `Where does ${SUBJECT} live?` } } } }),
  );
  const restarted = new JobRunner(w, { dataDir: w.dataDir, workerPath: fileURLToPath(new URL('./fake-worker.js', import.meta.url)) });
  await restarted.start();
  try {
    const end = Date.now() + 30_000;
    while ((await getJob(w, runner, job.id)).state !== 'succeeded') {
      assert.ok(Date.now() < end, 'the job is marked succeeded');
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await restarted.stop();
  }
  assert.equal(existsSync(join(w.dataDir, r.forgetFile)), false, 'the forget file is deleted');
  const actions = [];
  for await (const e of auditEntries(w.store.db)) if (e.requestId === r.id) actions.push(e.action);
  assert.deepEqual(actions.slice(-4), ['request.released', 'job.resumed', 'request.forget_data_deleted', 'request.run_outputs_deleted']);
  assert.equal(existsSync(join(w.dataDir, 'jobs', job.id, 'private')), false, 'and the per-item outputs');
  assert.deepEqual((await verifyAudit(w)).problems, []);
});

test("a crash between the release and the provenance purge (no forget file recorded): the restarted runner purges the subject's records", async () => {
  const v = await freshWorkflow('sqlite');
  try {
    setup(v.dataDir);
    const corpus = join(v.dataDir, 'corpus.jsonl');
    writeFileSync(
      corpus,
      [`${SUBJECT} lives in Lyon and bakes bread.`, 'Bo Lind flies planes from Oslo.'].map((text) => JSON.stringify({ text })).join('\n') +
        '\n',
    );
    const idx = await buildIndex({ data: [corpus], dataDir: v.dataDir });
    await proposeForgetSet(idx.path, { name: SUBJECT }, { outDir: join(v.dataDir, 'proposal') });
    const proposal = readProposal(join(v.dataDir, 'proposal'));
    const r = await createRequest(v, alice, createBody());
    await scopeRequest(v, alice, r.id, { model: 'model', method: 'GradAscent', forget: proposal.files.forget, proposal });
    await approveRequest(v, bob, r.id, { reason: 'ok' });
    const job = await createJob(
      v,
      runner,
      r.id,
      { model: 'model', forgetFile: 'proposal/forget.jsonl', method: 'GradAscent', policy: LENIENT, training: { steps: 3 } },
      { dataDir: v.dataDir },
    );
    for (const to of ['unlearning', 'verifying', 'released'] as const)
      await advanceRequest(v, runner, r.id, to, { reason: `simulated ${to}` });
    await v.store.db.updateTable('jobs').set({ state: 'running' }).where('id', '=', job.id).execute();
    assert.ok(readFileSync(idx.path).toString('latin1').includes(SUBJECT), 'the index holds the subject before');
    const restarted = new JobRunner(v, { dataDir: v.dataDir, workerPath: fileURLToPath(new URL('./fake-worker.js', import.meta.url)) });
    await restarted.start();
    try {
      const end = Date.now() + 30_000;
      while ((await getJob(v, runner, job.id)).state !== 'succeeded') {
        assert.ok(Date.now() < end, 'the job is marked succeeded');
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      await restarted.stop();
    }
    noSubject('provenance.db', readFileSync(idx.path).toString('latin1'));
    const actions = [];
    for await (const e of auditEntries(v.store.db)) if (e.requestId === r.id) actions.push(e.action);
    assert.deepEqual(actions.slice(-2), ['job.resumed', 'request.provenance_purged']);
    assert.deepEqual((await verifyAudit(v)).problems, []);
  } finally {
    await v.dispose();
  }
});

for (const kind of STORE_KINDS) {
  const opts = storeOptions(kind);
  test(`job records on ${kind}: created queued with an audited submission, listed, one active per request`, opts, async () => {
    const v = await freshWorkflow(kind);
    try {
      const local = setup(v.dataDir);
      const id = await approved(v, local.forgetFile);
      const paths = { dataDir: v.dataDir };
      const job = await createJob(
        v,
        runner,
        id,
        { model: 'model', forgetFile: 'forget.jsonl', method: 'GradAscent', policy: LENIENT, training: { steps: 3 } },
        paths,
      );
      assert.equal(job.state, 'queued');
      assert.deepEqual(job.progress, { phase: 'queued', step: null, totalSteps: null, loss: null, resumedFrom: null });
      assert.deepEqual(await getJob(v, runner, job.id), job);
      assert.deepEqual(
        (await listJobs(v, runner, { state: 'queued' })).map((j) => j.id),
        [job.id],
      );
      assert.deepEqual(await listJobs(v, runner, { state: 'running' }), []);
      await assert.rejects(
        createJob(v, runner, id, { model: 'model', forgetFile: 'forget.jsonl', method: 'GradAscent', policy: LENIENT }, paths),
        /is already queued/,
      );
      const submit = [];
      for await (const e of auditEntries(v.store.db)) if (e.action === 'job.submit') submit.push(e.details);
      const { jobRowDigest } = await import('../../src/workflow/audit-rows.js');
      const row = jobRowDigest(await v.store.db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow());
      assert.deepEqual(submit, [{ job: job.id, method: 'GradAscent', policy: 'lenient', checks: 2, training: { steps: 3 }, row }]);
      await assert.rejects(getJob(v, runner, 'job_000000000000'), /no such job/);
      // Another root is allowed when named; a symlink out of the data folder is not
      const outside = setup();
      const withRoot = { dataDir: v.dataDir, roots: [outside.dir] };
      assert.equal(resolveInputPath('retainFile', outside.retainFile, withRoot), realpathSync(outside.retainFile));
      assert.throws(() => resolveInputPath('retainFile', outside.retainFile, paths), /'retainFile' must be a path inside the data folder/);
      symlinkSync(outside.retainFile, join(v.dataDir, 'link.jsonl'));
      assert.throws(
        () => resolveInputPath('retainFile', 'link.jsonl', paths),
        (e: Error) => e instanceof LetheError && e.field === 'retainFile',
      );
      rmSync(outside.dir, { recursive: true, force: true });
    } finally {
      await v.dispose();
    }
  });
}
