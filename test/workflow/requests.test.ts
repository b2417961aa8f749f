// Erasure requests on every store: the forward-only life, who/when/why on every transition,
// four-eyes, roles, refusals with reasons, field-naming input errors, and no raw subject anywhere.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  advanceRequest,
  approveRequest,
  createRequest,
  getRequest,
  hashSubject,
  listRequests,
  rejectRequest,
  scopeRequest,
  transparencyReport,
  verifyAudit,
} from '../../src/workflow/index.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, storeOptions } from './stores.js';
import { alice, bob, carol, createBody, runner, scopeBody, SUBJECT } from './fixtures.js';

after(closeStores);

const code = (c: string, re: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  assert.match(e.message, re);
  return true;
};

for (const kind of STORE_KINDS) {
  describe(`requests on ${kind}`, storeOptions(kind), () => {
    test('received → scoped → approved → unlearning → verifying → released, each step with who, when and why', async () => {
      const w = await freshWorkflow(kind, { now: steppingClock() });
      try {
        const r = await createRequest(w, alice, createBody());
        assert.equal(r.state, 'received');
        assert.match(r.id, /^req_[0-9a-f]{12}$/);
        assert.equal(r.subjectHash, hashSubject(w.deployment.salt, '  ada quillfeather-LOVELACE '), 'normalized, salted hash');
        await scopeRequest(w, alice, r.id, scopeBody());
        await approveRequest(w, bob, r.id, { reason: 'identity checked against the DPO ticket' });
        await advanceRequest(w, runner, r.id, 'unlearning', { reason: 'job 1 started' });
        await advanceRequest(w, runner, r.id, 'verifying', { reason: 'job 1 finished' });
        const done = await advanceRequest(w, runner, r.id, 'released', { reason: 'every check passed' });
        assert.equal(done.state, 'released');
        assert.deepEqual(done.scope, { model: 'models/assistant-v3', method: 'NPO', forget: { sha256: 'b'.repeat(64), rows: 12 } });
        assert.deepEqual(
          done.history.map((t) => [t.from, t.to, t.actor]),
          [
            [null, 'received', 'alice'],
            ['received', 'scoped', 'alice'],
            ['scoped', 'approved', 'bob'],
            ['approved', 'unlearning', 'runner'],
            ['unlearning', 'verifying', 'runner'],
            ['verifying', 'released', 'runner'],
          ],
        );
        assert.equal(done.history[2]!.reason, 'identity checked against the DPO ticket');
        assert.ok(
          done.history.every((t, i) => i === 0 || t.at > done.history[i - 1]!.at),
          'times move forward',
        );
        assert.equal((await getRequest(w, carol, r.id)).state, 'released', 'an auditor may read');
        const v = await verifyAudit(w);
        assert.deepEqual(v.problems, []);
        assert.equal(v.entries, 6);
      } finally {
        await w.dispose();
      }
    });

    test('states only move forward: an illegal transition is a CONFLICT naming both states', async () => {
      const w = await freshWorkflow(kind);
      try {
        const r = await createRequest(w, alice, createBody());
        await assert.rejects(
          approveRequest(w, bob, r.id, { reason: 'ok' }),
          code('CONFLICT', /cannot move from 'received' to 'approved'.*'scoped' or 'rejected'/),
        );
        await assert.rejects(
          advanceRequest(w, runner, r.id, 'released', { reason: 'skip' }),
          code('CONFLICT', /from 'received' to 'released'/),
        );
        await scopeRequest(w, alice, r.id, scopeBody());
        await assert.rejects(scopeRequest(w, alice, r.id, scopeBody()), code('CONFLICT', /from 'scoped' to 'scoped'/));
        await rejectRequest(w, bob, r.id, { reason: 'the evidence does not identify the subject' });
        await assert.rejects(
          approveRequest(w, bob, r.id, { reason: 'changed my mind' }),
          code('CONFLICT', /from 'rejected' to 'approved' \('rejected' is final\)/),
        );
        const after = await getRequest(w, alice, r.id);
        assert.equal(after.state, 'rejected');
        assert.equal(after.history.at(-1)!.reason, 'the evidence does not identify the subject', 'the refusal carries its reason');
        await assert.rejects(getRequest(w, alice, 'req_000000000000'), code('NOT_FOUND', /req_000000000000: no such request/));
      } finally {
        await w.dispose();
      }
    });

    test('four-eyes: the requester or scoper may not approve; roles are enforced; a refusal needs a reason', async () => {
      const w = await freshWorkflow(kind);
      try {
        const r = await createRequest(w, { name: 'dana', role: 'admin' }, createBody());
        await scopeRequest(w, { name: 'erin', role: 'admin' }, r.id, scopeBody());
        await assert.rejects(
          approveRequest(w, { name: 'dana', role: 'admin' }, r.id, { reason: 'mine' }),
          code('FORBIDDEN', /'dana' requested it and cannot also approve it \(four-eyes/),
        );
        await assert.rejects(
          approveRequest(w, { name: 'erin', role: 'approver' }, r.id, { reason: 'mine' }),
          code('FORBIDDEN', /'erin' scoped it/),
        );
        await assert.rejects(
          approveRequest(w, alice, r.id, { reason: 'x' }),
          code('FORBIDDEN', /request.decide: role 'requester' may not/),
        );
        await assert.rejects(createRequest(w, bob, createBody()), code('FORBIDDEN', /request.create: role 'approver'/));
        await assert.rejects(createRequest(w, carol, createBody()), code('FORBIDDEN', /role 'auditor'/));
        await assert.rejects(advanceRequest(w, bob, r.id, 'unlearning', { reason: 'go' }), code('FORBIDDEN', /request.run/));
        await assert.rejects(rejectRequest(w, bob, r.id, {}), code('BAD_INPUT', /request reject: 'reason' must be/));
        await assert.rejects(rejectRequest(w, bob, r.id, { reason: '   ' }), code('BAD_INPUT', /'reason'/));
        assert.equal((await approveRequest(w, bob, r.id, { reason: 'checked' })).state, 'approved');
      } finally {
        await w.dispose();
      }
    });

    test('four-eyes compares people, not spellings: case, Unicode form and spaces do not make another person', async () => {
      const w = await freshWorkflow(kind);
      try {
        const r = await createRequest(w, { name: 'alice', role: 'requester' }, createBody());
        await scopeRequest(w, { name: 'Straße', role: 'admin' }, r.id, scopeBody());
        for (const name of ['Alice', 'ALICE', ' alice ', 'ａｌｉｃｅ']) {
          await assert.rejects(
            approveRequest(w, { name, role: 'approver' }, r.id, { reason: 'x' }),
            code('FORBIDDEN', /requested it and cannot also approve it/),
            name,
          );
        }
        for (const name of ['STRASSE', 'straße', 'Strasse']) {
          await assert.rejects(
            approveRequest(w, { name, role: 'approver' }, r.id, { reason: 'x' }),
            code('FORBIDDEN', /scoped it and cannot also approve it/),
            name,
          );
        }
        assert.equal((await approveRequest(w, { name: 'alicia', role: 'approver' }, r.id, { reason: 'checked' })).state, 'approved');
      } finally {
        await w.dispose();
      }
    });

    test('bad input names the field and never echoes the subject', async () => {
      const w = await freshWorkflow(kind);
      try {
        await assert.rejects(
          createRequest(w, alice, createBody({ category: 'curiosity' })),
          code('BAD_INPUT', /request create: 'category' must be one of 'privacy', 'copyright', 'safety', 'bias', got 'curiosity'/),
        );
        await assert.rejects(
          createRequest(w, alice, createBody({ evidence: { reference: '' } })),
          code('BAD_INPUT', /'evidence.reference'/),
        );
        await assert.rejects(
          createRequest(w, alice, createBody({ evidence: { reference: 'x', sha256: 'nothex' } })),
          code('BAD_INPUT', /'evidence.sha256' must be a sha256/),
        );
        await assert.rejects(
          createRequest(w, alice, createBody({ colour: 'red' })),
          code('BAD_INPUT', /'colour' must be absent \(unknown field\)/),
        );
        await assert.rejects(
          createRequest(w, alice, createBody({ subject: 'x'.repeat(600) })),
          (e: Error) => /'subject'/.test(e.message) && !e.message.includes('xxxx'),
        );
        const r = await createRequest(w, alice, createBody());
        await assert.rejects(
          scopeRequest(w, alice, r.id, scopeBody({ forget: { sha256: 'b'.repeat(64), rows: 0 } })),
          code('BAD_INPUT', /request scope: 'forget.rows' must be/),
        );
      } finally {
        await w.dispose();
      }
    });

    test('the store and the audit never hold the raw subject; the transparency report counts only', async () => {
      const w = await freshWorkflow(kind);
      try {
        const a = await createRequest(w, alice, createBody());
        const b = await createRequest(w, alice, createBody({ category: 'copyright', subject: 'Some Author' }));
        await createRequest(w, alice, createBody({ category: 'safety', subject: 'recipe X' }));
        await rejectRequest(w, bob, b.id, { reason: 'licensed content' });
        await scopeRequest(w, alice, a.id, scopeBody());
        const everything = JSON.stringify(
          await Promise.all(
            (['requests', 'transitions', 'audit', 'audit_head', 'tokens'] as const).map((t) =>
              w.store.db.selectFrom(t).selectAll().execute(),
            ),
          ),
        );
        for (const s of [SUBJECT, SUBJECT.toLowerCase(), 'Some Author', 'recipe X'])
          assert.ok(!everything.includes(s), `no '${s}' in the store`);
        if (kind === 'sqlite') {
          const bytes = ['lethe.db', 'lethe.db-wal']
            .filter((f) => existsSync(join(w.dataDir, f)))
            .map((f) => readFileSync(join(w.dataDir, f)).toString('latin1'))
            .join('');
          assert.ok(!bytes.toLowerCase().includes('quillfeather'), 'not even in the SQLite file or its WAL');
        }
        const rep = await transparencyReport(w, carol);
        assert.equal(rep.total, 3);
        assert.equal(rep.byCategory.privacy.scoped, 1);
        assert.equal(rep.byCategory.copyright.rejected, 1);
        assert.equal(rep.byCategory.safety.received, 1);
        assert.equal(rep.byCategory.bias.received, 0);
        assert.deepEqual(
          { received: rep.byState.received, scoped: rep.byState.scoped, rejected: rep.byState.rejected },
          { received: 1, scoped: 1, rejected: 1 },
        );
        assert.ok(!JSON.stringify(rep).includes('alice'), 'no people in the report');
        assert.equal((await listRequests(w, bob, { state: 'received' })).length, 1);
      } finally {
        await w.dispose();
      }
    });

    test('concurrent requests serialize: the audit chain stays whole', async () => {
      const w = await freshWorkflow(kind);
      try {
        const made = await Promise.all(
          Array.from({ length: 12 }, (_, i) => createRequest(w, alice, createBody({ subject: `person ${i}` }))),
        );
        await Promise.all(made.map((r) => scopeRequest(w, alice, r.id, scopeBody())));
        const v = await verifyAudit(w);
        assert.deepEqual(v.problems, []);
        assert.equal(v.entries, 24);
      } finally {
        await w.dispose();
      }
    });
  });
}
