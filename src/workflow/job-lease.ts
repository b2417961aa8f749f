// The job queue in the store, shared by every process that runs jobs (`lethe serve` with its own
// workers, `lethe worker` on any host). A runner claims a job atomically: the oldest job of a model
// whose earlier jobs are all finished, queued or left 'running' by a holder whose lease has expired
// (PostgreSQL: FOR UPDATE SKIP LOCKED, so claimers never wait on each other; SQLite: the claim runs
// under the database's write lock). The claim records the holder and the lease's end, on the
// database's clock (hosts' clocks may differ); the holder renews it while its worker runs, and every
// write of the job's progress or outcome is refused unless it is still the holder. Each claim is a
// row of job_claims, closed when it ends, so that one job's claims can be shown never to overlap.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type RawBuilder } from 'kysely';
import { LetheError } from '../util/errors.js';
import { lockForWrite } from './audit.js';
import type { Trx, Workflow } from './context.js';
import { holderAlive, procStartOf } from './data-lock.js';
import type { Dialect } from './store/open.js';
import type { JobsTable } from './store/schema.js';

export interface LeaseTiming {
  /** How long a claim holds without renewal. */
  leaseMs: number;
  /** How often the holder renews it (well under leaseMs). */
  heartbeatMs: number;
}

export const DEFAULT_LEASE: LeaseTiming = { leaseMs: 30_000, heartbeatMs: 5_000 };

/** Checks a timing from the command line or a caller: a heartbeat that cannot renew in time is refused. */
export function checkLeaseTiming(t: LeaseTiming): LeaseTiming {
  // The holder stops its worker when no renewal went through for leaseMs - 2 heartbeats: that must
  // leave room for a renewal to be late once.
  if (!(t.heartbeatMs > 0 && t.leaseMs >= 4 * t.heartbeatMs))
    throw new LetheError(
      'BAD_INPUT',
      `job leases: the lease (${t.leaseMs} ms) must be at least 4 heartbeats (${t.heartbeatMs} ms), so that a renewal may be late`,
    );
  return t;
}

/** A runner's identity: host/pid/kernel start time of the pid/random (unique per runner, even in one process). */
export function newHolderId(): string {
  return `${hostname()}/${process.pid}/${procStartOf(process.pid)}/${randomBytes(4).toString('hex')}`;
}

/** True when `holder` names a process on this host that is gone (a reused pid is not taken for it). */
export function holderGoneHere(holder: string): boolean {
  const [host, pid, procStart] = holder.split('/');
  if (host !== hostname() || !pid) return false;
  return !holderAlive({ pid: Number(pid), host, procStart: procStart ?? '', startedAt: '', dataDir: '' });
}

/** The database's time `plusMs` from now, as the ISO-8601 UTC text every time column holds. */
export function dbTime(dialect: Dialect, plusMs = 0): RawBuilder<string> {
  const secs = (plusMs / 1000).toFixed(3);
  return dialect === 'postgres'
    ? sql<string>`to_char((clock_timestamp() at time zone 'UTC') + make_interval(secs => ${sql.raw(secs)}), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${sql.raw(`'${plusMs >= 0 ? '+' : ''}${secs} seconds'`)})`;
}

export interface Claim {
  /** The job's row as claimed (state 'running', attempts counted). */
  row: JobsTable;
  /** The state it was claimed from: 'running' is a takeover of an expired lease. */
  was: 'queued' | 'running';
}

/** Claims the next job for `holder`, or null when none is free. */
export async function claimNext(w: Workflow, holder: string, leaseMs: number): Promise<Claim | null> {
  const d = w.store.dialect;
  return w.store.db.transaction().execute(async (trx) => {
    if (d === 'sqlite') await lockForWrite(trx, d);
    let q = trx
      .selectFrom('jobs as j')
      .select(['j.id', 'j.state'])
      .where((eb) =>
        eb.or([eb('j.state', '=', 'queued'), eb.and([eb('j.state', '=', 'running'), eb('j.lease_expires_at', '<', dbTime(d))])]),
      )
      // The head of its model's queue: no earlier job of the model is unfinished (one at a time, in order).
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('jobs as k')
              .select('k.id')
              .whereRef('k.model', '=', 'j.model')
              .where('k.state', 'in', ['queued', 'running'])
              .where((eb) =>
                eb.or([
                  eb('k.created_at', '<', eb.ref('j.created_at')),
                  eb.and([eb('k.created_at', '=', eb.ref('j.created_at')), eb('k.id', '<', eb.ref('j.id'))]),
                ]),
              ),
          ),
        ),
      )
      .orderBy('j.created_at')
      .orderBy('j.id')
      .limit(1);
    if (d === 'postgres') q = q.forUpdate('j').skipLocked();
    const found = await q.executeTakeFirst();
    if (!found) return null;
    const until = dbTime(d, leaseMs);
    await trx
      .updateTable('jobs')
      .set((eb) => ({
        state: 'running',
        lease_holder: holder,
        lease_expires_at: until,
        worker_pid: null,
        attempts: eb('attempts', '+', 1),
      }))
      .where('id', '=', found.id)
      .execute();
    const row = await trx.selectFrom('jobs').selectAll().where('id', '=', found.id).executeTakeFirstOrThrow();
    // The previous claim (a holder that died or lost its lease) ended when its lease did.
    await trx
      .updateTable('job_claims')
      .set({ ended_at: sql<string>`case when lease_until < ${dbTime(d)} then lease_until else ${dbTime(d)} end`, end_reason: 'expired' })
      .where('job_id', '=', found.id)
      .where('ended_at', 'is', null)
      .execute();
    await trx
      .insertInto('job_claims')
      .values({
        job_id: found.id,
        attempt: Number(row.attempts),
        holder,
        claimed_at: dbTime(d),
        lease_until: row.lease_expires_at!,
        ended_at: null,
        end_reason: null,
      })
      .execute();
    return { row, was: found.state as Claim['was'] };
  });
}

/** Renews the holder's lease; null when it no longer holds the job (taken over, finished, or its lease
 *  ran out: a lease that has ended is not renewed, even before anyone claims the job). */
export async function renewLease(
  w: Workflow,
  id: string,
  holder: string,
  leaseMs: number,
): Promise<{ cancelRequestedBy: string | null } | null> {
  const d = w.store.dialect;
  return w.store.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('jobs')
      .set({ lease_expires_at: dbTime(d, leaseMs) })
      .where('id', '=', id)
      .where('lease_holder', '=', holder)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>=', dbTime(d))
      .returning(['lease_expires_at', 'cancel_requested_by'])
      .executeTakeFirst();
    if (!r) return null;
    await openClaim(trx, id, holder).set({ lease_until: r.lease_expires_at! }).execute();
    return { cancelRequestedBy: r.cancel_requested_by };
  });
}

const openClaim = (trx: Trx, id: string, holder: string) =>
  trx.updateTable('job_claims').where('job_id', '=', id).where('holder', '=', holder).where('ended_at', 'is', null);

/** A holder's write to its job: applied only while its lease runs, else CONFLICT (the caller stops its
 *  worker). `end` also ends the lease (the job finished, or is handed back to the queue). */
export async function writeAsHolder(
  w: Workflow,
  id: string,
  holder: string,
  patch: Partial<Omit<JobsTable, 'id'>>,
  end?: 'finished' | 'handed back',
): Promise<void> {
  const d = w.store.dialect;
  await w.store.db.transaction().execute(async (trx) => {
    const ended = end ? { lease_holder: null, lease_expires_at: null, cancel_requested_by: null } : {};
    const r = await trx
      .updateTable('jobs')
      .set({ ...patch, ...ended })
      .where('id', '=', id)
      .where('lease_holder', '=', holder)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>=', dbTime(d))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw lostLease(id);
    if (end)
      await openClaim(trx, id, holder)
        .set({ ended_at: dbTime(d), end_reason: end })
        .execute();
  });
}

export const lostLease = (id: string) => new LetheError('CONFLICT', `job ${id}: this process no longer holds its lease`);

/** Makes a running job claimable now: its holder is known to be gone (a dead process on this host, or a
 *  row from before leases). Only if the row still names that holder. */
export async function expireLease(w: Workflow, id: string, holder: string | null): Promise<void> {
  await w.store.db
    .updateTable('jobs')
    .set({ lease_expires_at: '1970-01-01T00:00:00.000Z', worker_pid: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_holder', holder === null ? 'is' : '=', holder)
    .execute();
}

/** Asks the holder of a running job to cancel it (the holder alone stops its worker); false if not running. */
export async function requestCancel(w: Workflow, id: string, by: string): Promise<boolean> {
  const r = await w.store.db
    .updateTable('jobs')
    .set({ cancel_requested_by: by })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** True while `holder` holds the job and its lease runs (a job's worker process checks between steps). */
export async function leaseRuns(w: Workflow, id: string, holder: string): Promise<boolean> {
  const r = await w.store.db
    .selectFrom('jobs')
    .select('id')
    .where('id', '=', id)
    .where('lease_holder', '=', holder)
    .where('state', '=', 'running')
    .where('lease_expires_at', '>=', dbTime(w.store.dialect))
    .executeTakeFirst();
  return !!r;
}

/** The worker process's own guard, for when its runner cannot stop it (frozen, cut off): between
 *  training steps it asks the store at most once a heartbeat whether its runner's lease still runs,
 *  and answers false once it has not heard yes for leaseMs - 2 heartbeats (as the runner itself does). */
export function leaseGuard(w: Workflow, id: string, holder: string, t: LeaseTiming): () => Promise<boolean> {
  let confirmedAt = performance.now();
  let askedAt = -Infinity;
  return async () => {
    const now = performance.now();
    if (now - askedAt >= t.heartbeatMs) {
      askedAt = now;
      try {
        if (!(await leaseRuns(w, id, holder))) return false;
        confirmedAt = now;
      } catch {
        /* the store unreachable: the time limit below decides */
      }
    }
    return performance.now() - confirmedAt <= t.leaseMs - 2 * t.heartbeatMs;
  };
}
