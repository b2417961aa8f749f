// The tables the audit describes, on every store: a requests, transitions, registry (models), tokens
// or jobs row added, edited or deleted outside the workflow fails verifyAudit(), each with its own
// problem. Older entries without row digests still verify (rows checked for presence only).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { advanceRequest, createJob, createToken, makeAnchor, parseAnchor, revokeToken, verifyAudit } from '../../src/workflow/index.js';
import { jobRows } from '../../src/workflow/jobs.js';
import { claimNext } from '../../src/workflow/job-lease.js';
import type { Db } from '../../src/workflow/context.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions, type StoreKind, type TestWorkflow } from './stores.js';
import { runner } from './fixtures.js';
import { approved, setup } from './run-fixtures.js';
import { recommitRows, rewriteChain } from './audit-attacker.js';

after(closeStores);

const LENIENT = { name: 'lenient', checks: [{ metric: 'mia_min_k', between: [0, 1] }] };

interface History {
  w: TestWorkflow;
  queued: string;
  released: string;
  job: string;
  mallory: string;
}

/** Tokens (one revoked), a request with a queued job, a request released with a registry row. */
async function history(kind: StoreKind): Promise<History> {
  const w = await freshWorkflow(kind);
  await createToken(w, { role: 'requester', name: 'alice' });
  const mallory = (await createToken(w, { role: 'approver', name: 'mallory' })).id;
  await revokeToken(w, mallory);
  const s = setup(w.dataDir);
  const queued = await approved(w, s.forgetFile);
  const job = (
    await createJob(
      w,
      runner,
      queued,
      { model: 'model', forgetFile: 'forget.jsonl', method: 'GradAscent', policy: LENIENT, training: { steps: 3 } },
      { dataDir: w.dataDir },
    )
  ).id;
  const released = await approved(w, s.forgetFile);
  await advanceRequest(w, runner, released, 'unlearning', { reason: 'unlearning' });
  await advanceRequest(w, runner, released, 'verifying', { reason: 'evaluating' });
  await advanceRequest(w, runner, released, 'released', { reason: 'released' }, {}, async (trx, _r, at) => {
    await trx
      .insertInto('models')
      .values({
        name: 'tiny-assistant',
        version: 1,
        path: `${w.dataDir}/jobs/x/model`,
        content_sha256: 'c'.repeat(64),
        files_json: '{}',
        request_id: released,
        certificate_sha256: 'd'.repeat(64),
        released_by: runner.name,
        released_at: at,
      })
      .execute();
  });
  const clean = await verifyAudit(w);
  assert.deepEqual(clean.problems, [], 'clean before tampering');
  assert.deepEqual(clean.notes, []);
  return { w, queued, released, job, mallory };
}

async function problems(kind: StoreKind, tamper: (h: History) => Promise<unknown>): Promise<string[]> {
  const h = await history(kind);
  try {
    await tamper(h);
    const v = await verifyAudit(h.w);
    assert.equal(v.ok, false, 'tampering is found');
    return v.problems;
  } finally {
    await h.w.dispose();
  }
}

const has = (p: string[], re: RegExp) =>
  assert.ok(
    p.some((x) => re.test(x)),
    `expected ${re} in:\n${p.join('\n')}`,
  );

/** Foreign keys off, as in an sqlite3 shell (off by default) or a Postgres superuser's session; on
 *  one connection, since a server's pool may run the next statement on another. */
async function withoutForeignKeys(w: TestWorkflow, fn: (db: Db) => Promise<unknown>): Promise<void> {
  await w.store.db.connection().execute(async (db) => {
    if (w.store.dialect === 'sqlite') await sql`pragma foreign_keys = off`.execute(db);
    else await sql`set session_replication_role = replica`.execute(db);
    await fn(db);
  });
}

for (const kind of STORE_KINDS) {
  describe(`audited tables on ${kind}`, storeOptions(kind), () => {
    test('requests: a row added, edited, deleted', async () => {
      has(
        await problems(kind, ({ w }) =>
          w.store.db
            .insertInto('requests')
            .values({
              id: 'req_000000000000',
              state: 'approved',
              category: 'privacy',
              subject_hash: 'e'.repeat(64),
              evidence_reference: 't',
              evidence_sha256: null,
              requested_by: 'alice',
              created_at: '2025-01-01T00:00:00.000Z',
              updated_at: '2025-01-01T00:00:00.000Z',
              scope_json: null,
            })
            .execute(),
        ),
        /^request req_000000000000: no audit entry describes it \(a requests row added outside the workflow\)$/,
      );
      has(
        await problems(kind, ({ w, queued }) =>
          w.store.db
            .updateTable('requests')
            .set({ subject_hash: 'e'.repeat(64) })
            .where('id', '=', queued)
            .execute(),
        ),
        /^request req_\w+: its requests row does not match audit entry \d+ \(edited\)$/,
      );
      has(
        await problems(kind, async ({ w, released }) => {
          for (const t of ['models', 'transitions'] as const) await w.store.db.deleteFrom(t).where('request_id', '=', released).execute();
          await w.store.db.deleteFrom('requests').where('id', '=', released).execute();
        }),
        /^request req_\w+: audit entries name it but its requests row is gone \(deleted\)$/,
      );
    });

    test('transitions: a row edited, deleted, added (also for a request that does not exist)', async () => {
      const transitions = /^request req_\w+: its transitions rows do not match audit entry \d+ \(edited, added or deleted\)$/;
      has(
        await problems(kind, ({ w, queued }) =>
          w.store.db
            .updateTable('transitions')
            .set({ reason: 'nobody checked' })
            .where('request_id', '=', queued)
            .where('seq', '=', 3)
            .execute(),
        ),
        transitions,
      );
      has(
        await problems(kind, ({ w, queued }) =>
          w.store.db.deleteFrom('transitions').where('request_id', '=', queued).where('seq', '=', 3).execute(),
        ),
        transitions,
      );
      has(
        await problems(kind, ({ w, queued }) =>
          w.store.db
            .insertInto('transitions')
            .values({
              request_id: queued,
              seq: 4,
              from_state: 'approved',
              to_state: 'rejected',
              actor: 'bob',
              at: '2030-01-01T00:00:00.000Z',
              reason: 'x',
            })
            .execute(),
        ),
        transitions,
      );
      has(
        await problems(kind, ({ w }) =>
          withoutForeignKeys(w, (db) =>
            db
              .insertInto('transitions')
              .values({ request_id: 'req_ghost', seq: 1, from_state: null, to_state: 'received', actor: 'x', at: 'x', reason: 'x' })
              .execute(),
          ),
        ),
        /^transitions rows name request req_ghost, which has no requests row \(added outside the workflow\)$/,
      );
    });

    test('registry: a row edited, a row belonging to no request', async () => {
      has(
        await problems(kind, ({ w }) => w.store.db.updateTable('models').set({ path: '/elsewhere' }).execute()),
        /^request req_\w+: its registry \(models\) rows do not match audit entry \d+ \(edited, added or deleted\)$/,
      );
      has(
        await problems(kind, ({ w }) =>
          w.store.db
            .insertInto('models')
            .values({
              name: 'tiny-assistant',
              version: 2,
              path: '/elsewhere',
              content_sha256: 'c'.repeat(64),
              files_json: '{}',
              request_id: null,
              certificate_sha256: null,
              released_by: 'x',
              released_at: 'x',
            })
            .execute(),
        ),
        /^registry row tiny-assistant v2 belongs to no request \(added outside a release\)$/,
      );
    });

    test('tokens: a row added, a role raised, a revocation undone, a row deleted', async () => {
      has(
        await problems(kind, ({ w }) =>
          w.store.db
            .insertInto('tokens')
            .values({ id: '0badc0de', token_hash: 'f'.repeat(64), role: 'admin', name: 'eve', created_at: 'x', revoked_at: null })
            .execute(),
        ),
        /^token 0badc0de: no audit entry created it \(a tokens row added outside the workflow\)$/,
      );
      has(
        await problems(kind, ({ w }) => w.store.db.updateTable('tokens').set({ role: 'admin' }).where('name', '=', 'alice').execute()),
        /^token \w+: its row does not match audit entry 1 \(edited: role, name or hash\)$/,
      );
      has(
        await problems(kind, ({ w, mallory }) =>
          w.store.db.updateTable('tokens').set({ revoked_at: null }).where('id', '=', mallory).execute(),
        ),
        /^token \w+: its revocation \(none\) does not match the audit log \(revoked in entry 3\)$/,
      );
      has(
        await problems(kind, ({ w, mallory }) => w.store.db.deleteFrom('tokens').where('id', '=', mallory).execute()),
        /^token \w+: created in audit entry 2 but its tokens row is gone \(deleted\)$/,
      );
    });

    test('jobs: a row added, its options edited, a row deleted; progress and state may change', async () => {
      has(
        await problems(kind, async ({ w, job }) => {
          const row = await w.store.db.selectFrom('jobs').selectAll().where('id', '=', job).executeTakeFirstOrThrow();
          await w.store.db.updateTable('jobs').set({ state: 'cancelled' }).execute();
          await w.store.db
            .insertInto('jobs')
            .values({ ...row, id: 'job_forged' })
            .execute();
        }),
        /^job job_forged: no audit entry submitted it \(a jobs row added outside the workflow\)$/,
      );
      has(
        await problems(kind, ({ w }) => w.store.db.updateTable('jobs').set({ options_json: '{"forgetFile":"/etc/passwd"}' }).execute()),
        /^job \w+: its request, model, options or creator do not match audit entry \d+ \(edited\)$/,
      );
      has(
        await problems(kind, ({ w }) => w.store.db.deleteFrom('jobs').execute()),
        /^job \w+: submitted in audit entry \d+ but its jobs row is gone \(deleted\)$/,
      );
      const h = await history(kind);
      try {
        assert.equal((await claimNext(h.w, 'test-runner', 60_000))?.row.id, h.job);
        await jobRows.update(h.w, h.job, 'test-runner', {
          worker_pid: 1234,
          progress: { phase: 'unlearning', step: 1, totalSteps: 3, loss: 1, resumedFrom: null },
        });
        assert.deepEqual((await verifyAudit(h.w)).problems, []);
      } finally {
        await h.w.dispose();
      }
    });

    test('a row edited and its entry recomputed and re-signed with the deployment key: only the anchor finds it', async () => {
      const h = await history(kind);
      try {
        const anchor = parseAnchor(JSON.stringify(await makeAnchor(h.w)), 'anchor.json');
        await h.w.store.db
          .updateTable('requests')
          .set({ subject_hash: 'e'.repeat(64) })
          .where('id', '=', h.queued)
          .execute();
        await rewriteChain(h.w, h.w.deployment.privateKey, (es) => recommitRows(h.w, es, h.queued));
        assert.deepEqual((await verifyAudit(h.w)).problems, [], 'the limit: consistent and signed with the deployment key');
        has((await verifyAudit(h.w, anchor)).problems, /does not match the anchor's hash \(history rewritten before the anchor\)/);
      } finally {
        await h.w.dispose();
      }
    });

    test('a log written before entries committed to rows still verifies, rows checked for presence', async () => {
      const h = await history(kind);
      try {
        const strip = ({ rows: _r, row: _o, ...rest }: Record<string, unknown>) => rest;
        await rewriteChain(h.w, h.w.deployment.privateKey, (es) => es.map((e) => ({ ...e, details: strip(e.details) })));
        const v = await verifyAudit(h.w);
        assert.deepEqual(v.problems, []);
        assert.deepEqual(v.notes, [
          '2 requests rows were written before audit entries committed to rows: checked for presence only',
          '2 tokens rows were written before audit entries committed to rows: checked for presence only',
          '1 jobs rows were written before audit entries committed to rows: checked for presence only',
        ]);
        await h.w.store.db.deleteFrom('jobs').execute();
        has((await verifyAudit(h.w)).problems, /^job \w+: submitted in audit entry \d+ but its jobs row is gone \(deleted\)$/);
      } finally {
        await h.w.dispose();
      }
    });
  });
}
