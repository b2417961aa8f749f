// Crash recovery with real processes: `lethe serve` runs a job, is killed with SIGKILL past an
// unlearning checkpoint (its worker dies with it), and a restarted `lethe serve` resumes the job from
// that checkpoint (not from step 0) to a release, with the request's history intact, the resume
// audited, and `lethe audit verify` ok.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createBody, SUBJECT } from '../workflow/fixtures.js';
import { forgetRows, sha } from '../workflow/run-fixtures.js';
import { client } from './job-client.js';
import { freePort } from '../../src/util/net.js';
import { alive, serve, servedDeployment, stopAll, until } from './serve-process.js';

test('kill -9 of lethe serve mid-unlearning: the restarted server resumes the job from its checkpoint and releases', async () => {
  const { dir, data, s, lethe, alice, bob, root } = servedDeployment('lethe-crash-');
  const logs: string[] = [];
  const servers: ChildProcess[] = [];
  try {
    const port = await freePort();
    servers.push(serve(data, port, logs));
    const api = client(`http://127.0.0.1:${port}`);
    await until('the server', async () => ((await api.call('GET', '/v1/jobs', root)).status === 200 ? true : undefined));
    const id = (await api.call('POST', '/v1/requests', alice, createBody())).json.id as string;
    await api.call('POST', `/v1/requests/${id}/scope`, alice, {
      model: 'tiny',
      method: 'GradAscent',
      forget: { sha256: sha(s.forgetFile), rows: forgetRows.length, path: s.forgetFile },
    });
    assert.equal((await api.call('POST', `/v1/requests/${id}/approve`, bob, { reason: 'checked' })).json.state, 'approved');
    const TOTAL = 200;
    const EVERY = 10;
    const run = await api.call('POST', `/v1/requests/${id}/run`, root, {
      model: 'model',
      forgetFile: 'forget.jsonl',
      retainFile: 'retain.jsonl',
      holdoutFile: 'holdout.jsonl',
      method: 'GradAscent',
      training: { steps: TOTAL, checkpointEvery: EVERY },
      policy: 'lenient',
    });
    assert.equal(run.status, 202, run.text);
    const jobId = run.json.job.id as string;
    const seen = await api.events(jobId, root, (e) => e.event === 'progress' && (e.data.progress.step ?? 0) >= 2 * EVERY + 3);
    const lastStep = seen.events.at(-1)!.data.progress.step!;

    // kill -9 the server; its worker must notice and die too
    const db = new Database(join(data, 'lethe.db'), { readonly: true });
    const workerPid = (db.prepare('select worker_pid from jobs where id = ?').get(jobId) as { worker_pid: number }).worker_pid;
    db.close();
    assert.ok(workerPid > 0 && alive(workerPid));
    servers[0]!.kill('SIGKILL');
    await until('the server to die', () => (servers[0]!.exitCode !== null || servers[0]!.signalCode ? true : undefined), 10_000);
    await until(`the orphaned worker ${workerPid} to exit`, () => (alive(workerPid) ? undefined : true), 10_000);
    const ckpt = JSON.parse(readFileSync(join(data, 'jobs', jobId, 'model', 'checkpoint', 'trainer_state.json'), 'utf8')) as {
      step: number;
    };
    assert.ok(
      ckpt.step >= 2 * EVERY && ckpt.step % EVERY === 0 && ckpt.step <= lastStep + EVERY,
      `checkpoint at ${ckpt.step}, last progress ${lastStep}`,
    );
    assert.ok(ckpt.step < TOTAL, 'killed before the unlearning finished');

    // Restart: the job resumes from the checkpoint and finishes
    const port2 = await freePort();
    servers.push(serve(data, port2, logs));
    const api2 = client(`http://127.0.0.1:${port2}`);
    await until('the restarted server', async () => ((await api2.call('GET', '/v1/jobs', root)).status === 200 ? true : undefined));
    const after = await api2.events(jobId, root);
    assert.equal(after.events.at(-1)!.event, 'end');
    const resumedSteps = after.events.filter((e) => e.event === 'progress' && e.data.progress.phase === 'unlearning');
    assert.ok(resumedSteps.length > 0, 'unlearning progress after the restart');
    for (const e of resumedSteps) {
      assert.equal(e.data.progress.resumedFrom, ckpt.step, 'resumed from the checkpoint');
      assert.ok(e.data.progress.step! > ckpt.step, `step ${e.data.progress.step}: not from step 0`);
    }
    const job = (await api2.call('GET', `/v1/jobs/${jobId}`, root)).json;
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.attempts, 2);
    const jobLog = readFileSync(join(data, 'jobs', jobId, 'job.log'), 'utf8');
    assert.match(jobLog, new RegExp(`unlearning resumed from the checkpoint at step ${ckpt.step}\\b`));
    assert.match(jobLog, new RegExp(`resuming from step ${ckpt.step}\\b`));
    assert.match(
      logs.join(''),
      new RegExp(`job ${jobId}: was running when the server stopped; resuming \\(request unlearning, checkpoint at step ${ckpt.step}\\)`),
    );

    const r = (await api2.call('GET', `/v1/requests/${id}`, root)).json;
    assert.deepEqual(
      r.history.map((t: { to: string }) => t.to),
      ['received', 'scoped', 'approved', 'unlearning', 'verifying', 'released'],
    );
    const verify = lethe('audit', 'verify', '--json');
    assert.equal(verify.status, 0, verify.stdout);
    const exported = lethe('audit', 'export')
      .stdout.trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as { action: string; requestId: string | null; details: Record<string, unknown> })
      .filter((e) => e.requestId === id);
    assert.deepEqual(
      exported.map((e) => e.action),
      [
        'request.create',
        'request.scope',
        'request.approve',
        'job.submit',
        'request.unlearning',
        'job.resumed',
        'request.verifying',
        'request.released',
        'request.forget_data_deleted',
        'request.run_outputs_deleted',
      ],
    );
    assert.deepEqual(exported[5]!.details, { job: jobId, requestState: 'unlearning', checkpointStep: ckpt.step });
    for (const needle of [SUBJECT, 'Quillfeather'])
      assert.ok(!logs.join('').includes(needle) && !jobLog.includes(needle), `the logs contain '${needle}'`);
  } finally {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  }
});
