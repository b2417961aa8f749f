// Confinement of user-named files (issue 18, faults 1 and 4): the deployment's own files (store, WAL,
// keys, job folders, caches, provenance index, policies) are refused wherever a user names a file,
// whatever the name (symlinks, hard links); only regular files under the size limit, inside the data
// folder or an allowed root; a scope's forget path is confined and recorded as its real path; the
// server process never opens the forget file at submission (and so cannot drop SQLite's locks and
// lose writes); after a release only a confined, matching file is deleted, and every deletion is
// audited with its sha256.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  auditEntries,
  confinePath,
  createJob,
  createRequest,
  getRequest,
  parsePolicy,
  runRequest,
  scopeRequest,
  type RequestView,
  type Roots,
} from '../../src/workflow/index.js';
import { deleteForgetData } from '../../src/workflow/run-cleanup.js';
import { sha256ConfinedFile } from '../../src/workflow/confine.js';
import { LetheError } from '../../src/util/errors.js';
import { closeStores, freshWorkflow, type TestWorkflow } from './stores.js';
import { alice, createBody, runner } from './fixtures.js';
import { approved, setup, sha } from './run-fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

after(closeStores);

const LENIENT = { checks: [{ metric: 'forget_Q_A_Prob', max: 2 }] };

const refused = (field: string, re: RegExp) => (e: Error) => {
  assert.ok(e instanceof LetheError, e.message);
  assert.equal(e.code, 'BAD_INPUT', e.message);
  assert.equal(e.field, field, e.message);
  assert.match(e.message, re);
  return true;
};

const mkfifo = (p: string) => assert.equal(spawnSync('mkfifo', [p]).status, 0, 'mkfifo works');

/** A SQLite data folder holding, besides the store, every kind of deployment file. */
async function deployment(): Promise<{ w: TestWorkflow; data: string; roots: Roots }> {
  const w = await freshWorkflow('sqlite');
  const data = w.dataDir;
  await createRequest(w, alice, createBody()); // the store has a WAL and shared memory now
  for (const f of [
    'jobs/job_0123456789ab/eval/EVAL.json',
    '.lethe-cache/ab/m.json',
    'inputs/.lethe-cache/m.json',
    'policies/p.json',
    'provenance.db',
    'provenance.db-wal',
    'lethe.lock',
    'serve.lock',
    'serve.lock.123.tmp',
    'serve.lock.stale-123',
  ]) {
    mkdirSync(join(data, f, '..'), { recursive: true });
    writeFileSync(join(data, f), '{}\n');
  }
  writeFileSync(join(data, 'inputs', 'ok.jsonl'), '{"text": "x"}\n');
  return { w, data, roots: { dataDir: data } };
}

describe('confinePath', () => {
  test("the deployment's own files are refused whatever the name, the field named", async () => {
    const { w, data, roots } = await deployment();
    try {
      assert.ok(existsSync(join(data, 'lethe.db-wal')) && existsSync(join(data, 'lethe.db-shm')), 'the store runs in WAL mode');
      const file = (v: string, field = 'forgetFile') => confinePath(v, roots, { where: 'run', field, kind: 'file' });
      for (const [v, what] of [
        ['lethe.db', /not the store/],
        ['lethe.db-wal', /not the store/],
        ['lethe.db-shm', /not the store/],
        [join(data, 'lethe.lock'), /not the store/],
        ['keys/audit-ed25519.key.pem', /not the deployment's keys/],
        ['keys/subject-salt', /keys/],
        ['jobs/job_0123456789ab/eval/EVAL.json', /not the job folders/],
        ['.lethe-cache/ab/m.json', /a result cache/],
        ['inputs/.lethe-cache/m.json', /a result cache/],
        ['provenance.db', /the provenance index/],
        ['provenance.db-wal', /the provenance index/],
        ['policies/p.json', /the policies folder/],
        ['inputs/../lethe.db', /not the store/],
      ] as const)
        assert.throws(() => file(v), refused('forgetFile', what), v);
      // Through a symlink or a hard link
      symlinkSync(join(data, 'lethe.db-wal'), join(data, 'inputs', 'wal.jsonl'));
      assert.throws(() => file('inputs/wal.jsonl', 'retainFile'), refused('retainFile', /not the store/));
      linkSync(join(data, 'lethe.db'), join(data, 'inputs', 'hard.jsonl'));
      assert.throws(() => file('inputs/hard.jsonl', 'holdoutFile'), refused('holdoutFile', /not a link to the deployment's store/));
      linkSync(join(data, 'keys', 'subject-salt'), join(data, 'inputs', 'salt.jsonl'));
      assert.throws(() => file('inputs/salt.jsonl'), refused('forgetFile', /not a link to the deployment's/));
      writeFileSync(join(data, 'serve.pid'), '1\n');
      assert.throws(() => file('serve.pid'), refused('forgetFile', /not a lock file/));
      // Yours is accepted, as its real path
      symlinkSync(join(data, 'inputs', 'ok.jsonl'), join(data, 'inputs', 'alias.jsonl'));
      assert.equal(file('inputs/alias.jsonl'), realpathSync(join(data, 'inputs', 'ok.jsonl')));
      // A named policy may lie in the policies folder, nothing else internal
      assert.equal(
        confinePath(join(data, 'policies', 'p.json'), roots, { where: 'run', field: 'policy', kind: 'file', allow: 'policies' }),
        realpathSync(join(data, 'policies', 'p.json')),
      );
      assert.throws(
        () => confinePath('lethe.db', roots, { where: 'run', field: 'policy', kind: 'file', allow: 'policies' }),
        refused('policy', /not the store/),
      );
    } finally {
      await w.dispose();
    }
  });

  test('only regular files under the size limit, inside the data folder or an allowed root', async () => {
    const { w, data, roots } = await deployment();
    const other = mkdtempSync(join(tmpdir(), 'lethe-root-'));
    try {
      const file = (v: string, r: Roots = roots, maxBytes?: number) =>
        confinePath(v, r, { where: 'request scope', field: 'forget.path', kind: 'file', maxBytes });
      mkdirSync(join(data, 'inputs', 'dir'));
      assert.throws(() => file('inputs/dir'), refused('forget.path', /a regular file \(it is a directory\)/));
      mkfifo(join(data, 'inputs', 'fifo'));
      assert.throws(() => file('inputs/fifo'), refused('forget.path', /a regular file \(it is a fifo\)/));
      assert.throws(() => file('/'), refused('forget.path', /a path inside the data folder, got '\/'/));
      assert.throws(() => file('/dev/zero'), refused('forget.path', /inside the data folder/));
      assert.throws(
        () => file('/dev/zero', { dataDir: data, roots: ['/dev'] }),
        refused('forget.path', /a regular file \(it is a device\)/),
      );
      assert.throws(() => file(data), refused('forget.path', /not the data folder itself/));
      assert.throws(() => file('inputs/none.jsonl'), refused('forget.path', /an existing path inside the data folder/));
      symlinkSync('/etc/passwd', join(data, 'inputs', 'out.jsonl'));
      assert.throws(() => file('inputs/out.jsonl'), refused('forget.path', /a path inside the data folder/));
      writeFileSync(join(other, 'f.jsonl'), '{}\n');
      assert.throws(() => file(join(other, 'f.jsonl')), refused('forget.path', /inside the data folder/));
      assert.equal(file(join(other, 'f.jsonl'), { dataDir: data, roots: [other] }), realpathSync(join(other, 'f.jsonl')));
      truncateSync(join(data, 'inputs', 'ok.jsonl'), 2048);
      assert.throws(() => file('inputs/ok.jsonl', roots, 1024), refused('forget.path', /at most 1024 bytes \(it has 2048/));
      assert.ok(file('inputs/ok.jsonl', roots, 4096));
    } finally {
      await w.dispose();
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("a model folder: a folder with config.json whose files are not the deployment's", async () => {
    const { w, data, roots } = await deployment();
    try {
      const model = (v: string) => confinePath(v, roots, { where: 'run', field: 'model', kind: 'model' });
      mkdirSync(join(data, 'm'));
      assert.throws(() => model('m'), refused('model', /a Hugging Face model folder \(with config.json\)/));
      writeFileSync(join(data, 'm', 'config.json'), '{}');
      assert.equal(model('m'), realpathSync(join(data, 'm')));
      assert.throws(() => model('inputs/ok.jsonl'), refused('model', /a Hugging Face model folder/));
      assert.throws(() => model('.'), refused('model', /not the data folder itself/));
      assert.throws(() => model('jobs/job_0123456789ab'), refused('model', /not the job folders/));
      symlinkSync(join(data, 'lethe.db'), join(data, 'm', 'model.safetensors'));
      assert.throws(() => model('m'), refused('model', /model.safetensors is the store/));
    } finally {
      await w.dispose();
    }
  });
});

describe('sha256ConfinedFile', () => {
  test('hashes a regular file; a fifo or a device swapped in after the check is refused without blocking or reading', () => {
    withTempDir('lethe-hash-', (dir) => {
      writeFileSync(join(dir, 'f.jsonl'), 'x'.repeat(3 * 1024 * 1024 + 5));
      const o = { where: 'request req_1', field: 'forgetFile' };
      assert.equal(sha256ConfinedFile(join(dir, 'f.jsonl'), o), sha(join(dir, 'f.jsonl')));
      assert.throws(() => sha256ConfinedFile(join(dir, 'f.jsonl'), { ...o, maxBytes: 1024 }), refused('forgetFile', /at most 1024 bytes/));
      mkfifo(join(dir, 'fifo'));
      assert.throws(() => sha256ConfinedFile(join(dir, 'fifo'), o), refused('forgetFile', /it is a fifo/));
      assert.throws(() => sha256ConfinedFile('/dev/zero', o), refused('forgetFile', /it is a device/));
      symlinkSync(join(dir, 'f.jsonl'), join(dir, 'link'));
      assert.throws(() => sha256ConfinedFile(join(dir, 'link'), o), /ELOOP/, 'a symlink swapped in is not followed');
    });
  });
});

describe('scope: the recorded forget path', () => {
  test("is confined (a 400 naming 'forget.path') and recorded as its real path", async () => {
    const { w, data } = await deployment();
    try {
      const scope = async (path: string) =>
        scopeRequest(w, alice, (await createRequest(w, alice, createBody())).id, {
          model: 'm',
          method: 'GradAscent',
          forget: { sha256: 'b'.repeat(64), rows: 1, path },
        });
      for (const [path, re] of [
        ['/', /inside the data folder/],
        ['/dev/zero', /inside the data folder/],
        [join(data, 'lethe.db-wal'), /not the store/],
        [join(data, 'keys', 'subject-salt'), /keys/],
        [data, /data folder itself/],
        ['/etc/passwd', /inside the data folder/],
      ] as const)
        await assert.rejects(scope(path), refused('forget.path', re), path);
      mkfifo(join(data, 'inputs', 'fifo'));
      await assert.rejects(scope(join(data, 'inputs', 'fifo')), refused('forget.path', /it is a fifo/));
      symlinkSync(join(data, 'inputs', 'ok.jsonl'), join(data, 'link.jsonl'));
      const r = await scope(join(data, 'link.jsonl'));
      assert.equal(r.scope!.forget.path, realpathSync(join(data, 'inputs', 'ok.jsonl')), 'the real path, shown to the approver');
      assert.equal((await getRequest(w, runner, r.id)).scope!.forget.path, realpathSync(join(data, 'inputs', 'ok.jsonl')));
    } finally {
      await w.dispose();
    }
  });
});

describe('after a release: deleting the recorded files', () => {
  /** A scope as an older version stored it (its path never confined). */
  const scopeOf = (path: string, sha256: string, probes?: string): NonNullable<RequestView['scope']> => ({
    model: 'm',
    method: 'GradAscent',
    forget: { sha256, rows: 1, path },
    ...(probes
      ? {
          proposal: {
            counts: {
              forget: 1,
              probes: 1,
              neighbours: 0,
              namesakes: 0,
              byMatch: { exact: 1, alias: 0, identifier: 0, near: 0, fuzzy: 0 },
            },
            files: { forget: { sha256, rows: 1 }, probes: { sha256: probes, rows: 1 }, neighbours: { sha256: 'c'.repeat(64), rows: 0 } },
            recordHashes: { forget: [], neighbours: [] },
          },
        }
      : {}),
  });
  const lastDeletion = async (w: TestWorkflow, id: string) => {
    let last: Record<string, unknown> | null = null;
    for await (const e of auditEntries(w.store.db)) if (e.requestId === id && e.action === 'request.forget_data_deleted') last = e.details;
    return last;
  };

  test('outside the roots, a directory, a device, a mismatch: kept, audited with the reason, never thrown', async () => {
    const { w, data } = await deployment();
    const other = mkdtempSync(join(tmpdir(), 'lethe-outside-'));
    try {
      const id = (await createRequest(w, alice, createBody())).id;
      writeFileSync(join(other, 'forget.jsonl'), 'row\n');
      for (const path of [join(other, 'forget.jsonl'), '/', '/dev/zero', join(data, 'lethe.db')]) {
        const deleted = await deleteForgetData(w, runner, id, scopeOf(path, sha(join(other, 'forget.jsonl'))));
        assert.equal(deleted, false, path);
        assert.match(String((await lastDeletion(w, id))!.kept), /not a regular file inside the data folder or an allowed root/, path);
      }
      assert.ok(existsSync(join(other, 'forget.jsonl')), 'nothing outside the roots is deleted');
      assert.ok(existsSync(join(data, 'lethe.db')));
      writeFileSync(join(data, 'inputs', 'f.jsonl'), 'changed\n');
      assert.equal(await deleteForgetData(w, runner, id, scopeOf(join(data, 'inputs', 'f.jsonl'), 'a'.repeat(64))), false);
      assert.equal((await lastDeletion(w, id))!.kept, 'the file no longer has the approved sha256');
      assert.ok(existsSync(join(data, 'inputs', 'f.jsonl')));
    } finally {
      await w.dispose();
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("the forget file and the proposal's probes are deleted and audited with their sha256; probes no proposal recorded are kept", async () => {
    const { w, data } = await deployment();
    try {
      for (const f of ['provenance.db', 'provenance.db-wal']) rmSync(join(data, f)); // no provenance index to purge here
      const dir = join(data, 'proposal');
      mkdirSync(dir);
      writeFileSync(join(dir, 'forget.jsonl'), 'zebra forget\n');
      writeFileSync(join(dir, 'probes.jsonl'), 'zebra probe\n');
      const [f, p] = [sha(join(dir, 'forget.jsonl')), sha(join(dir, 'probes.jsonl'))];
      const id = (await createRequest(w, alice, createBody())).id;
      assert.equal(await deleteForgetData(w, runner, id, scopeOf(join(dir, 'forget.jsonl'), f)), true);
      assert.ok(existsSync(join(dir, 'probes.jsonl')), 'no proposal recorded the probes: kept');
      assert.deepEqual(await lastDeletion(w, id), { sha256: f, rows: 1, deleted: true, alreadyAbsent: false });
      writeFileSync(join(dir, 'forget.jsonl'), 'zebra forget\n');
      assert.equal(await deleteForgetData(w, runner, id, scopeOf(join(dir, 'forget.jsonl'), f, p)), true);
      assert.equal(existsSync(join(dir, 'probes.jsonl')), false, 'the recorded probes are deleted');
      assert.deepEqual(await lastDeletion(w, id), {
        sha256: f,
        rows: 1,
        deleted: true,
        alreadyAbsent: false,
        probes: { sha256: p, rows: 1, deleted: true, alreadyAbsent: false },
      });
      const text = JSON.stringify(await lastDeletion(w, id));
      assert.ok(!text.includes('zebra') && !text.includes(dir), 'neither content nor path is audited');
    } finally {
      await w.dispose();
    }
  });
});

describe('running (the worker or the local CLI)', () => {
  test('runRequest checks every input again before reading it: the store, a fifo, a folder are refused and nothing moves', async () => {
    const w = await freshWorkflow('sqlite');
    const s = setup(w.dataDir);
    try {
      const id = await approved(w, s.forgetFile);
      const o = {
        modelDir: s.model,
        forgetFile: s.forgetFile,
        method: 'GradAscent',
        policy: parsePolicy(LENIENT),
        outDir: join(w.dataDir, 'out'),
      };
      await assert.rejects(
        runRequest(w, runner, id, { ...o, forgetFile: join(w.dataDir, 'lethe.db-wal') }),
        refused('forgetFile', /not the store/),
      );
      await assert.rejects(
        runRequest(w, runner, id, { ...o, retainFile: join(w.dataDir, 'lethe.db') }),
        refused('retainFile', /not the store/),
      );
      mkfifo(join(w.dataDir, 'fifo.jsonl'));
      await assert.rejects(
        runRequest(w, runner, id, { ...o, evaluation: { holdoutFile: join(w.dataDir, 'fifo.jsonl') } }),
        refused('holdoutFile', /it is a fifo/),
      );
      await assert.rejects(runRequest(w, runner, id, { ...o, modelDir: w.dataDir }), refused('modelDir', /data folder itself/));
      assert.equal((await getRequest(w, runner, id)).state, 'approved', 'nothing moved');
      assert.equal(existsSync(o.outDir), false);
    } finally {
      await w.dispose();
    }
  });
});

describe('submission (the server process)', () => {
  test('a job submission never opens the forget file: a wrong forget file is queued (the worker checks its sha256)', async () => {
    const w = await freshWorkflow('sqlite');
    const s = setup(w.dataDir);
    const opened: string[] = [];
    const original = { readFileSync: fs.readFileSync, openSync: fs.openSync, createReadStream: fs.createReadStream };
    const spy = <F extends (...a: any[]) => any>(f: F) =>
      ((...a: Parameters<F>) => {
        opened.push(String(a[0]));
        return f(...a);
      }) as F;
    try {
      const id = await approved(w, s.forgetFile);
      Object.assign(fs, {
        readFileSync: spy(original.readFileSync),
        openSync: spy(original.openSync),
        createReadStream: spy(original.createReadStream),
      });
      syncBuiltinESMExports();
      const job = await createJob(
        w,
        runner,
        id,
        { model: 'model', forgetFile: 'retain.jsonl', method: 'GradAscent', policy: LENIENT },
        { dataDir: w.dataDir },
      );
      Object.assign(fs, original);
      syncBuiltinESMExports();
      assert.equal(job.state, 'queued');
      const data = realpathSync(w.dataDir);
      assert.deepEqual(
        opened.filter((p) => p.startsWith(data) || p.startsWith(w.dataDir) || !p.startsWith('/')),
        [],
        'no file of the data folder was opened',
      );
    } finally {
      Object.assign(fs, original);
      syncBuiltinESMExports();
      await w.dispose();
    }
  });

  test("naming the store as the forget file loses no write (fault 1: closing a descriptor on lethe.db dropped the server's SQLite locks)", async () => {
    const w = await freshWorkflow('sqlite');
    const s = setup(w.dataDir);
    try {
      const id = await approved(w, s.forgetFile);
      const errors: Error[] = [];
      for (const name of ['lethe.db', 'lethe.db-wal', 'lethe.db-shm']) {
        errors.push(
          await createJob(
            w,
            runner,
            id,
            { model: 'model', forgetFile: name, method: 'GradAscent', policy: LENIENT },
            { dataDir: w.dataDir },
          ).then(
            () => new Error('accepted'),
            (e: Error) => e,
          ),
        );
      }
      // Another process opens and closes the store (the CLI), then the server writes: the write must reach the file
      const other = `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.prepare('select count(*) from requests').get(); db.close();`;
      const cli = spawnSync(process.execPath, ['-e', other, join(w.dataDir, 'lethe.db')], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      const later = await createRequest(w, alice, createBody());
      const count = `const D = require('better-sqlite3'); const db = new D(process.argv[1]); console.log(db.prepare('select count(*) as n from requests where id = ?').get(process.argv[2]).n); db.close();`;
      const seen = spawnSync(process.execPath, ['-e', count, join(w.dataDir, 'lethe.db'), later.id], { encoding: 'utf8' });
      assert.equal(seen.status, 0, seen.stderr);
      assert.equal(seen.stdout.trim(), '1', 'a write made after another process closed the store is seen by a third');
      assert.ok(existsSync(join(w.dataDir, 'lethe.db-wal')), 'the live WAL is still there');
      for (const e of errors) assert.ok(refused('forgetFile', /not the store/)(e));
    } finally {
      await w.dispose();
    }
  });
});
