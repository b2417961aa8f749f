// Bearer tokens on every store: shown once, stored as sha256 only, revocable, malformed ones refused;
// a verified token is believed for TOKEN_CACHE_MS, a revocation through the same workflow at once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate, createToken, listTokens, revokeToken } from '../../src/workflow/index.js';
import { hashToken, TOKEN_CACHE_MS } from '../../src/workflow/tokens.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions } from './stores.js';

after(closeStores);

for (const kind of STORE_KINDS) {
  describe(`tokens on ${kind}`, storeOptions(kind), () => {
    test('a token authenticates its person and role; only its hash is stored; revoked or malformed ones do not', async () => {
      const w = await freshWorkflow(kind);
      try {
        const t = await createToken(w, { role: 'approver', name: 'bob' });
        assert.match(t.token, /^lethe_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
        assert.deepEqual(await authenticate(w, t.token), { name: 'bob', role: 'approver', tokenId: t.id });
        const rows = await w.store.db.selectFrom('tokens').selectAll().execute();
        assert.equal(rows[0]!.token_hash, hashToken(t.token));
        assert.ok(!JSON.stringify(rows).includes(t.token.slice(15)), 'the secret is not stored');
        assert.equal(await authenticate(w, t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A')), null, 'one character off');
        assert.equal(await authenticate(w, 'Bearer nonsense'), null);
        assert.equal(await authenticate(w, undefined), null);
        await revokeToken(w, t.id);
        assert.equal(await authenticate(w, t.token), null, 'revoked');
        await assert.rejects(revokeToken(w, t.id), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
        assert.equal((await listTokens(w))[0]!.revokedAt !== null, true);
        await assert.rejects(
          createToken(w, { role: 'superuser', name: 'x' }),
          /tokens create: 'role' must be one of requester, approver, auditor, admin, got 'superuser'/,
        );
        await assert.rejects(createToken(w, { role: 'admin', name: 'has space' }), /'name' must be a handle/);
        await assert.rejects(
          createToken(w, { role: 'admin', name: 'x' }, { name: 'alice', role: 'requester' }),
          /tokens.manage: role 'requester'/,
        );
      } finally {
        await w.dispose();
      }
    });

    test('a verified token is cached: revoked here it stops at once, revoked by another process within TOKEN_CACHE_MS', async () => {
      let t = Date.UTC(2026, 0, 1);
      const w = await freshWorkflow(kind, { now: () => new Date(t) });
      // Another process on the same database (the CLI, a second server): its own store, its own cache.
      const other = { ...w, store: { ...w.store } };
      try {
        const a = await createToken(w, { role: 'auditor', name: 'carol' });
        const b = await createToken(w, { role: 'auditor', name: 'dave' });
        for (const x of [a, b]) assert.equal((await authenticate(w, x.token))?.tokenId, x.id, 'verified, now cached');
        /** How many queries `fn` starts on `wf`'s store. */
        const queries = async (wf: typeof w, fn: () => Promise<unknown>) => {
          const before = wf.store.db;
          let n = 0;
          wf.store.db = new Proxy(before, {
            get: (o, k) => {
              if (k === 'selectFrom') n++;
              const v = Reflect.get(o, k) as unknown;
              return typeof v === 'function' ? v.bind(o) : v;
            },
          });
          try {
            await fn();
          } finally {
            wf.store.db = before;
          }
          return n;
        };
        assert.equal(await queries(w, () => authenticate(w, a.token)), 0, 'a cached token costs no query');
        assert.equal(await queries(other, () => authenticate(other, a.token)), 1, 'another process verifies it itself');

        await revokeToken(other, a.id);
        assert.equal((await authenticate(w, a.token))?.tokenId, a.id, 'revoked elsewhere: still believed, for at most TOKEN_CACHE_MS');
        t += TOKEN_CACHE_MS;
        assert.equal(await authenticate(w, a.token), null, 'revoked elsewhere: refused once the cache entry expires');
        assert.equal((await authenticate(w, b.token))?.tokenId, b.id, 'an unrevoked token verifies again');

        await revokeToken(w, b.id);
        assert.equal(await authenticate(w, b.token), null, 'revoked through this workflow: refused at once');
      } finally {
        await w.dispose();
      }
    });

    test('one name is one person: another spelling of a name is refused, a second role only when meant', async () => {
      const w = await freshWorkflow(kind);
      try {
        await createToken(w, { role: 'requester', name: 'alice' });
        for (const [name, role] of [
          ['Alice', 'approver'],
          ['ALICE', 'requester'],
        ] as const) {
          await assert.rejects(
            createToken(w, { role, name }),
            (e: Error & { code?: string }) =>
              e.code === 'CONFLICT' && /'.+' is the same person as the existing 'alice'.*use 'alice'/.test(e.message),
            name,
          );
        }
        await assert.rejects(
          createToken(w, { role: 'approver', name: 'alice' }),
          /'alice' already holds a requester token; one name is one person.*--additional-role/,
        );
        const second = await createToken(w, { role: 'requester', name: 'alice' });
        assert.equal(second.role, 'requester', 'another token for the same role: a rotation');
        const approver = await createToken(w, { role: 'approver', name: 'alice', additionalRole: true });
        assert.deepEqual(await authenticate(w, approver.token), { name: 'alice', role: 'approver', tokenId: approver.id });
        await revokeToken(w, approver.id);
        await assert.rejects(
          createToken(w, { role: 'admin', name: 'Alice', additionalRole: true }),
          /same person as the existing 'alice'/,
          'revoked tokens count too',
        );
        assert.deepEqual((await listTokens(w)).map((t) => `${t.name}:${t.role}`).sort(), [
          'alice:approver',
          'alice:requester',
          'alice:requester',
        ]);
      } finally {
        await w.dispose();
      }
    });
  });
}
