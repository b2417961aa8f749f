// One server per data folder, with real processes: while `lethe serve` runs a job, a second
// `lethe serve` on the same data folder refuses to start, naming the first, and the first one's job
// goes on to release untouched (one attempt, no resume). Other commands keep working beside the
// server; a lock left by a server killed with -9 is taken over by the next one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBody } from '../workflow/fixtures.js';
import { forgetRows, sha } from '../workflow/run-fixtures.js';
import { client } from './job-client.js';
import { freePort } from '../../src/util/net.js';
import { alive, serve, servedDeployment, stopAll, until } from './serve-process.js';

test("a second lethe serve on the same data folder refuses to start and the first one's job goes on to release", async () => {
  const { dir, data, s, lethe, alice, bob, root } = servedDeployment('lethe-lock-');
  const logs: string[] = [];
  const servers: ChildProcess[] = [];
  try {
    const port = await freePort();
    servers.push(serve(data, port, logs));
    const first = servers[0]!;
    const api = client(`http://127.0.0.1:${port}`);
    await until('the server', async () => ((await api.call('GET', '/v1/jobs', root)).status === 200 ? true : undefined));
    const id = (await api.call('POST', '/v1/requests', alice, createBody())).json.id as string;
    await api.call('POST', `/v1/requests/${id}/scope`, alice, {
      model: 'tiny',
      method: 'GradAscent',
      forget: { sha256: sha(s.forgetFile), rows: forgetRows.length, path: s.forgetFile },
    });
    assert.equal((await api.call('POST', `/v1/requests/${id}/approve`, bob, { reason: 'checked' })).json.state, 'approved');
    const run = await api.call('POST', `/v1/requests/${id}/run`, root, {
      model: 'model',
      forgetFile: 'forget.jsonl',
      retainFile: 'retain.jsonl',
      holdoutFile: 'holdout.jsonl',
      method: 'GradAscent',
      training: { steps: 60, checkpointEvery: 10 },
      policy: 'lenient',
    });
    assert.equal(run.status, 202, run.text);
    const jobId = run.json.job.id as string;
    await api.events(jobId, root, (e) => e.event === 'progress' && (e.data.progress.step ?? 0) >= 3);
    const workerPid = Number(new RegExp(`job ${jobId}: started \\(attempt 1, worker (\\d+)\\)`).exec(logs.join(''))?.[1]);
    assert.ok(workerPid > 0 && alive(workerPid), 'the worker runs');

    // The second server: refused, naming the first; the worker untouched
    const secondLogs: string[] = [];
    const second = serve(data, await freePort(), secondLogs);
    servers.push(second);
    const code = await Promise.race([
      new Promise<number | null>((res) => second.once('exit', (c) => res(c))),
      new Promise<string>((res) => setTimeout(() => res('still running'), 20_000)),
    ]);
    // Untouched: still running, or (on a slow start of the second server) finished on its own.
    const job = (await api.call('GET', `/v1/jobs/${jobId}`, root)).json as { state: string };
    assert.ok(alive(workerPid) || job.state === 'succeeded', `the first server's worker was stopped: job ${JSON.stringify(job)}`);
    assert.equal(code, 1, secondLogs.join(''));
    const holder = JSON.parse(readFileSync(join(data, 'serve.lock'), 'utf8')) as { pid: number; host: string };
    assert.equal(holder.pid, first.pid, 'the lock names the first server');
    assert.match(
      secondLogs.join(''),
      new RegExp(`data folder .* is in use by another lethe serve \\(pid ${first.pid} on ${holder.host}, since `),
    );

    // Commands that read or append through the store work beside the server
    const verify = lethe('audit', 'verify', '--json');
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.equal(lethe('tokens', 'list').status, 0);

    const done = await api.waitJob(jobId, root, (j) => ['succeeded', 'failed', 'cancelled'].includes(j.state));
    assert.equal(done!.state, 'succeeded', JSON.stringify(done));
    assert.equal(done!.attempts, 1, 'never resumed by another server');
    assert.equal((await api.call('GET', `/v1/requests/${id}`, root)).json.state, 'released');
    const actions = lethe('audit', 'export')
      .stdout.trim()
      .split('\n')
      .slice(1)
      .map((l) => (JSON.parse(l) as { action: string }).action);
    assert.ok(!actions.includes('job.resumed'), actions.join(', '));

    // kill -9 leaves the lock behind; the next server takes it over
    first.kill('SIGKILL');
    await until('the first server to die', () => (first.signalCode ? true : undefined), 10_000);
    assert.ok(existsSync(join(data, 'serve.lock')), 'a killed server leaves its lock');
    const port3 = await freePort();
    const third = serve(data, port3, logs);
    servers.push(third);
    await until('the third server', async () =>
      (await client(`http://127.0.0.1:${port3}`).call('GET', '/v1/jobs', root)).status === 200 ? true : undefined,
    );
    assert.equal(JSON.parse(readFileSync(join(data, 'serve.lock'), 'utf8')).pid, third.pid, 'the stale lock was taken over');
    third.kill('SIGTERM');
    await new Promise((res) => third.once('exit', res));
    assert.ok(!existsSync(join(data, 'serve.lock')), 'a server that stops removes its lock');
  } finally {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  }
});
