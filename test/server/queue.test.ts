// The job queue shared by many processes, with real processes on a real PostgreSQL server: two
// `lethe serve --no-workers` and three `lethe worker` on one database. Three requests run (one model
// each, so that they may run side by side); the worker holding the long one is killed with -9 past a
// checkpoint; its lease expires, another worker claims the job and resumes it from that checkpoint
// to a release; every request is released, `lethe audit verify` passes, and the claims table shows
// that no job was ever held by two workers at once. Progress is followed on a server that runs
// nothing (it reads the job's row). Slow: about a minute or two (training on the tiny fixture).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/util/net.js';
import type { JobClaimsTable } from '../../src/workflow/store/schema.js';
import { CLI, runCli } from '../helpers/cli.js';
import { postgresServer, postgresSkip, stopPostgresServer } from '../helpers/postgres-server.js';
import { createBody, SUBJECT } from '../workflow/fixtures.js';
import { forgetRows, setup, sha } from '../workflow/run-fixtures.js';
import { client } from './job-client.js';
import { alive, stopAll, until } from './serve-process.js';

after(stopPostgresServer);

const LEASE = ['--lease', '10', '--heartbeat', '1', '--poll', '0.3'];
const EVERY = 5;
const LONG = 200;
const SHORT = 20;

test('2 servers and 3 workers on one PostgreSQL: a worker killed with -9 mid-training, its job resumed elsewhere from the checkpoint and released; no job held twice at once', {
  skip: postgresSkip(),
  timeout: 600_000,
}, async () => {
  const db = await (await postgresServer()).createDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'lethe-queue-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string[]>();
  const start = (...args: string[]) => {
    const p = spawn(process.execPath, [CLI, ...args, '--data', data, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    for (const s of [p.stdout!, p.stderr!]) s.on('data', (b: Buffer) => out.push(b.toString()));
    procs.push(p);
    logs.set(p, out);
    return p;
  };
  const pool = new pg.Pool({ connectionString: db, max: 2 });
  try {
    const lethe = (...args: string[]) => runCli([...args, '--data', data, '--db', db]);
    const token = (role: string, name: string) => lethe('tokens', 'create', '--role', role, '--name', name).stdout.trim();
    const [alice, bob, root] = [token('requester', 'alice'), token('approver', 'bob'), token('admin', 'root')];
    // Three models (one queue each) and three forget files (each release deletes its own).
    const s = setup(data);
    for (const m of ['model-b', 'model-c']) cpSync(s.model, join(data, m), { recursive: true });
    mkdirSync(join(data, 'policies'));
    writeFileSync(
      join(data, 'policies', 'lenient.json'),
      JSON.stringify({ checks: [{ metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 }] }),
    );

    const ports = [await freePort(), await freePort()];
    for (const port of ports) start('serve', '--port', String(port), '--no-workers', ...LEASE);
    const workers = [0, 1, 2].map(() => start('worker', ...LEASE));
    const [a, b] = ports.map((port) => client(`http://127.0.0.1:${port}`));
    for (const api of [a!, b!])
      await until('a server', async () => ((await api.call('GET', '/v1/jobs', root)).status === 200 ? true : undefined));

    // Filed and approved on one server, run on either.
    const jobs: string[] = [];
    const requests: string[] = [];
    for (const [k, model] of ['model', 'model-b', 'model-c'].entries()) {
      const forget = `forget-${k}.jsonl`;
      cpSync(s.forgetFile, join(data, forget));
      const id = (await a!.call('POST', '/v1/requests', alice, createBody())).json.id as string;
      await a!.call('POST', `/v1/requests/${id}/scope`, alice, {
        model: 'tiny',
        method: 'GradAscent',
        forget: { sha256: sha(join(data, forget)), rows: forgetRows.length, path: join(data, forget) },
      });
      assert.equal((await a!.call('POST', `/v1/requests/${id}/approve`, bob, { reason: 'checked' })).json.state, 'approved');
      const run = await (k % 2 ? b! : a!).call('POST', `/v1/requests/${id}/run`, root, {
        model,
        forgetFile: forget,
        retainFile: 'retain.jsonl',
        holdoutFile: 'holdout.jsonl',
        method: 'GradAscent',
        training: { steps: k === 0 ? LONG : SHORT, checkpointEvery: EVERY },
        policy: 'lenient',
      });
      assert.equal(run.status, 202, run.text);
      requests.push(id);
      jobs.push(run.json.job.id as string);
    }
    const long = jobs[0]!;

    // Progress of the long job, on server b (which runs nothing: it reads the job's row), past two checkpoints.
    const seen = await b!.events(long, root, (e) => e.event === 'progress' && (e.data.progress.step ?? 0) >= 2 * EVERY + 1);
    assert.equal(seen.events.at(-1)!.data.state, 'running');
    const held = (await pool.query('select lease_holder, worker_pid from jobs where id = $1', [long])).rows[0] as {
      lease_holder: string;
      worker_pid: number;
    };
    const victim = workers.find((w) => held.lease_holder.split('/')[1] === String(w.pid));
    assert.ok(victim, `the long job is held by one of the three workers (${held.lease_holder})`);
    victim.kill('SIGKILL');
    await until('the killed worker to exit', () => (victim.signalCode ? true : undefined), 10_000);
    await until(`its job process ${held.worker_pid} to exit`, () => (alive(held.worker_pid) ? undefined : true), 10_000);
    const ckpt = (
      JSON.parse(readFileSync(join(data, 'jobs', long, 'model', 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number }
    ).step;
    assert.ok(ckpt >= 2 * EVERY && ckpt < LONG, `killed mid-training, past a checkpoint (step ${ckpt})`);

    // Every job ends released, the long one on another worker, resumed from the checkpoint.
    for (const id of jobs) {
      const j = await a!.waitJob(id, root, (x) => ['succeeded', 'failed', 'cancelled'].includes(x.state), 480_000);
      assert.equal(j.state, 'succeeded', JSON.stringify(j));
    }
    for (const id of requests) assert.equal((await b!.call('GET', `/v1/requests/${id}`, root)).json.state, 'released');
    const jobLog = readFileSync(join(data, 'jobs', long, 'job.log'), 'utf8');
    assert.match(jobLog, new RegExp(`unlearning resumed from the checkpoint at step ${ckpt}\\b`));
    assert.match(jobLog, new RegExp(`resuming from step ${ckpt}\\b`));

    // The claims: the long job twice (the second by another worker, after the first lease ended), the others once.
    const claims = (await pool.query('select * from job_claims order by job_id, attempt')).rows as JobClaimsTable[];
    const of = (id: string) => claims.filter((c) => c.job_id === id);
    assert.deepEqual(
      of(long).map((c) => [c.attempt, c.end_reason]),
      [
        [1, 'expired'],
        [2, 'finished'],
      ],
    );
    assert.equal(of(long)[0]!.holder, held.lease_holder);
    assert.notEqual(of(long)[1]!.holder, held.lease_holder, 'resumed by another worker');
    for (const id of jobs.slice(1))
      assert.deepEqual(
        of(id).map((c) => c.end_reason),
        ['finished'],
      );
    // No two claims of one job overlap: each starts after the one before it ended, and no claim
    // ended after its lease did.
    for (const id of jobs) {
      const cs = of(id);
      for (const c of cs) assert.ok(c.ended_at !== null && c.ended_at <= c.lease_until && c.claimed_at <= c.ended_at, JSON.stringify(c));
      for (let k = 1; k < cs.length; k++) assert.ok(cs[k]!.claimed_at >= cs[k - 1]!.ended_at!, `claims overlap: ${JSON.stringify(cs)}`);
    }
    const resumed = (await pool.query("select details from audit where action = 'job.resumed'")).rows.map((r) => JSON.parse(r.details));
    assert.deepEqual(resumed, [{ job: long, requestState: 'unlearning', checkpointStep: ckpt }]);

    const verify = lethe('audit', 'verify', '--json');
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const all = [...logs.values()].flat().join('') + jobLog;
    for (const needle of [SUBJECT, 'Quillfeather']) assert.ok(!all.includes(needle), `the logs contain '${needle}'`);
  } finally {
    await pool.end();
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
  }
});
