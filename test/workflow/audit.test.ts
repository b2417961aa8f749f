// The audit chain on every store. Each tampering is done as an attacker would: without the key (an
// edit, a deletion, a reordering, a truncation, a forged head), and with it, rewriting every dependent
// field consistently (hashes, links, signatures, the head). Each test asserts the one problem that
// finds it, so that removing any check of verifyAudit() makes a test fail. What verifyAudit() cannot
// find by itself (a consistent rewrite with the deployment key, a wipe, another key) is shown to pass
// without an anchor and to fail against one.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  createRequest,
  createToken,
  makeAnchor,
  parseAnchor,
  scopeRequest,
  verifyAudit,
  type AuditVerification,
} from '../../src/workflow/index.js';
import { keyIdOf } from '../../src/workflow/deployment.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';
import { alice, createBody, scopeBody } from './fixtures.js';
import { rewriteChain } from './audit-attacker.js';

after(closeStores);

/** Five entries: a token, two requests (entries 2, 3), two scopes (4, 5). */
async function history(w: TestWorkflow): Promise<void> {
  await createToken(w, { role: 'requester', name: 'alice' });
  const a = await createRequest(w, alice, createBody());
  const b = await createRequest(w, alice, createBody({ subject: 'someone else' }));
  await scopeRequest(w, alice, a.id, scopeBody());
  await scopeRequest(w, alice, b.id, scopeBody());
}

interface Tampered {
  plain: AuditVerification;
  anchored: AuditVerification;
}

/** The history, a clean check and an anchor, the tampering, then a check without and with the anchor. */
async function tamper(kind: (typeof STORE_KINDS)[number], fn: (w: TestWorkflow) => Promise<void>): Promise<Tampered> {
  const w = await freshWorkflow(kind);
  try {
    await history(w);
    const clean = await verifyAudit(w);
    assert.deepEqual(clean.problems, [], 'clean before tampering');
    assert.deepEqual(clean.notes, []);
    assert.equal(clean.entries, 5);
    const anchor = parseAnchor(JSON.stringify(await makeAnchor(w)), 'anchor.json');
    await fn(w);
    return { plain: await verifyAudit(w), anchored: await verifyAudit(w, anchor) };
  } finally {
    await w.dispose();
  }
}

/** Problems found without an anchor (the tampering must be found). */
async function tampered(kind: (typeof STORE_KINDS)[number], fn: (w: TestWorkflow) => Promise<void>): Promise<string[]> {
  const { plain } = await tamper(kind, fn);
  assert.equal(plain.ok, false, 'tampering is found');
  return plain.problems;
}

const has = (p: string[], re: RegExp) =>
  assert.ok(
    p.some((x) => re.test(x)),
    `expected ${re} in:\n${p.join('\n')}`,
  );

for (const kind of STORE_KINDS) {
  const opts = storeOptions(kind);
  describe(`audit on ${kind}: tampering without the key`, opts, () => {
    test('an edited entry', async () => {
      const p = await tampered(kind, (w) =>
        w.store.db
          .updateTable('audit')
          .set({ details: '{"category":"bias","reason":"x","state":"received","subjects":1}' })
          .where('seq', '=', 2)
          .execute()
          .then(() => {}),
      );
      has(p, /entry 2: content does not match its hash \(edited\)/);
    });

    test('an edited entry whose hash was recomputed (but not re-signed)', async () => {
      const { entryHash } = await import('../../src/workflow/audit.js');
      const p = await tampered(kind, async (w) => {
        const e = await w.store.db.selectFrom('audit').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
        const hash = entryHash({
          seq: 2,
          at: e.at,
          actor: 'mallory',
          action: e.action,
          requestId: e.request_id,
          details: JSON.parse(e.details),
          prevHash: e.prev_hash,
        });
        await w.store.db.updateTable('audit').set({ actor: 'mallory', hash }).where('seq', '=', 2).execute();
      });
      has(p, /entry 2: signature does not verify/);
      has(p, /entry 3: does not follow/);
    });

    test('a deleted entry', async () => {
      const p = await tampered(kind, (w) =>
        w.store.db
          .deleteFrom('audit')
          .where('seq', '=', 3)
          .execute()
          .then(() => {}),
      );
      has(p, /has seq 4, expected 3 \(an entry was deleted or reordered\)/);
    });

    test('reordered entries', async () => {
      const p = await tampered(kind, async (w) => {
        await w.store.db.updateTable('audit').set({ seq: -1 }).where('seq', '=', 2).execute();
        await w.store.db.updateTable('audit').set({ seq: 2 }).where('seq', '=', 3).execute();
        await w.store.db.updateTable('audit').set({ seq: 3 }).where('seq', '=', -1).execute();
      });
      has(p, /entry 2: does not follow the entry before it/);
    });

    test('a truncated tail (the last entries deleted)', async () => {
      const p = await tampered(kind, (w) =>
        w.store.db
          .deleteFrom('audit')
          .where('seq', '>=', 4)
          .execute()
          .then(() => {}),
      );
      has(p, /^the signed head counts 5 entries, found 3 \(truncated\)$/);
    });

    test('a truncated tail with the head rewritten to match (its signature fails)', async () => {
      const p = await tampered(kind, async (w) => {
        const third = await w.store.db.selectFrom('audit').select('hash').where('seq', '=', 3).executeTakeFirstOrThrow();
        await w.store.db.deleteFrom('audit').where('seq', '>=', 4).execute();
        await w.store.db.updateTable('audit_head').set({ count: 3, hash: third.hash }).execute();
      });
      has(p, /head checkpoint's signature does not verify/);
    });

    test('the head deleted, the entries kept', async () => {
      const p = await tampered(kind, (w) =>
        w.store.db
          .deleteFrom('audit_head')
          .execute()
          .then(() => {}),
      );
      assert.deepEqual(p, ['the signed head is missing but 5 entries exist']);
    });

    test('the chain checked with another deployment key fails on every signature', async () => {
      const p = await tampered(kind, async (w) => {
        w.deployment = { ...w.deployment, publicKey: generateKeyPairSync('ed25519').publicKey };
      });
      assert.equal(p.filter((x) => /signature does not verify/.test(x)).length, 6, p.join('\n'));
    });
  });

  describe(`audit on ${kind}: tampering with the deployment key (kept in DATA/keys), every dependent field rewritten`, opts, () => {
    test('an entry deleted, the later ones renumbered, rehashed and re-signed but not relinked: the link check finds it', async () => {
      const p = await tampered(kind, (w) =>
        rewriteChain(w, w.deployment.privateKey, (es) => es.filter((e) => e.seq !== 2).map((e, i) => ({ ...e, seq: i + 1 })), {
          relink: false,
        }),
      );
      // Every entry from the gap on keeps its old prev_hash: each is a broken link, and nothing else is wrong.
      assert.deepEqual(
        p.map((x) => x.replace(/\(prev_hash \w{12}…, expected \w{12}…\)/, '(…)')),
        [2, 3, 4].map((n) => `entry ${n}: does not follow the entry before it (…): deleted or reordered`),
      );
    });

    test('a gap in the numbering, rehashed, relinked and re-signed: the order check finds it', async () => {
      const p = await tampered(kind, (w) =>
        rewriteChain(w, w.deployment.privateKey, (es) => es.map((e) => ({ ...e, seq: e.seq === 5 ? 6 : e.seq, prevHash: e.prevHash })), {
          relink: false,
        }),
      );
      assert.deepEqual(p, ['entry 5: has seq 6, expected 5 (an entry was deleted or reordered)']);
    });

    test('the last entry rewritten and re-signed, the head left as it was: the head-vs-last check finds it', async () => {
      const p = await tampered(kind, (w) =>
        rewriteChain(w, w.deployment.privateKey, (es) => es.map((e) => (e.seq === 5 ? { ...e, actor: 'mallory' } : e)), { head: false }),
      );
      assert.deepEqual(p, ["the signed head's hash does not match the last entry's"]);
    });

    test('an entry edited, every later hash and link recomputed, all re-signed: only the anchor finds it', async () => {
      const { plain, anchored } = await tamper(kind, (w) =>
        rewriteChain(w, w.deployment.privateKey, (es) => es.map((e) => (e.seq === 2 ? { ...e, actor: 'mallory' } : e))),
      );
      assert.deepEqual(plain.problems, [], 'the limit: a rewrite signed with the deployment key verifies by itself');
      assert.deepEqual(anchored.problems, ["entry 5 does not match the anchor's hash (history rewritten before the anchor)"]);
    });

    test('the last entries deleted and the head re-signed: the tables and the anchor find it', async () => {
      const { plain, anchored } = await tamper(kind, (w) => rewriteChain(w, w.deployment.privateKey, (es) => es.slice(0, 3)));
      // The scopes' entries are gone but their transitions are not: the requests' last entries no longer match.
      has(plain.problems, /request req_\w+: its transitions rows do not match audit entry [23] \(edited, added or deleted\)/);
      has(anchored.problems, /^the anchor counts 5 entries, found 3 \(wiped, rolled back or truncated\)$/);
    });

    test('everything wiped (log, head and the tables it describes): only the anchor finds it', async () => {
      const { plain, anchored } = await tamper(kind, async (w) => {
        for (const t of ['audit', 'audit_head', 'transitions', 'requests', 'tokens'] as const) await w.store.db.deleteFrom(t).execute();
      });
      assert.equal(plain.ok, true, 'the limit: an empty deployment looks new');
      assert.equal(plain.entries, 0);
      assert.deepEqual(anchored.problems, ['the anchor counts 5 entries, found 0 (wiped, rolled back or truncated)']);
    });

    test('the key replaced in DATA/keys and the whole log re-signed with it: only the anchor (its key id) finds it', async () => {
      const { plain, anchored } = await tamper(kind, async (w) => {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        await rewriteChain(w, privateKey, (es) => es);
        w.deployment = { ...w.deployment, privateKey, publicKey, keyId: keyIdOf(publicKey) }; // as loaded from the replaced files
      });
      assert.deepEqual(plain.problems, [], 'the limit: a log re-signed with a replaced key verifies by itself');
      assert.equal(anchored.problems.length, 1, anchored.problems.join('\n'));
      assert.match(
        anchored.problems[0]!,
        /^the anchor was signed with key [0-9a-f]{16}, the deployment now uses key [0-9a-f]{16} \(key replaced: the log may have been re-signed\)$/,
      );
    });
  });
}

describe('anchors', () => {
  test('an anchor checks itself: its signature, its key id; a broken or empty log is not anchored', async () => {
    const w = await freshWorkflow('sqlite');
    try {
      await assert.rejects(makeAnchor(w), /audit anchor: the log has no entries yet/);
      await history(w);
      const a = await makeAnchor(w);
      assert.equal(a.kind, 'lethe-audit-anchor');
      assert.equal(a.count, 5);
      assert.equal(a.keyId, w.deployment.keyId);
      assert.deepEqual(parseAnchor(JSON.stringify(a), 'a.json'), { count: 5, hash: a.hash, at: a.at, keyId: a.keyId });
      assert.throws(
        () => parseAnchor(JSON.stringify({ ...a, count: 4 }), 'a.json'),
        /audit anchor a.json: its signature does not verify with its key/,
      );
      assert.throws(
        () => parseAnchor(JSON.stringify({ ...a, keyId: '0'.repeat(16) }), 'a.json'),
        /'keyId' 0{16} is not the id of its 'publicKey'/,
      );
      assert.throws(() => parseAnchor('{"kind":"other"}', 'a.json'), /expected \{"kind": "lethe-audit-anchor"/);
      assert.throws(() => parseAnchor('nope', 'a.json'), /audit anchor a.json: not JSON/);
      await w.store.db.updateTable('audit').set({ actor: 'mallory' }).where('seq', '=', 2).execute();
      await assert.rejects(
        makeAnchor(w),
        /audit anchor: the log does not verify \(\d+ problem\(s\); first: entry 2: content does not match its hash/,
      );
    } finally {
      await w.dispose();
    }
  });
});
