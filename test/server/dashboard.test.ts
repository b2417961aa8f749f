// The dashboard's routes through fastify's inject: the page, style sheet and compiled scripts are
// public and served from this process with a strict Content-Security-Policy; GET /v1/me names the
// token's person and role; the transparency report is public — counts only, never the subject.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { createRequest, createToken, hashSubject } from '../../src/workflow/index.js';
import { freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { alice, createBody, SUBJECT } from '../workflow/fixtures.js';

let w: TestWorkflow;
let app: FastifyInstance;
let token: string;

before(async () => {
  w = await freshWorkflow('sqlite');
  app = await buildServer(w);
  token = (await createToken(w, { role: 'approver', name: 'bob' })).token;
  await createRequest(w, alice, createBody());
  await createRequest(w, alice, createBody({ category: 'copyright' }));
});
after(async () => {
  await app?.close();
  await w?.dispose();
});

const get = (url: string, auth?: string) => app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${auth}` } : {} });

test('/ and /dashboard redirect to /dashboard/; the page links only to this server', async () => {
  for (const url of ['/', '/dashboard']) {
    const r = await get(url);
    assert.equal(r.statusCode, 302, url);
    assert.equal(r.headers.location, '/dashboard/');
  }
  const page = await get('/dashboard/');
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self';/);
  assert.equal(page.headers['cache-control'], 'no-store');
  // Every src/href is a path on this server (or the empty data: icon): nothing from a CDN.
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 4, refs.join(' '));
  for (const ref of refs) assert.match(ref, /^(\/|#|data:,$)/, `external reference ${ref}`);
  // The categories and states come from the workflow.
  for (const c of ['privacy', 'copyright', 'safety', 'bias']) assert.ok(page.body.includes(`<option value="${c}">`), c);
  assert.ok(page.body.includes('<option value="verifying">verifying</option>'));
});

test('the compiled scripts and the style sheet are served; other names are 404', async () => {
  const main = await get('/dashboard/js/main.js');
  assert.equal(main.statusCode, 200);
  assert.match(String(main.headers['content-type']), /^text\/javascript/);
  assert.match(main.body, /from '\.\/api\.js'/);
  assert.doesNotMatch(main.body, /sourceMappingURL/);
  for (const name of ['api.js', 'requests.js', 'jobs.js', 'releases.js'])
    assert.equal((await get(`/dashboard/js/${name}`)).statusCode, 200, name);
  for (const bad of ['main.d.ts', 'main.js.map', '..%2Fpage.js', 'nothing.js'])
    assert.equal((await get(`/dashboard/js/${bad}`)).statusCode, 404, bad);
  const css = await get('/dashboard/style.css');
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
});

test('GET /v1/me: the name and role behind a token; 401 without one', async () => {
  const me = await get('/v1/me', token);
  assert.equal(me.statusCode, 200);
  assert.deepEqual(me.json(), { name: 'bob', role: 'approver' });
  assert.equal((await get('/v1/me')).statusCode, 401);
});

test('the transparency report is public: counts by category and outcome, no subject, no people', async () => {
  const json = await get('/v1/reports/transparency/public');
  assert.equal(json.statusCode, 200);
  const r = json.json();
  assert.equal(r.total, 2);
  assert.equal(r.byCategory.privacy.received, 1);
  assert.equal(r.byCategory.copyright.received, 1);
  assert.equal(r.byState.received, 2);
  const page = await get('/transparency');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /2 requests received: <span id="released">0<\/span> released/);
  assert.match(page.body, /<tr data-category="privacy"><td>privacy: the right to erasure \(GDPR Art\. 17\)<\/td><td class="num">1<\/td>/);
  assert.match(page.body, /Who decides, and who is accountable/);
  assert.doesNotMatch(page.body, /<script/);
  for (const body of [json.body, page.body]) {
    for (const secret of ['Quillfeather', hashSubject(w.deployment.salt, SUBJECT), 'alice', 'DPO-2025'])
      assert.ok(!body.includes(secret), `public report shows ${secret}`);
  }
  // In OpenAPI, with no security requirement.
  const doc = (await get('/openapi.json')).json();
  assert.deepEqual(doc.paths['/v1/reports/transparency/public'].get.security, []);
  assert.ok(doc.paths['/v1/me'].get);
});
