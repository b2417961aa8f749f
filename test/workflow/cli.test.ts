// The CLI mirror end to end on a temporary data folder: tokens printed once, request create → scope →
// approve (four-eyes refused) → status, audit verify (and its failure after tampering) and export,
// the transparency table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { repoRoot } from '../helpers.js';

const main = join(repoRoot, 'dist/src/cli/main.js');

function lethe(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('lethe tokens / request / audit / transparency on a data folder', () => {
  const data = mkdtempSync(join(tmpdir(), 'lethe-cli-'));
  try {
    const env = { LETHE_DATA: data };
    const made = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice'], env);
    assert.equal(made.code, 0, made.err);
    const alice = made.out.trim();
    assert.match(alice, /^lethe_[0-9a-f]{8}_\S{43}$/, 'stdout is the token alone');
    assert.match(made.err, /shown once/);
    const bob = lethe(['tokens', 'create', '--role', 'approver', '--name', 'bob'], env).out.trim();
    assert.ok(!readFileSync(join(data, 'lethe.db')).toString('latin1').includes(alice.slice(15)), 'the token is not stored');

    const created = lethe(['request', 'create', '--token', alice, '--category', 'privacy', '--subject', 'Ada Quillfeather', '--evidence', 'ticket 7', '--json'], env);
    assert.equal(created.code, 0, created.err);
    const id = JSON.parse(created.out).id as string;
    writeFileSync(join(data, 'forget.jsonl'), '{"question":"q1","answer":"a1"}\n{"question":"q2","answer":"a2"}\n');
    const scoped = lethe(['request', 'scope', id, '--model', 'models/m', '--method', 'NPO', '--forget', join(data, 'forget.jsonl')], { ...env, LETHE_TOKEN: alice });
    assert.equal(scoped.code, 0, scoped.err);
    assert.match(scoped.out, /NPO on models\/m, 2 forget rows/);
    const own = lethe(['request', 'approve', id, '--reason', 'mine'], { ...env, LETHE_TOKEN: alice });
    assert.equal(own.code, 1);
    assert.match(own.err, /lethe: request.decide: role 'requester' may not/);
    const ok = lethe(['request', 'approve', id, '--reason', 'checked the ticket'], { ...env, LETHE_TOKEN: bob });
    assert.equal(ok.code, 0, ok.err);
    assert.match(lethe(['request', 'status', id, '--token', bob], env).out, /scoped\s+→ approved\s+bob: checked the ticket/);
    const bad = lethe(['request', 'create', '--token', alice, '--category', 'nope', '--subject', 'x', '--evidence', 'y'], env);
    assert.match(bad.err, /'category' must be one of 'privacy'/);
    assert.match(lethe(['request', 'status', id], env).err, /'--token' \(or \$LETHE_TOKEN\) is required/);

    const verified = lethe(['audit', 'verify', '--json'], env);
    assert.equal(verified.code, 0, verified.out);
    const v = JSON.parse(verified.out);
    assert.equal(v.entries, 5);
    const exported = lethe(['audit', 'export'], env).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(exported[0].kind, 'lethe-audit-export');
    assert.deepEqual({ count: exported[0].head.count, hash: exported[0].head.hash }, v.head);
    assert.deepEqual(exported.slice(1).map((e: { action: string }) => e.action), ['tokens.create', 'tokens.create', 'request.create', 'request.scope', 'request.approve']);
    assert.ok(!JSON.stringify(exported).includes('Quillfeather'));

    const table = lethe(['transparency'], env);
    assert.match(table.out, /erasure requests: 1/);
    assert.match(table.out, /privacy\s+0\s+0\s+1\s/);

    const db = new Database(join(data, 'lethe.db'));
    db.prepare("update audit set actor = 'mallory' where seq = 3").run();
    db.close();
    const broken = lethe(['audit', 'verify'], env);
    assert.equal(broken.code, 1);
    assert.match(broken.out, /entry 3: content does not match its hash \(edited\)/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
