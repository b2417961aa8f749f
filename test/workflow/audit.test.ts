// The audit chain on both stores: each kind of tampering (edit, deletion, reordering, truncation,
// a forged head, another key, a rollback to an older head) is found by verifyAudit().
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createRequest, createToken, scopeRequest, verifyAudit } from '../../src/workflow/index.js';
import { closeStores, freshWorkflow, STORE_KINDS, type TestWorkflow } from './stores.js';
import { alice, createBody, scopeBody } from './fixtures.js';

after(closeStores);

/** Five entries: a token, two requests, two scopes. */
async function history(w: TestWorkflow): Promise<void> {
  await createToken(w, { role: 'requester', name: 'alice' });
  const a = await createRequest(w, alice, createBody());
  const b = await createRequest(w, alice, createBody({ subject: 'someone else' }));
  await scopeRequest(w, alice, a.id, scopeBody());
  await scopeRequest(w, alice, b.id, scopeBody());
}

async function tampered(kind: (typeof STORE_KINDS)[number], tamper: (w: TestWorkflow) => Promise<void>, { anchored = false } = {}): Promise<string[]> {
  const w = await freshWorkflow(kind);
  try {
    await history(w);
    const clean = await verifyAudit(w);
    assert.deepEqual(clean.problems, [], 'clean before tampering');
    assert.equal(clean.entries, 5);
    await tamper(w);
    const v = await verifyAudit(w, anchored ? clean.head! : undefined);
    assert.equal(v.ok, false, 'tampering is found');
    return v.problems;
  } finally {
    await w.dispose();
  }
}

for (const kind of STORE_KINDS) {
  describe(`audit on ${kind}`, () => {
    test('an edited entry', async () => {
      const p = await tampered(kind, (w) => w.store.db.updateTable('audit').set({ details: '{"category":"bias","reason":"x","state":"received","subjects":1}' }).where('seq', '=', 2).execute().then(() => {}));
      assert.ok(p.some((x) => /entry 2: content does not match its hash \(edited\)/.test(x)), p.join('\n'));
    });

    test('an edited entry whose hash was recomputed (but not re-signed)', async () => {
      const { entryHash } = await import('../../src/workflow/audit.js');
      const p = await tampered(kind, async (w) => {
        const e = (await w.store.db.selectFrom('audit').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow());
        const hash = entryHash({ seq: 2, at: e.at, actor: 'mallory', action: e.action, requestId: e.request_id, details: JSON.parse(e.details), prevHash: e.prev_hash });
        await w.store.db.updateTable('audit').set({ actor: 'mallory', hash }).where('seq', '=', 2).execute();
      });
      assert.ok(p.some((x) => /entry 2: signature does not verify/.test(x)), p.join('\n'));
      assert.ok(p.some((x) => /entry 3: does not follow/.test(x)), p.join('\n'));
    });

    test('a deleted entry', async () => {
      const p = await tampered(kind, (w) => w.store.db.deleteFrom('audit').where('seq', '=', 3).execute().then(() => {}));
      assert.ok(p.some((x) => /has seq 4, expected 3 \(an entry was deleted or reordered\)/.test(x)), p.join('\n'));
    });

    test('reordered entries', async () => {
      const p = await tampered(kind, async (w) => {
        await w.store.db.updateTable('audit').set({ seq: -1 }).where('seq', '=', 2).execute();
        await w.store.db.updateTable('audit').set({ seq: 2 }).where('seq', '=', 3).execute();
        await w.store.db.updateTable('audit').set({ seq: 3 }).where('seq', '=', -1).execute();
      });
      assert.ok(p.some((x) => /entry 2: does not follow the entry before it/.test(x)), p.join('\n'));
    });

    test('a truncated tail (the last entries deleted)', async () => {
      const p = await tampered(kind, (w) => w.store.db.deleteFrom('audit').where('seq', '>=', 4).execute().then(() => {}));
      assert.deepEqual(p, ['the signed head counts 5 entries, found 3 (truncated)']);
    });

    test('a truncated tail with the head rewritten to match (its signature fails)', async () => {
      const p = await tampered(kind, async (w) => {
        const third = await w.store.db.selectFrom('audit').select('hash').where('seq', '=', 3).executeTakeFirstOrThrow();
        await w.store.db.deleteFrom('audit').where('seq', '>=', 4).execute();
        await w.store.db.updateTable('audit_head').set({ count: 3, hash: third.hash }).execute();
      });
      assert.ok(p.some((x) => /head checkpoint's signature does not verify/.test(x)), p.join('\n'));
    });

    test('everything deleted, head included', async () => {
      const p = await tampered(kind, async (w) => {
        await w.store.db.deleteFrom('audit').execute();
        await w.store.db.deleteFrom('audit_head').execute();
      }, { anchored: true });
      // Without an anchor kept elsewhere an empty log looks new: an earlier export's head catches it.
      assert.ok(p.some((x) => /an earlier export counted 5 entries, found 0/.test(x)), p.join('\n'));
    });

    test('the chain checked with another deployment key fails on every signature', async () => {
      const p = await tampered(kind, async (w) => {
        w.deployment = { ...w.deployment, publicKey: generateKeyPairSync('ed25519').publicKey };
      });
      assert.equal(p.filter((x) => /signature does not verify/.test(x)).length, 6, p.join('\n'));
    });
  });
}
