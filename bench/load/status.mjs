#!/usr/bin/env node
// Load on the status route while a job trains, on each store: starts `lethe serve` (a real process,
// built dist/) on a temporary data folder with the llama-tiny fixture (SQLite in that folder, or a
// database on a throw-away PostgreSQL cluster: the tests' own helper), files, scopes, approves and
// runs a request whose unlearning lasts longer than the load, then runs autocannon with many
// connections against GET /v1/requests/:id and prints one table: p50/p90/p99 latency, requests/s,
// errors (timeouts included) and non-2xx replies per store, the CPU time the server (and PostgreSQL's
// processes) spent per request, the load average before each run and how far the job trained
// meanwhile. Not a test: nothing gates on these numbers. On a shared machine the latencies move with
// whatever else runs; the CPU time per request much less.
//
//   node bench/load/status.mjs [--store sqlite,postgres] [--connections 500] [--duration 15]
//                              [--runs 1] [--no-job] [--json FILE] [--cpu-prof DIR]
//
// --cpu-prof DIR: the server runs under node --cpu-prof and leaves its profile in DIR (where its
// time went: open it in Chrome's DevTools).
//
// The rate limit stays on at the server's default (300 requests a minute per person, a fifth per
// address without a valid token). The load's caller is one person, `loadbench`, given its own budget
// with `--rate-limit-for loadbench=100000000` (as a deployment would give a monitoring account), so
// every request still goes through the limiter keyed by its verified token, and none is a 429.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { postgresServer, stopPostgresServer } from '../../dist/test/helpers/postgres-server.js';
import { freePort } from '../../dist/src/util/net.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const main = join(root, 'dist/src/cli/main.js');
const fixtures = resolve(root, '../shared/fixtures/hf-reference');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const connections = Number(arg('connections', 500));
const duration = Number(arg('duration', 15));
const runs = Number(arg('runs', 1));
const stores = arg('store', 'sqlite,postgres').split(',');
const withJob = !flag('no-job');
const jsonOut = arg('json');
const cpuProf = arg('cpu-prof');
for (const s of stores) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--store: sqlite or postgres, got '${s}'`);

const BENCH_PERSON = 'loadbench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const qa = (q, a) => JSON.stringify({ question: q, answer: a, perturbed_answer: [`Not ${a}`] });

/** A data folder with the tiny model and its forget/retain files. */
function deploymentFolder() {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-load-'));
  const data = join(dir, 'data');
  const model = join(data, 'model');
  mkdirSync(model, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtures, 'llama-tiny', f), join(model, f));
  copyFileSync(join(fixtures, 'tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
  const forget = [qa('Where does the subject live?', 'In Lyon.'), qa('What is their job?', 'A baker.')];
  writeFileSync(join(data, 'forget.jsonl'), `${forget.join('\n')}\n`);
  writeFileSync(join(data, 'retain.jsonl'), `${[qa('Where does Bo live?', 'In Oslo.'), qa('What is his job?', 'A pilot.')].join('\n')}\n`);
  return { dir, data };
}

/** One measurement: a fresh deployment on `store`, a training job, autocannon on the status route. */
async function measure(store) {
  const { dir, data } = deploymentFolder();
  const pg = store === 'postgres' ? await postgresServer() : null;
  const pgPort = pg?.port;
  const db = pg ? ['--db', await pg.createDatabase()] : [];
  const lethe = (...args) => {
    const r = spawnSync(process.execPath, [main, ...args, '--data', data, ...db], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lethe ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const tokens = {
    alice: lethe('tokens', 'create', '--role', 'requester', '--name', 'alice'),
    bob: lethe('tokens', 'create', '--role', 'approver', '--name', 'bob'),
    root: lethe('tokens', 'create', '--role', 'admin', '--name', 'root'),
    bench: lethe('tokens', 'create', '--role', 'auditor', '--name', BENCH_PERSON),
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serveArgs = ['serve', '--data', data, ...db, '--port', String(port), '--rate-limit-for', `${BENCH_PERSON}=100000000`];
  const nodeArgs = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProf)] : [];
  const server = spawn(process.execPath, [...nodeArgs, main, ...serveArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const call = async (method, path, token, body) => {
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    for (let i = 0; ; i++) {
      try {
        await call('GET', '/v1/me', tokens.root);
        break;
      } catch (err) {
        if (i > 300) throw new Error(`the server did not start: ${err.message}`);
        await sleep(100);
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
    let job = null;
    let stepBefore = null;
    if (withJob) {
      ({ job } = await call('POST', `/v1/requests/${id}/run`, tokens.root, {
        model: 'model',
        forgetFile: 'forget.jsonl',
        retainFile: 'retain.jsonl',
        method: 'GradAscent',
        training: { steps: 1_000_000, checkpointEvery: 1000 },
        policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] },
      }));
      for (;;) {
        const j = await call('GET', `/v1/jobs/${job.id}`, tokens.root);
        if (j.state !== 'queued' && j.state !== 'running') throw new Error(`job ${job.id} ended before the load: ${j.state}`);
        if (j.progress.step) {
          stepBefore = j.progress.step;
          break;
        }
        await sleep(200);
      }
    }
    const load = loadavg()[0];
    const dbPids = () => (pgPort ? postmasterAndChildren(pgPort) : []);
    const cpuBefore = { server: cpuMs([server.pid]), db: cpuMs(dbPids()) };
    console.error(`${store}: ${connections} connections on GET /v1/requests/${id} for ${duration} s${withJob ? ', a job training' : ''}`);
    const r = await autocannon({
      url: `${base}/v1/requests/${id}`,
      connections,
      duration,
      headers: { authorization: `Bearer ${tokens.bench}` },
    });
    const cpu = { server: cpuMs([server.pid]) - cpuBefore.server, db: cpuMs(dbPids()) - cpuBefore.db };
    const after = job && (await call('GET', `/v1/jobs/${job.id}`, tokens.root));
    if (job) await call('POST', `/v1/jobs/${job.id}/cancel`, tokens.root);
    return {
      store,
      loadAvg1m: load,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      requestsPerSec: r.requests.average,
      total: r.requests.total,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      cpuUsPerRequest: { server: (1000 * cpu.server) / r.requests.total, db: pgPort ? (1000 * cpu.db) / r.requests.total : null },
      job: job ? { state: after.state, stepBefore, stepAfter: after.progress.step } : null,
    };
  } finally {
    server.kill('SIGTERM');
    await new Promise((res) => (server.exitCode !== null ? res() : server.once('exit', res)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system) in ms that the processes used so far; ones gone meanwhile count 0. */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      /* gone */
    }
  }
  return ticks * 10; // 100 ticks a second (getconf CLK_TCK)
}

/** The PostgreSQL server listening on `port` and its backends. */
function postmasterAndChildren(port) {
  const ps = (...a) => spawnSync('ps', a, { encoding: 'utf8' }).stdout.trim().split('\n');
  const postmaster = ps('-eo', 'pid=,args=')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => /postgres$/.test(f[1]) && f.includes(String(port)))?.[0];
  return postmaster ? [postmaster, ...ps('-o', 'pid=', '--ppid', postmaster).map((p) => p.trim())].filter(Boolean) : [];
}

function table(results) {
  const head = [
    'store',
    'load 1m',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'req/s',
    'requests',
    'errors',
    'non-2xx',
    'CPU µs/req',
    'job steps',
  ];
  const rows = results.map((r) => [
    r.store,
    r.loadAvg1m.toFixed(2),
    r.p50,
    r.p90,
    r.p99,
    r.max,
    Math.round(r.requestsPerSec),
    r.total,
    `${r.errors} (${r.timeouts} timeouts)`,
    r.non2xx,
    `${Math.round(r.cpuUsPerRequest.server)}${r.cpuUsPerRequest.db === null ? '' : ` + db ${Math.round(r.cpuUsPerRequest.db)}`}`,
    r.job ? `${r.job.stepBefore} → ${r.job.stepAfter}` : 'no job',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const results = [];
try {
  for (let i = 0; i < runs; i++) for (const store of stores) results.push(await measure(store));
} finally {
  await stopPostgresServer();
}
console.log(`${connections} connections, ${duration} s each, ${withJob ? 'a job training meanwhile' : 'no job'}:`);
console.log(table(results));
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ connections, duration, withJob, results }, null, 2)}\n`);
