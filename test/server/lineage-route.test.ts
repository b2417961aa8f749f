// GET /v1/models/:name/lineage: the same view as `lethe lineage NAME --json` (ancestors, descendants,
// how each was made, data hashes; forget data without a path), looked up by name only — a path given
// as the name is not probed on the server's disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { createToken } from '../../src/workflow/index.js';
import { registerModel } from '../../src/workflow/lineage.js';
import { freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { runner } from '../workflow/fixtures.js';

let w: TestWorkflow;
let app: FastifyInstance;
let token: string;
let dir: string;

function folder(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama', name }));
  return d;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lethe-lineage-route-'));
  w = await freshWorkflow('sqlite', { roots: [dir] });
  app = await buildServer(w);
  token = (await createToken(w, { role: 'auditor', name: 'carol' })).token;
  const train = join(dir, 'corpus.jsonl');
  const forget = join(dir, 'forget-someone.jsonl');
  writeFileSync(train, '{"text":"a"}\n');
  writeFileSync(forget, '{"text":"b"}\n');
  await registerModel(w, runner, { name: 'base', modelDir: folder('base'), how: 'base' });
  await registerModel(w, runner, { name: 'tuned', modelDir: folder('tuned'), how: 'finetune', parents: ['base'], data: [{ path: train }] });
  await registerModel(w, runner, {
    name: 'unlearned',
    modelDir: folder('unlearned'),
    how: 'unlearning',
    parents: ['tuned'],
    data: [{ path: forget, role: 'forget' }],
  });
});
after(async () => {
  await app?.close();
  await w?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

test('a model in the middle: its ancestors and descendants, how each was made, forget data by hash only', async () => {
  const r = await get('/v1/models/tuned/lineage');
  assert.equal(r.statusCode, 200, r.body);
  const v = r.json();
  assert.equal(v.model.name, 'tuned');
  assert.equal(v.model.how, 'finetune');
  assert.deepEqual(v.model.parents, ['base']);
  assert.deepEqual(
    v.ancestors.map((m: { name: string }) => m.name),
    ['base'],
  );
  assert.deepEqual(
    v.descendants.map((m: { name: string; how: string }) => [m.name, m.how]),
    [['unlearned', 'unlearning']],
  );
  const [forgetData] = v.descendants[0].data;
  assert.equal(forgetData.role, 'forget');
  assert.equal(forgetData.path, null);
  assert.match(forgetData.sha256, /^[0-9a-f]{64}$/);
  assert.doesNotMatch(r.body, /forget-someone/);
});

test('an unknown name is 404; a folder path given as the name is not looked up on disk', async () => {
  const unknown = await get('/v1/models/nobody/lineage');
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().message ?? unknown.body, /'nobody' is not a registered model name/);
  const byPath = await get(`/v1/models/${encodeURIComponent(join(dir, 'tuned'))}/lineage`);
  assert.equal(byPath.statusCode, 404, byPath.body);
});
