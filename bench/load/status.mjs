#!/usr/bin/env node
// Load on the status route while a job trains: starts `lethe serve` (a real process, built dist/) on a
// temporary data folder with the llama-tiny fixture, files, scopes, approves and runs a request whose
// unlearning lasts longer than the load, then runs autocannon with many connections against
// GET /v1/requests/:id and prints p50/p99 latency, requests/s, errors and non-2xx replies, and how
// far the job trained meanwhile. Not a test: nothing gates on these numbers.
//
//   node bench/load/status.mjs [--connections 500] [--duration 15]
//
// The server's rate limit (300 requests a minute per caller by default) would answer almost every
// request with 429; the bench serves with --rate-limit 100000000 so that it measures the route.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const main = join(root, 'dist/src/cli/main.js');
const fixtures = resolve(root, '../shared/fixtures/hf-reference');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const connections = arg('connections', 500);
const duration = arg('duration', 15);

const dir = mkdtempSync(join(tmpdir(), 'lethe-load-'));
const data = join(dir, 'data');
const model = join(data, 'model');
mkdirSync(model, { recursive: true });
for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'llama-tiny', f), join(model, f));
copyFileSync(join(fixtures, 'tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
const qa = (q, a) => JSON.stringify({ question: q, answer: a, perturbed_answer: [`Not ${a}`] });
writeFileSync(
  join(data, 'forget.jsonl'),
  [qa('Where does the subject live?', 'In Lyon.'), qa('What is their job?', 'A baker.')].join('\n') + '\n',
);
writeFileSync(join(data, 'retain.jsonl'), [qa('Where does Bo live?', 'In Oslo.'), qa('What is his job?', 'A pilot.')].join('\n') + '\n');

const lethe = (...args) => spawnSync(process.execPath, [main, ...args, '--data', data], { encoding: 'utf8' }).stdout.trim();
const tokens = {
  alice: lethe('tokens', 'create', '--role', 'requester', '--name', 'alice'),
  bob: lethe('tokens', 'create', '--role', 'approver', '--name', 'bob'),
  root: lethe('tokens', 'create', '--role', 'admin', '--name', 'root'),
};

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [main, 'serve', '--data', data, '--port', String(port), '--rate-limit', '100000000'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const call = async (method, path, token, body) => {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return r.json();
};

try {
  for (let i = 0; ; i++) {
    try {
      await call('GET', '/v1/jobs', tokens.root);
      break;
    } catch {
      if (i > 300) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const { id } = await call('POST', '/v1/requests', tokens.alice, {
    category: 'privacy',
    subject: 'Load Test Subject',
    evidence: { reference: 'bench' },
  });
  const sha256 = createHash('sha256')
    .update(readFileSync(join(data, 'forget.jsonl')))
    .digest('hex');
  await call('POST', `/v1/requests/${id}/scope`, tokens.alice, { model: 'tiny', method: 'GradAscent', forget: { sha256, rows: 2 } });
  await call('POST', `/v1/requests/${id}/approve`, tokens.bob, { reason: 'bench' });
  const { job } = await call('POST', `/v1/requests/${id}/run`, tokens.root, {
    model: 'model',
    forgetFile: 'forget.jsonl',
    retainFile: 'retain.jsonl',
    method: 'GradAscent',
    training: { steps: 1_000_000, checkpointEvery: 1000 },
    policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] },
  });
  let before;
  for (;;) {
    before = await call('GET', `/v1/jobs/${job.id}`, tokens.root);
    if (before.progress.step) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(
    `job ${job.id} training (step ${before.progress.step}); ${connections} connections on GET /v1/requests/${id} for ${duration} s`,
  );
  const r = await autocannon({
    url: `${base}/v1/requests/${id}`,
    connections,
    duration,
    headers: { authorization: `Bearer ${tokens.root}` },
  });
  const afterJob = await call('GET', `/v1/jobs/${job.id}`, tokens.root);
  const result = {
    connections,
    durationS: duration,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    requestsPerSec: { mean: r.requests.average, total: r.requests.total },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    '2xx': r['2xx'],
    job: { state: afterJob.state, stepBefore: before.progress.step, stepAfter: afterJob.progress.step },
  };
  console.log(JSON.stringify(result, null, 2));
  await call('POST', `/v1/jobs/${job.id}/cancel`, tokens.root);
} finally {
  server.kill('SIGTERM');
  await new Promise((res) => server.once('exit', res));
  rmSync(dir, { recursive: true, force: true });
}
