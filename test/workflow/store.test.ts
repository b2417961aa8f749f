// The store on SQLite, PGlite and a real PostgreSQL server: migrations, one schema, the same answers.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openWorkflow } from '../../src/workflow/index.js';
import { migrationNames } from '../../src/workflow/store/migrations.js';
import { cachingStatements, openStore } from '../../src/workflow/store/open.js';
import { namedStatements } from '../../src/workflow/store/pg-named.js';
import { postgresServer } from '../helpers/postgres-server.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions } from './stores.js';

after(closeStores);

for (const kind of STORE_KINDS) {
  describe(`store on ${kind}`, storeOptions(kind), () => {
    test('migrations are recorded and every table starts empty', async () => {
      const w = await freshWorkflow(kind);
      try {
        const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(w.store.db);
        assert.deepEqual(
          applied.rows.map((r) => r.name),
          migrationNames,
        );
        for (const t of ['requests', 'transitions', 'audit', 'audit_head', 'tokens'] as const) {
          assert.equal((await w.store.db.selectFrom(t).selectAll().execute()).length, 0, t);
        }
        assert.equal(w.store.dialect, kind === 'sqlite' ? 'sqlite' : 'postgres');
      } finally {
        await w.dispose();
      }
    });
  });
}

test(
  'the real-server kind is a PostgreSQL server on 127.0.0.1, not PGlite: its URL, version, address and port',
  storeOptions('postgres'),
  async () => {
    const w = await freshWorkflow('postgres');
    try {
      const port = /^postgres:\/\/127\.0\.0\.1:(\d+)\/lethe_\d+$/.exec(w.store.location)?.[1];
      assert.ok(port, `a server's URL: ${w.store.location}`);
      assert.equal(w.inProcessOnly, false, 'a worker process can open it');
      const { rows } = await sql<{ version: string; addr: string | null; port: number | null }>`
      select version(), host(inet_server_addr()) as addr, inet_server_port() as port`.execute(w.store.db);
      assert.match(rows[0]!.version, /^PostgreSQL \d+/);
      assert.doesNotMatch(rows[0]!.version, /PGlite|emscripten|wasm/i);
      assert.equal(rows[0]!.addr, '127.0.0.1', 'connected over TCP (PGlite has no address)');
      assert.equal(rows[0]!.port, Number(port));
    } finally {
      await w.dispose();
    }
  },
);

test('SQLite: one file under the data folder, WAL, reopened without migrating again', async () => {
  const w = await freshWorkflow('sqlite');
  try {
    assert.ok(statSync(join(w.dataDir, 'lethe.db')).isFile());
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(w.store.db);
    assert.equal(mode.rows[0]!.journal_mode, 'wal');
    await w.close();
    const again = await openWorkflow({ dataDir: w.dataDir });
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(again.store.db);
    assert.equal(applied.rows.length, migrationNames.length);
    assert.equal(again.deployment.keyId, w.deployment.keyId, 'the same key on reopening');
    await again.close();
  } finally {
    await w.dispose().catch(() => {});
  }
});

test('a database URL it does not know is refused naming --db', async () => {
  await assert.rejects(
    openStore({ dataDir: '/nonexistent', db: 'mysql://x' }),
    (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /'--db' must be postgres:\/\//.test(e.message),
  );
});

test('deployment key files: private key and salt mode 0600; refused when others can read them', async () => {
  const w = await freshWorkflow('sqlite');
  try {
    for (const f of ['audit-ed25519.key.pem', 'subject-salt']) assert.equal(statSync(join(w.dataDir, 'keys', f)).mode & 0o777, 0o600, f);
    assert.match(readFileSync(join(w.dataDir, 'keys', 'audit-ed25519.pub.pem'), 'utf8'), /BEGIN PUBLIC KEY/);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(w.dataDir, 'keys', 'audit-ed25519.key.pem'), 0o644);
    await assert.rejects(
      openWorkflow({ dataDir: w.dataDir }),
      (e: Error & { code?: string }) => e.code === 'FORBIDDEN' && /chmod 600/.test(e.message),
    );
  } finally {
    await w.dispose();
  }
});

test("SQLite's statements are prepared once per SQL text, at most `max` kept, and one still iterating is not handed out", async () => {
  const { default: Database } = await import('better-sqlite3');
  const conn = new Database(':memory:');
  try {
    let prepared = 0;
    const counting = {
      close: () => conn.close(),
      prepare: (q: string) => {
        prepared++;
        return conn.prepare(q);
      },
    };
    const db = cachingStatements(counting, 2);
    db.prepare('create table t (x integer)').run([]);
    for (let i = 0; i < 3; i++) db.prepare('insert into t values (?)').run([i]);
    assert.equal(prepared, 2, 'the insert was prepared once for three rows');
    const select = 'select x from t order by x';
    const rows = db.prepare(select).iterate([]);
    assert.deepEqual(rows.next().value, { x: 0 });
    assert.deepEqual(db.prepare(select).all([]), [{ x: 0 }, { x: 1 }, { x: 2 }], 'a fresh statement beside the busy one');
    assert.deepEqual([...rows], [{ x: 1 }, { x: 2 }], 'the first iteration is undisturbed');
    assert.equal(prepared, 4);
    db.prepare(select).all([]);
    assert.equal(prepared, 4, 'no longer busy: reused');
    db.prepare('select count(*) from t').all([]); // a third text: the insert, least recently used, goes
    db.prepare('insert into t values (?)').run([3]);
    assert.equal(prepared, 6, 'prepared again after it was dropped');
  } finally {
    if (conn.open) conn.close();
  }
});

test(
  'PostgreSQL: a query with parameters is prepared once per connection under a name; a changed table falls back to unnamed',
  storeOptions('postgres'),
  async () => {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: await (await postgresServer()).createDatabase(), max: 1 });
    const client = await namedStatements(pool, 2).connect();
    type Rows = { rows: Record<string, unknown>[] };
    const q = (text: string, values: unknown[] = []) => client.query(text, values) as unknown as Promise<Rows>;
    const prepared = async () => (await q('select statement from pg_prepared_statements order by statement')).rows.map((r) => r.statement);
    try {
      await q('create table t (id int, x text)');
      await q("insert into t values (1, 'a')");
      const select = 'select * from t where id = $1';
      assert.deepEqual((await q(select, [1])).rows, [{ id: 1, x: 'a' }]);
      assert.deepEqual((await q(select, [1])).rows, [{ id: 1, x: 'a' }]);
      assert.deepEqual(await prepared(), [select], 'prepared once; a query without parameters is not');
      await q('alter table t add column y int');
      assert.deepEqual((await q(select, [1])).rows, [{ id: 1, x: 'a', y: null }], 'its cached plan no longer fits: run unnamed');
      await q('select x from t where id = $1', [1]);
      await q('select id from t where id = $1', [1]);
      assert.deepEqual(await prepared(), [select, 'select x from t where id = $1'], 'at most 2 texts named');
    } finally {
      client.release();
      await pool.end();
    }
  },
);
