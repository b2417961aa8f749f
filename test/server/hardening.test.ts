// The server's hardening, each through the real server (fastify inject): the certificate page and
// every other response carry a strict CSP and nosniff; a release name of 500 characters is routed
// (find-my-way's default limit of 100 gave a 414); a body nested 20,000 deep is a 400 naming the field;
// a full store is reported as such (not as "cannot rollback"); a ?token= is not logged; the data
// folder is 0700 and the store's files (and keys) 0600.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { createJob, createToken, openWorkflow, type ReleaseCertificate } from '../../src/workflow/index.js';
import { freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { createBody, runner } from '../workflow/fixtures.js';
import { approved, setup } from '../workflow/run-fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

let w: TestWorkflow;
let app: FastifyInstance;
const logs: string[] = [];
const tok: Record<string, string> = {};

before(async () => {
  w = await freshWorkflow('sqlite');
  app = await buildServer(w, { logger: { stream: { write: (line: string) => void logs.push(line) } } });
  for (const [name, role] of [
    ['alice', 'requester'],
    ['root', 'admin'],
  ] as const)
    tok[name] = (await createToken(w, { role, name })).token;
});
after(async () => {
  await app?.close();
  await w?.dispose();
});

const get = (url: string, who = 'root') => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tok[who]}` } });

/** A release in the registry with a certificate file that matches its recorded sha256. */
async function release(name: string): Promise<void> {
  const dir = join(w.dataDir, 'released', createHash('sha256').update(name).digest('hex').slice(0, 12));
  mkdirSync(dir, { recursive: true });
  const cert: ReleaseCertificate = {
    kind: 'lethe-release-certificate',
    version: 1,
    request: { id: 'req_000000000001', category: 'privacy', state: 'released' },
    model: { name, version: 1, path: dir, contentSha256: 'a'.repeat(64), files: {}, originalContentSha256: 'b'.repeat(64) },
    unlearning: { method: 'GradAscent', args: {}, rows: { forget: 1, retain: 0 }, training: {}, seconds: 1 },
    data: { forgetSha256: ['c'.repeat(64)], retainSha256: null, forgetRows: 1 },
    policy: { name: null, passed: true, checks: [] },
    metrics: {},
    approvals: [],
    auditHead: null,
  } as unknown as ReleaseCertificate;
  const text = JSON.stringify({ ...cert, issuedAt: '2025-01-01T00:00:00.000Z', keyId: '0'.repeat(16) });
  writeFileSync(join(dir, 'certificate.json'), text);
  await w.store.db
    .insertInto('models')
    .values({
      name,
      version: 1,
      path: join(dir, 'model'),
      content_sha256: 'a'.repeat(64),
      files_json: '{}',
      request_id: null,
      certificate_sha256: createHash('sha256').update(text).digest('hex'),
      released_by: 'root',
      released_at: '2025-01-01T00:00:00.000Z',
    })
    .execute();
}

test('the certificate page has a strict CSP (its inline style only) and nosniff; so do JSON replies and errors', async () => {
  await release('assistant');
  const page = await get('/v1/releases/assistant/1/certificate.html');
  assert.equal(page.statusCode, 200, page.body);
  assert.match(page.body, /Release certificate/);
  assert.equal(
    page.headers['content-security-policy'],
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  for (const r of [await get('/v1/releases'), await get('/v1/nothing'), await app.inject({ method: 'GET', url: '/v1/requests' })]) {
    assert.equal(r.headers['x-content-type-options'], 'nosniff', `${r.statusCode} ${r.body}`);
    assert.match(String(r.headers['content-security-policy']), /^default-src 'none';.*frame-ancestors 'none'/);
  }
  const dash = await app.inject({ method: 'GET', url: '/dashboard/' });
  assert.match(String(dash.headers['content-security-policy']), /script-src 'self'/, 'the dashboard keeps its own policy');
});

test("a job's event stream (a hijacked reply, past the onSend hook) has the same headers", async () => {
  const s = setup(w.dataDir, 'forget-events.jsonl');
  const id = await approved(w, s.forgetFile);
  const job = await createJob(
    w,
    runner,
    id,
    {
      model: 'model',
      forgetFile: 'forget-events.jsonl',
      method: 'GradAscent',
      policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] },
    },
    { dataDir: w.dataDir },
  );
  await w.store.db.updateTable('jobs').set({ state: 'cancelled' }).where('id', '=', job.id).execute(); // final: the stream ends at once
  const r = await get(`/v1/jobs/${job.id}/events`);
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /^event: state\n/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.match(String(r.headers['content-security-policy']), /^default-src 'none'/);
});

test('release names up to the 500 characters the schema allows are routed (not a 414)', async () => {
  const name = `models/${'n'.repeat(493)}`;
  await release(name);
  const r = await get(`/v1/releases/${encodeURIComponent(name)}/1/certificate`);
  assert.equal(r.statusCode, 200, r.body.slice(0, 200));
  assert.equal(r.json().model.name, name);
  assert.equal((await get(`/v1/releases/${'x'.repeat(300)}/1/certificate`)).json().error, 'NOT_FOUND');
  const tooLong = await get(`/v1/releases/${'x'.repeat(501)}/1/certificate`);
  assert.equal(tooLong.statusCode, 400);
  assert.equal(tooLong.json().field, 'name');
});

test('a body nested 20,000 deep is a 400 naming the field, not a 500', async () => {
  const s = setup(w.dataDir);
  const id = await approved(w, s.forgetFile);
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);
  const body = `{"model":"model","forgetFile":"forget.jsonl","method":"GradAscent","policy":{"checks":${deep}}}`;
  const r = await app.inject({
    method: 'POST',
    url: `/v1/requests/${id}/run`,
    payload: body,
    headers: { authorization: `Bearer ${tok.root}`, 'content-type': 'application/json' },
  });
  assert.equal(r.statusCode, 400, r.body);
  assert.deepEqual(r.json(), { error: 'BAD_INPUT', message: "body: 'policy' is nested more than 32 levels deep", field: 'policy' });
  const fine = await app.inject({
    method: 'POST',
    url: '/v1/requests',
    payload: JSON.stringify(createBody()),
    headers: { authorization: `Bearer ${tok.alice}`, 'content-type': 'application/json' },
  });
  assert.equal(fine.statusCode, 201, 'ordinary bodies still parse');
});

test('a ?token= in a URL never reaches the log', async () => {
  logs.length = 0;
  await app.inject({ method: 'GET', url: `/v1/requests?token=${tok.alice}&access_token=s3cret` });
  await app.inject({ method: 'GET', url: `/v1/jobs/${tok.root}` });
  const text = logs.join('');
  assert.ok(text.includes('/v1/requests?token=[redacted]&access_token=[redacted]'), text);
  for (const t of [tok.alice!, tok.root!, 's3cret']) assert.ok(!text.includes(t), 'a token is in the log');
  assert.ok(!text.includes(tok.root!.slice(15)));
});

test('a full store is reported as a full disk (507), not masked by "cannot rollback"', async () => {
  const v = await freshWorkflow('sqlite');
  const lines: string[] = [];
  const full = await buildServer(v, { logger: { stream: { write: (line: string) => void lines.push(line) } } });
  try {
    const t = (await createToken(v, { role: 'requester', name: 'alice' })).token;
    const pages = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(v.store.db)).rows[0]!.page_count;
    await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(v.store.db);
    let r;
    for (let i = 0; i < 200; i++) {
      r = await full.inject({
        method: 'POST',
        url: '/v1/requests',
        payload: JSON.stringify(createBody({ evidence: { reference: `ticket ${i} ${'x'.repeat(150)}`, sha256: 'a'.repeat(64) } })),
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
      });
      if (r.statusCode !== 201) break;
    }
    assert.equal(r!.statusCode, 507, r!.body);
    assert.equal(r!.json().error, 'STORAGE_FULL');
    const log = lines.join('');
    assert.match(log, /out of space: the store or the data folder is full \(SQLITE_FULL\)/);
    assert.ok(!log.includes('cannot rollback'), log);
    await sql.raw('PRAGMA max_page_count = 1073741823').execute(v.store.db);
    const again = await full.inject({
      method: 'POST',
      url: '/v1/requests',
      payload: JSON.stringify(createBody()),
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
    });
    assert.equal(again.statusCode, 201, 'the store works on once there is space');
  } finally {
    await full.close();
    await v.dispose();
  }
});

test('a new data folder is 0700, the store files and keys 0600', async () => {
  await withTempDir('lethe-modes-', async (parent) => {
    const dataDir = join(parent, 'data');
    const v = await openWorkflow({ dataDir });
    await createToken(v, { role: 'admin', name: 'root' });
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'the data folder');
    const files = readdirSync(dataDir).filter((f) => f.startsWith('lethe.db'));
    assert.deepEqual(files.sort(), ['lethe.db', 'lethe.db-shm', 'lethe.db-wal']);
    for (const f of files) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    for (const f of readdirSync(join(dataDir, 'keys'))) assert.equal(statSync(join(dataDir, 'keys', f)).mode & 0o777, 0o600, `keys/${f}`);
    await v.close();
    // A store made by an older version (0644) is tightened when opened
    chmodSync(join(dataDir, 'lethe.db'), 0o644);
    const again = await openWorkflow({ dataDir });
    assert.equal(statSync(join(dataDir, 'lethe.db')).mode & 0o777, 0o600, 'tightened on open');
    await again.close();
  });
});
