// The HTTP API through fastify's inject (no port): every route refuses a missing or unknown token
// and the wrong role; malformed bodies get a 400 naming the field; LetheError codes map to statuses;
// OpenAPI lists every route; the body and rate limits hold.
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { createToken } from '../../src/workflow/index.js';
import { freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { createBody, scopeBody, SUBJECT } from '../workflow/fixtures.js';

let w: TestWorkflow;
let app: FastifyInstance;
const tok: Record<string, string> = {};

before(async () => {
  w = await freshWorkflow('sqlite');
  app = await buildServer(w);
  for (const [name, role] of [
    ['alice', 'requester'],
    ['bob', 'approver'],
    ['carol', 'auditor'],
    ['root', 'admin'],
    ['rita', 'requester'],
  ] as const) {
    tok[name] = (await createToken(w, { role, name })).token;
  }
});
after(async () => {
  await app?.close();
  await w?.dispose();
});

const call = (method: 'GET' | 'POST', url: string, who?: string, body?: unknown) =>
  app.inject({
    method,
    url,
    headers: {
      ...(who ? { authorization: `Bearer ${tok[who] ?? who}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });

const NO_JOB = 'job_000000000000';
const runBody = { model: 'model', forgetFile: 'forget.jsonl', method: 'GradAscent', policy: 'lenient' };

async function newRequest(): Promise<string> {
  const r = await call('POST', '/v1/requests', 'alice', createBody());
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id;
}

describe('authentication and roles on every route', () => {
  // [method, url, body, a role that may, a role that may not]
  const routes = (id: string): [string, 'GET' | 'POST', string, unknown, string, string][] => [
    ['create', 'POST', '/v1/requests', createBody(), 'alice', 'bob'],
    ['list', 'GET', '/v1/requests', undefined, 'carol', ''],
    ['status', 'GET', `/v1/requests/${id}`, undefined, 'bob', ''],
    ['scope', 'POST', `/v1/requests/${id}/scope`, scopeBody(), 'alice', 'carol'],
    ['approve', 'POST', `/v1/requests/${id}/approve`, { reason: 'ok' }, 'bob', 'alice'],
    ['reject', 'POST', `/v1/requests/${id}/reject`, { reason: 'no' }, 'root', 'carol'],
    ['audit verify', 'GET', '/v1/audit/verify', undefined, 'carol', 'alice'],
    ['transparency', 'GET', '/v1/reports/transparency', undefined, 'rita', ''],
    ['run', 'POST', `/v1/requests/${id}/run`, runBody, 'root', 'bob'],
    ['jobs', 'GET', '/v1/jobs', undefined, 'carol', ''],
    ['job', 'GET', `/v1/jobs/${NO_JOB}`, undefined, 'alice', ''],
    ['job events', 'GET', `/v1/jobs/${NO_JOB}/events`, undefined, 'bob', ''],
    ['cancel', 'POST', `/v1/jobs/${NO_JOB}/cancel`, undefined, 'root', 'bob'],
    ['releases', 'GET', '/v1/releases', undefined, 'carol', ''],
    ['lineage', 'GET', '/v1/models/tiny/lineage', undefined, 'bob', ''],
    ['certificate', 'GET', '/v1/releases/tiny/1/certificate', undefined, 'alice', ''],
    ['certificate html', 'GET', '/v1/releases/tiny/1/certificate.html', undefined, 'bob', ''],
  ];

  test('no token → 401, an unknown or malformed token → 401, the wrong role → 403, before the body is read', async () => {
    const id = await newRequest();
    for (const [name, method, url, body, , wrong] of routes(id)) {
      const none = await call(method, url, undefined, body);
      assert.equal(none.statusCode, 401, `${name} without a token`);
      assert.equal(none.json().error, 'UNAUTHORIZED');
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      const forged = 'lethe_00000000_' + 'A'.repeat(43);
      for (const bad of [forged, 'garbage'])
        assert.equal((await call(method, url, bad, body)).statusCode, 401, `${name} with '${bad.slice(0, 10)}…'`);
      if (wrong) {
        const r = await call(method, url, wrong, body === undefined ? undefined : { malformed: true });
        assert.equal(r.statusCode, 403, `${name} as ${wrong}: ${r.body}`);
        assert.equal(r.json().error, 'FORBIDDEN');
      }
    }
  });

  test('the right role gets through each route', async () => {
    const id = await newRequest();
    // Past authentication and the role check: a received request cannot run (409), no such job or release (404).
    const expected: Record<string, number> = {
      create: 201,
      scope: 200,
      approve: 200,
      reject: 200,
      run: 409,
      job: 404,
      'job events': 404,
      cancel: 404,
      certificate: 404,
      'certificate html': 404,
      lineage: 404,
    };
    for (const [name, method, url, body, right] of routes(id)) {
      const r = await call(method, url, right, body);
      assert.equal(r.statusCode, expected[name] ?? 200, `${name} as ${right}: ${r.body}`);
    }
  });
});

describe('validation names the field', () => {
  const bad = async (url: string, body: unknown, field: string, re: RegExp, status = 400) => {
    const r = await call('POST', url, 'root', body);
    assert.equal(r.statusCode, status, `${JSON.stringify(body)} → ${r.body}`);
    const j = r.json();
    assert.equal(j.error, 'BAD_INPUT');
    if (field) assert.equal(j.field, field, j.message);
    assert.match(j.message, re);
    return j;
  };

  test('create: missing, mistyped, unknown, nested and out-of-range fields', async () => {
    const { category: _, ...noCategory } = createBody();
    await bad('/v1/requests', noCategory, 'category', /body: 'category' is required/);
    await bad('/v1/requests', createBody({ category: 'curiosity' }), 'category', /'category' must be equal to one of the allowed values/);
    await bad('/v1/requests', createBody({ subject: 42 }), 'subject', /'subject' must be string/);
    await bad('/v1/requests', createBody({ colour: 'red' }), 'colour', /'colour' is not a known field/);
    await bad('/v1/requests', createBody({ evidence: {} }), 'evidence.reference', /'evidence.reference' is required/);
    await bad(
      '/v1/requests',
      createBody({ evidence: { reference: 'x', sha256: 'z' } }),
      'evidence.sha256',
      /'evidence.sha256' must match pattern/,
    );
    const long = await bad(
      '/v1/requests',
      createBody({ subject: SUBJECT.repeat(30) }),
      'subject',
      /'subject' must NOT have more than 512 characters/,
    );
    assert.ok(!JSON.stringify(long).includes('Quillfeather'), 'the subject is not echoed');
    await bad('/v1/requests', '{"category": ', '', /body: .*JSON/i);
    await bad('/v1/requests', [1, 2], '', /body: .*must be object/);
  });

  test('scope, approve, reject; ids; the body limit', async () => {
    const id = await newRequest();
    await bad(
      `/v1/requests/${id}/scope`,
      scopeBody({ forget: { sha256: 'b'.repeat(64), rows: '12' } }),
      'forget.rows',
      /'forget.rows' must be integer/,
    );
    await bad(`/v1/requests/${id}/scope`, scopeBody({ forget: { sha256: 'b'.repeat(64), rows: 0 } }), 'forget.rows', /must be >= 1/);
    await bad(`/v1/requests/${id}/reject`, {}, 'reason', /'reason' is required/);
    await bad(`/v1/requests/${id}/reject`, { reason: '   ' }, 'reason', /request reject: 'reason' must be a non-empty string/);
    await bad('/v1/requests/req_nothex/approve', { reason: 'ok' }, 'id', /params: 'id' must match pattern/);
    const big = await call('POST', '/v1/requests', 'alice', createBody({ evidence: { reference: 'x'.repeat(70_000) } }));
    assert.equal(big.statusCode, 413);
    assert.match(big.json().message, /larger than the 65536 bytes allowed/);
  });
});

describe('the workflow over HTTP', () => {
  test('create → scope → approve (four-eyes) → status; conflicts 409, unknown ids 404; report and audit', async () => {
    const id = await newRequest();
    assert.equal((await call('POST', `/v1/requests/${id}/scope`, 'alice', scopeBody())).json().state, 'scoped');
    const self = await call('POST', `/v1/requests/${id}/approve`, 'root', { reason: 'ok' });
    assert.equal(self.statusCode, 200, 'root is another person: allowed');
    const id2 = await newRequest();
    await call('POST', `/v1/requests/${id2}/scope`, 'rita', scopeBody());
    const four = await call('POST', `/v1/requests/${id2}/approve`, 'bob', { reason: 'ok' });
    assert.equal(four.statusCode, 200);
    const id3 = await newRequest();
    const adminOwn = await call('POST', '/v1/requests', 'root', createBody());
    await call('POST', `/v1/requests/${adminOwn.json().id}/scope`, 'alice', scopeBody());
    const denied = await call('POST', `/v1/requests/${adminOwn.json().id}/approve`, 'root', { reason: 'mine' });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /'root' requested it and cannot also approve it/);
    const conflict = await call('POST', `/v1/requests/${id3}/approve`, 'bob', { reason: 'ok' });
    assert.equal(conflict.statusCode, 409);
    assert.match(conflict.json().message, /cannot move from 'received' to 'approved'/);
    const missing = await call('GET', '/v1/requests/req_000000000000', 'bob');
    assert.equal(missing.statusCode, 404);
    assert.equal((await call('GET', '/v1/nothing', 'bob')).statusCode, 404);
    const status = (await call('GET', `/v1/requests/${id}`, 'carol')).json();
    assert.deepEqual(
      status.history.map((t: { to: string; actor: string }) => `${t.to}:${t.actor}`),
      ['received:alice', 'scoped:alice', 'approved:root'],
    );
    const rep = (await call('GET', '/v1/reports/transparency', 'carol')).json();
    assert.ok(rep.total >= 4 && rep.byCategory.privacy.approved >= 2, JSON.stringify(rep));
    assert.ok(!JSON.stringify(rep).includes('alice'));
    const v = (await call('GET', '/v1/audit/verify', 'carol')).json();
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    const anchored = await call('GET', `/v1/audit/verify?count=${v.head.count}&hash=${v.head.hash}`, 'carol');
    assert.equal(anchored.json().ok, true);
    const wrongAnchor = await call('GET', `/v1/audit/verify?count=1&hash=${'0'.repeat(64)}`, 'carol');
    assert.equal(wrongAnchor.json().ok, false);
  });

  test('OpenAPI at /openapi.json lists every /v1 route with bearer security and the body schemas', async () => {
    const r = await call('GET', '/openapi.json');
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/v1/audit/verify',
      '/v1/jobs',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/cancel',
      '/v1/jobs/{id}/events',
      '/v1/me',
      '/v1/models/{name}/lineage',
      '/v1/releases',
      '/v1/releases/{name}/{version}/certificate',
      '/v1/releases/{name}/{version}/certificate.html',
      '/v1/reports/transparency',
      '/v1/reports/transparency/public',
      '/v1/requests',
      '/v1/requests/{id}',
      '/v1/requests/{id}/approve',
      '/v1/requests/{id}/reject',
      '/v1/requests/{id}/run',
      '/v1/requests/{id}/scope',
    ]);
    const run = doc.paths['/v1/requests/{id}/run'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(run.required, ['model', 'forgetFile', 'method', 'policy']);
    assert.deepEqual(Object.keys(run.properties.training.properties), ['steps', 'epochs', 'lr', 'checkpointEvery']);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
    const create = doc.paths['/v1/requests'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(create.properties.category.enum, ['privacy', 'copyright', 'safety', 'bias']);
    assert.deepEqual(create.required, ['category', 'subject', 'evidence']);
  });
});

test('the rate limit answers 429 with Retry-After past its budget', async () => {
  const small = await buildServer(w, { rateLimit: { max: 3, windowMs: 60_000 } });
  try {
    const codes = [];
    for (let i = 0; i < 5; i++)
      codes.push(
        (await small.inject({ method: 'GET', url: '/v1/reports/transparency', headers: { authorization: `Bearer ${tok.carol}` } }))
          .statusCode,
      );
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const other = await small.inject({ method: 'GET', url: '/v1/reports/transparency', headers: { authorization: `Bearer ${tok.bob}` } });
    assert.equal(other.statusCode, 200, 'another caller has its own budget');
  } finally {
    await small.close();
  }
});

const randomToken = (id = randomBytes(4).toString('hex')) => `lethe_${id}_${randomBytes(32).toString('base64url')}`;
const transparency = (app: FastifyInstance, token: string, remoteAddress = '10.0.0.1') =>
  app.inject({ method: 'GET', url: '/v1/reports/transparency', remoteAddress, headers: { authorization: `Bearer ${token}` } });

test("the rate limit is keyed by the verified caller: made-up token ids share their address's stricter budget", async () => {
  const small = await buildServer(w, { rateLimit: { max: 5, anonymousMax: 3, windowMs: 60_000 } });
  try {
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await transparency(small, randomToken())).statusCode);
    assert.deepEqual(codes, [401, 401, 401, 429, 429, 429], 'a fresh random id each time is no fresh budget');
    assert.equal((await transparency(small, randomToken(), '10.0.0.2')).statusCode, 401, 'another address has its own');
    assert.equal(
      (await transparency(small, tok.carol!)).statusCode,
      200,
      'a valid token from the limited address is counted as its person',
    );
  } finally {
    await small.close();
  }
});

test("a forged token with someone's id does not spend their budget; one person's tokens share one", async () => {
  const small = await buildServer(w, { rateLimit: { max: 3, anonymousMax: 3, windowMs: 60_000 } });
  try {
    const bobId = /^lethe_([0-9a-f]{8})_/.exec(tok.bob!)![1]!;
    for (let i = 0; i < 10; i++) await transparency(small, randomToken(bobId), `10.1.0.${i}`);
    assert.equal((await transparency(small, tok.bob!)).statusCode, 200, 'bob is not locked out by forgeries of his id');
    const second = (await createToken(w, { role: 'approver', name: 'bob' })).token;
    const codes = [];
    for (const t of [tok.bob!, second, second, tok.bob!]) codes.push((await transparency(small, t)).statusCode);
    assert.deepEqual(codes, [200, 200, 429, 429], "bob's second token does not double his budget");
  } finally {
    await small.close();
  }
});

test("a person's own budget (--rate-limit-for) is theirs only: not another person's, not a made-up token bearing their id", async () => {
  const small = await buildServer(w, { rateLimit: { max: 2, anonymousMax: 2, perPerson: { Carol: 5 }, windowMs: 60_000 } });
  try {
    const codes = async (token: string, n: number, address?: string) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push((await transparency(small, token, address)).statusCode);
      return out;
    };
    assert.deepEqual(await codes(tok.carol!, 6), [200, 200, 200, 200, 200, 429], "carol's own 5, her name compared as one person");
    assert.deepEqual(await codes(tok.bob!, 3), [200, 200, 429], 'bob keeps the default 2');
    const carolId = /^lethe_([0-9a-f]{8})_/.exec(tok.carol!)![1]!;
    assert.deepEqual(await codes(randomToken(carolId), 3, '10.3.0.1'), [401, 401, 429], "a forgery of carol's id gets the address's 2");
  } finally {
    await small.close();
  }
});

test('the rate limit remembers a bounded number of callers, however many send requests', async () => {
  const small = await buildServer(w, { rateLimit: { max: 100, windowMs: 60_000, maxKeys: 50 } });
  try {
    for (let i = 0; i < 2000; i++) await transparency(small, randomToken(), `10.2.${i >> 8}.${i & 255}`);
    assert.equal(small.rateLimiter.addresses.size, 50);
    assert.ok(small.rateLimiter.people.size <= 50);
  } finally {
    await small.close();
  }
});
