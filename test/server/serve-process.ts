// Helpers for tests that run `lethe serve` as a real child process (crash recovery, the data-folder
// lock): the server with its output collected, polling until something holds.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli } from '../helpers/cli.js';
import { setup, type RunSetup } from '../workflow/run-fixtures.js';

/** A data folder for a served deployment: the run inputs inside it, a lenient policy, a `lethe` runner
 *  bound to the folder, and tokens for a requester (alice), an approver (bob) and an admin (root). */
export function servedDeployment(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  mkdirSync(data);
  const s: RunSetup = setup(data);
  mkdirSync(join(data, 'policies'));
  writeFileSync(
    join(data, 'policies', 'lenient.json'),
    JSON.stringify({ checks: [{ metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 }] }),
  );
  const lethe = (...args: string[]) => runCli([...args, '--data', data]);
  const token = (role: string, name: string) => lethe('tokens', 'create', '--role', role, '--name', name).stdout.trim();
  return { dir, data, s, lethe, alice: token('requester', 'alice'), bob: token('approver', 'bob'), root: token('admin', 'root') };
}

export function serve(data: string, port: number, logs: string[]): ChildProcess {
  const p = spawn(process.execPath, [CLI, 'serve', '--data', data, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [p.stdout!, p.stderr!]) s.on('data', (b: Buffer) => logs.push(b.toString()));
  return p;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stops the servers still running and waits for them. */
export async function stopAll(servers: ChildProcess[]): Promise<void> {
  for (const p of servers) if (p.exitCode === null && !p.signalCode) p.kill('SIGTERM');
  await Promise.all(servers.map((p) => (p.exitCode !== null || p.signalCode ? null : new Promise((res) => p.once('exit', res)))));
}
