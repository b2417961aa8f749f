// The CLI mirror end to end on a temporary data folder: tokens printed once, request create → scope →
// approve (four-eyes refused) → status, audit verify (and its failure after tampering), export and
// anchor (a wiped store found against it), the transparency table; the signing key kept outside the
// data folder; secrets (the subject, the token) never on the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { withTempDir } from '../helpers/tmp.js';
import { CLI, runCli } from '../helpers/cli.js';

function lethe(args: string[], env: Record<string, string> = {}, input?: string): { code: number; out: string; err: string } {
  const r = runCli(args, { env, input });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('lethe tokens / request / audit / transparency on a data folder', () => {
  withTempDir('lethe-cli-', (data) => {
    const env = { LETHE_DATA: data };
    const made = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice'], env);
    assert.equal(made.code, 0, made.err);
    const alice = made.out.trim();
    assert.match(alice, /^lethe_[0-9a-f]{8}_\S{43}$/, 'stdout is the token alone');
    assert.match(made.err, /shown once/);
    const bob = lethe(['tokens', 'create', '--role', 'approver', '--name', 'bob'], env).out.trim();
    assert.ok(!readFileSync(join(data, 'lethe.db')).toString('latin1').includes(alice.slice(15)), 'the token is not stored');

    const created = lethe(
      ['request', 'create', '--category', 'privacy', '--subject-file', '-', '--evidence', 'ticket 7', '--json'],
      { ...env, LETHE_TOKEN: alice },
      'Ada Quillfeather\n',
    );
    assert.equal(created.code, 0, created.err);
    const id = JSON.parse(created.out).id as string;
    writeFileSync(join(data, 'forget.jsonl'), '{"question":"q1","answer":"a1"}\n{"question":"q2","answer":"a2"}\n');
    const scoped = lethe(['request', 'scope', id, '--model', 'models/m', '--method', 'NPO', '--forget', join(data, 'forget.jsonl')], {
      ...env,
      LETHE_TOKEN: alice,
    });
    assert.equal(scoped.code, 0, scoped.err);
    assert.match(scoped.out, /NPO on models\/m, 2 forget rows/);
    const own = lethe(['request', 'approve', id, '--reason', 'mine'], { ...env, LETHE_TOKEN: alice });
    assert.equal(own.code, 1);
    assert.match(own.err, /lethe: request.decide: role 'requester' may not/);
    const ok = lethe(['request', 'approve', id, '--reason', 'checked the ticket'], { ...env, LETHE_TOKEN: bob });
    assert.equal(ok.code, 0, ok.err);
    assert.match(lethe(['request', 'status', id], { ...env, LETHE_TOKEN: bob }).out, /scoped\s+→ approved\s+bob: checked the ticket/);
    const bad = lethe(
      ['request', 'create', '--category', 'nope', '--subject-file', '-', '--evidence', 'y'],
      { ...env, LETHE_TOKEN: alice },
      'x',
    );
    assert.match(bad.err, /'category' must be one of 'privacy'/);
    assert.match(lethe(['request', 'status', id], env).err, /a token is required: set \$LETHE_TOKEN or give '--token-file FILE'/);

    const verified = lethe(['audit', 'verify', '--json'], env);
    assert.equal(verified.code, 0, verified.out);
    const v = JSON.parse(verified.out);
    assert.equal(v.entries, 5);
    const exported = lethe(['audit', 'export'], env)
      .out.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(exported[0].kind, 'lethe-audit-export');
    assert.deepEqual({ count: exported[0].head.count, hash: exported[0].head.hash }, v.head);
    assert.deepEqual(
      exported.slice(1).map((e: { action: string }) => e.action),
      ['tokens.create', 'tokens.create', 'request.create', 'request.scope', 'request.approve'],
    );
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
  });
});

test('secrets never on the command line: the subject from stdin, the token from $LETHE_TOKEN or a file; --subject and --token refused', async () => {
  await withTempDir('lethe-cli-', async (data) => {
    const env = { LETHE_DATA: data };
    const token = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice'], env).out.trim();
    const subject = 'Ada Quillfeather <ada@example.org>';
    // The subject is piped in once the process runs: its argv (what ps shows) holds neither secret.
    const child = spawn(
      process.execPath,
      [CLI, 'request', 'create', '--category', 'privacy', '--subject-file', '-', '--evidence', 'ticket 7', '--json'],
      { env: { ...process.env, ...env, LETHE_TOKEN: token } },
    );
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('--subject-file'), argv.join(' '));
    assert.ok(!argv.some((a) => a.includes('Quillfeather') || a.includes(token)), argv.join(' '));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdin.end(subject + '\n');
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(code, 0, err);
    const { loadDeployment, hashSubject } = await import('../../src/workflow/index.js');
    assert.equal(
      JSON.parse(out).subjectHash,
      hashSubject(loadDeployment(data).salt, subject),
      'the subject that came through stdin is the one hashed',
    );

    const onArgv = lethe(['request', 'create', '--category', 'privacy', '--subject', 'Ada Quillfeather', '--evidence', 't'], {
      ...env,
      LETHE_TOKEN: token,
    });
    assert.equal(onArgv.code, 1);
    assert.match(
      onArgv.err,
      /'--subject' is refused: a value on the command line is visible to every user of the machine \(ps, \/proc\) .*; give '--subject-file FILE' \('-' reads it from stdin\)/,
    );
    assert.ok(!onArgv.err.includes('Quillfeather'), 'the refusal does not repeat it');
    const tokenOnArgv = lethe(['request', 'status', 'req_x', '--token', token], env);
    assert.equal(tokenOnArgv.code, 1);
    assert.match(tokenOnArgv.err, /'--token' is refused: .*; set \$LETHE_TOKEN or give '--token-file FILE'/);
    assert.ok(!tokenOnArgv.err.includes(token));

    const tokenFile = join(data, '..', `${data.split('/').pop()}-token`);
    writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
    try {
      const subjectFile = join(data, 'subject.txt');
      writeFileSync(subjectFile, 'Bo Sample\n');
      const viaFiles = lethe(
        [
          'request',
          'create',
          '--category',
          'privacy',
          '--subject-file',
          subjectFile,
          '--token-file',
          tokenFile,
          '--evidence',
          't',
          '--json',
        ],
        env,
      );
      assert.equal(viaFiles.code, 0, viaFiles.err);
      assert.equal(JSON.parse(viaFiles.out).subjectHash, hashSubject(loadDeployment(data).salt, 'Bo Sample'));
      writeFileSync(tokenFile, token, { mode: 0o644 });
      const { chmodSync } = await import('node:fs');
      chmodSync(tokenFile, 0o644);
      assert.match(
        lethe(['request', 'status', 'req_x', '--token-file', tokenFile], env).err,
        /'--token-file' .* is readable by others \(mode 644\); run chmod 600/,
      );
    } finally {
      rmSync(tokenFile, { force: true });
    }
    const v = JSON.parse(lethe(['audit', 'verify', '--json'], env).out);
    assert.equal(v.entries, 3, 'one token and two requests: the refused commands changed nothing');
  });
});

test('lethe audit anchor, a wiped store found with --anchor; the signing key from $LETHE_AUDIT_KEY_FILE', () => {
  const data = mkdtempSync(join(tmpdir(), 'lethe-cli-'));
  const vault = mkdtempSync(join(tmpdir(), 'lethe-vault-'));
  try {
    const env = { LETHE_DATA: data, LETHE_AUDIT_KEY_FILE: join(vault, 'audit.pem') };
    const token = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice'], env).out.trim();
    assert.equal(
      lethe(['request', 'create', '--category', 'privacy', '--subject-file', '-', '--evidence', 't'], { ...env, LETHE_TOKEN: token }, 'Ada')
        .code,
      0,
    );
    assert.ok(
      existsSync(join(vault, 'audit.pem')) && !existsSync(join(data, 'keys', 'audit-ed25519.key.pem')),
      'the key lives in the vault only',
    );
    assert.match(
      lethe(['audit', 'verify'], { LETHE_DATA: data }).err,
      /the audit signing key is not in .* give '--key-file FILE' or \$LETHE_AUDIT_KEY_FILE/,
    );
    assert.equal(
      lethe(['audit', 'verify', '--key-file', join(vault, 'audit.pem')], { LETHE_DATA: data }).code,
      0,
      'the flag works as the variable does',
    );

    const anchorFile = join(vault, 'anchor.json');
    const made = lethe(['audit', 'anchor', '--out', anchorFile], env);
    assert.equal(made.code, 0, made.err);
    const anchor = JSON.parse(readFileSync(anchorFile, 'utf8'));
    assert.equal(anchor.count, 2);
    const ok = lethe(['audit', 'verify', '--anchor', anchorFile], env);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /2 entries, chain, signatures and tables intact .*; matches the anchor at entry 2/);

    for (const f of ['lethe.db', 'lethe.db-wal', 'lethe.db-shm']) rmSync(join(data, f), { force: true });
    const wiped = lethe(['audit', 'verify'], env);
    assert.equal(wiped.code, 0, 'by itself a wiped store looks new');
    assert.match(wiped.out, /0 entries[\s\S]*check it against an anchor kept elsewhere/);
    const found = lethe(['audit', 'verify', '--anchor', anchorFile], env);
    assert.equal(found.code, 1);
    assert.match(found.out, /the anchor counts 2 entries, found 0 \(wiped, rolled back or truncated\)/);
  } finally {
    rmSync(data, { recursive: true, force: true });
    rmSync(vault, { recursive: true, force: true });
  }
});
