// verifyAudit()'s second half: the tables the audit describes must be what its entries committed to
// (see ./audit-rows.ts). A row no entry describes was added outside the workflow; a row an entry
// describes that is gone was deleted; a row whose digest differs was edited. Entries written before
// rows were committed (older deployments) are counted in `notes`, not reported as problems.
import type { AuditEntry } from './audit.js';
import { digestRequestRows, jobRowDigest, lineageRowDigest, tokenRowDigest, type RequestRowsDigest } from './audit-rows.js';
import type { Db } from './context.js';
import type { ModelsTable, TransitionsTable } from './store/schema.js';

const PAGE = 500;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const isRowsDigest = (v: unknown): v is RequestRowsDigest =>
  !!v && typeof v === 'object' && ['request', 'transitions', 'models'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string');

/** What the entries say about the tables, gathered while the chain is walked. */
export class DescribedRows {
  /** Every request an entry names. */
  readonly requests = new Set<string>();
  /** Per request, the last entry that committed to its rows. */
  readonly requestRows = new Map<string, { seq: number; rows: RequestRowsDigest }>();
  readonly tokens = new Map<string, { seq: number; row: string | null }>();
  readonly revoked = new Map<string, { seq: number; at: string }>();
  readonly jobs = new Map<string, { seq: number; row: string | null }>();
  readonly lineage = new Map<string, { seq: number; row: string | null }>();

  add(e: AuditEntry): void {
    const d = e.details;
    if (e.requestId) {
      this.requests.add(e.requestId);
      if (isRowsDigest(d.rows)) this.requestRows.set(e.requestId, { seq: e.seq, rows: d.rows });
    }
    const token = str(d.tokenId);
    if (e.action === 'tokens.create' && token) this.tokens.set(token, { seq: e.seq, row: str(d.row) });
    if (e.action === 'tokens.revoke' && token) this.revoked.set(token, { seq: e.seq, at: e.at });
    const job = str(d.job);
    if (e.action === 'job.submit' && job) this.jobs.set(job, { seq: e.seq, row: str(d.row) });
    const model = str(d.model);
    if (e.action === 'model.register' && model) this.lineage.set(model, { seq: e.seq, row: str(d.row) });
  }
}

type Note = (problem: string) => void;

/** Pages through a table by its text key. */
async function* pages<T extends { id: string }>(read: (after: string) => Promise<T[]>): AsyncGenerator<T[]> {
  let after = '';
  for (;;) {
    const rows = await read(after);
    if (rows.length) yield rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

function group<T extends { request_id: string | null }>(rows: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) if (r.request_id !== null) m.set(r.request_id, [...(m.get(r.request_id) ?? []), r]);
  return m;
}

async function checkRequests(db: Db, d: DescribedRows, note: Note): Promise<number> {
  const present = new Set<string>();
  let legacy = 0;
  for await (const page of pages((after) =>
    db.selectFrom('requests').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute(),
  )) {
    const ids = page.map((r) => r.id);
    const transitions = group<TransitionsTable>(await db.selectFrom('transitions').selectAll().where('request_id', 'in', ids).execute());
    const models = group<ModelsTable>(await db.selectFrom('models').selectAll().where('request_id', 'in', ids).execute());
    for (const r of page) {
      present.add(r.id);
      const committed = d.requestRows.get(r.id);
      if (!committed) {
        if (d.requests.has(r.id)) legacy++;
        else note(`request ${r.id}: no audit entry describes it (a requests row added outside the workflow)`);
        continue;
      }
      const now = digestRequestRows(r, transitions.get(r.id) ?? [], models.get(r.id) ?? []);
      if (now.request !== committed.rows.request)
        note(`request ${r.id}: its requests row does not match audit entry ${committed.seq} (edited)`);
      if (now.transitions !== committed.rows.transitions)
        note(`request ${r.id}: its transitions rows do not match audit entry ${committed.seq} (edited, added or deleted)`);
      if (now.models !== committed.rows.models)
        note(`request ${r.id}: its registry (models) rows do not match audit entry ${committed.seq} (edited, added or deleted)`);
    }
  }
  for (const id of d.requests) if (!present.has(id)) note(`request ${id}: audit entries name it but its requests row is gone (deleted)`);
  const orphanTransitions = await db
    .selectFrom('transitions')
    .select('request_id')
    .distinct()
    .where((eb) =>
      eb.not(eb.exists(eb.selectFrom('requests').select('requests.id').whereRef('requests.id', '=', 'transitions.request_id'))),
    )
    .execute();
  for (const t of orphanTransitions)
    note(`transitions rows name request ${t.request_id}, which has no requests row (added outside the workflow)`);
  const orphanModels = await db
    .selectFrom('models')
    .select(['name', 'version'])
    .where((eb) =>
      eb.or([
        eb('request_id', 'is', null),
        eb.not(eb.exists(eb.selectFrom('requests').select('requests.id').whereRef('requests.id', '=', 'models.request_id'))),
      ]),
    )
    .execute();
  for (const m of orphanModels) note(`registry row ${m.name} v${m.version} belongs to no request (added outside a release)`);
  return legacy;
}

async function checkTokens(db: Db, d: DescribedRows, note: Note): Promise<number> {
  const present = new Set<string>();
  let legacy = 0;
  for await (const page of pages((after) =>
    db.selectFrom('tokens').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute(),
  )) {
    for (const t of page) {
      present.add(t.id);
      const created = d.tokens.get(t.id);
      if (!created) {
        note(`token ${t.id}: no audit entry created it (a tokens row added outside the workflow)`);
        continue;
      }
      if (created.row === null) legacy++;
      else if (tokenRowDigest(t) !== created.row)
        note(`token ${t.id}: its row does not match audit entry ${created.seq} (edited: role, name or hash)`);
      const revoked = d.revoked.get(t.id);
      if ((revoked?.at ?? null) !== t.revoked_at)
        note(
          `token ${t.id}: its revocation (${t.revoked_at ?? 'none'}) does not match the audit log (${revoked ? `revoked in entry ${revoked.seq}` : 'never revoked'})`,
        );
    }
  }
  for (const [id, c] of d.tokens)
    if (!present.has(id)) note(`token ${id}: created in audit entry ${c.seq} but its tokens row is gone (deleted)`);
  return legacy;
}

async function checkJobs(db: Db, d: DescribedRows, note: Note): Promise<number> {
  const present = new Set<string>();
  let legacy = 0;
  for await (const page of pages((after) =>
    db.selectFrom('jobs').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute(),
  )) {
    for (const j of page) {
      present.add(j.id);
      const submitted = d.jobs.get(j.id);
      if (!submitted) note(`job ${j.id}: no audit entry submitted it (a jobs row added outside the workflow)`);
      else if (submitted.row === null) legacy++;
      else if (jobRowDigest(j) !== submitted.row)
        note(`job ${j.id}: its request, model, options or creator do not match audit entry ${submitted.seq} (edited)`);
    }
  }
  for (const [id, s] of d.jobs)
    if (!present.has(id)) note(`job ${id}: submitted in audit entry ${s.seq} but its jobs row is gone (deleted)`);
  return legacy;
}

/** A lineage row decides which models an erasure reaches: one added, edited or deleted outside
 *  `register` could hide a descendant. */
async function checkLineage(db: Db, d: DescribedRows, note: Note): Promise<void> {
  const present = new Set<string>();
  for (const m of await db.selectFrom('lineage').selectAll().orderBy('name').execute()) {
    present.add(m.name);
    const registered = d.lineage.get(m.name);
    if (!registered) note(`lineage ${m.name}: no audit entry registered it (a lineage row added outside the workflow)`);
    else if (lineageRowDigest(m) !== registered.row)
      note(`lineage ${m.name}: its row does not match audit entry ${registered.seq} (edited: parents, data, how or folder)`);
  }
  for (const [name, r] of d.lineage)
    if (!present.has(name)) note(`lineage ${name}: registered in audit entry ${r.seq} but its lineage row is gone (deleted)`);
}

/** Checks requests, transitions, models, tokens, jobs and lineage against the entries; returns notes on rows
 *  that older entries describe without a digest (checked for presence only). */
export async function checkDescribedTables(db: Db, d: DescribedRows, note: Note): Promise<string[]> {
  const legacy = { requests: await checkRequests(db, d, note), tokens: await checkTokens(db, d, note), jobs: await checkJobs(db, d, note) };
  await checkLineage(db, d, note);
  return Object.entries(legacy)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table} rows were written before audit entries committed to rows: checked for presence only`);
}
