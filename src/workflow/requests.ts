// Erasure requests: created (received), scoped, approved or rejected, then run (unlearning →
// verifying → released | failed). Each transition happens in one transaction with its audit entry,
// records who, when and why, and only moves forward. The approver must be another person than the
// requester and the scoper (four-eyes). The subject is hashed on arrival and never stored.
import { randomBytes } from 'node:crypto';
import { LetheError } from '../util/errors.js';
import { appendAudit, lockForWrite } from './audit.js';
import { confinePath } from './confine.js';
import { requestRowsDigest } from './audit-rows.js';
import type { Trx, Workflow } from './context.js';
import { CreateRequestInput, DecisionInput, parseInput, RunStepInput, ScopeInput, type Category } from './inputs.js';
import { authorize, samePerson, type Actor } from './roles.js';
import { checkTransition, type State } from './states.js';
import type { RequestsTable } from './store/schema.js';
import { hashSubject } from './subjects.js';

export interface Transition {
  from: State | null;
  to: State;
  actor: string;
  at: string;
  reason: string;
}

export interface RequestView {
  id: string;
  state: State;
  category: Category;
  subjectHash: string;
  evidence: { reference: string; sha256?: string };
  requestedBy: string;
  createdAt: string;
  updatedAt: string;
  scope: Omit<ScopeInput, 'reason'> | null;
  history: Transition[];
}

function view(r: RequestsTable, history: Transition[]): RequestView {
  return {
    id: r.id,
    state: r.state as State,
    category: r.category as Category,
    subjectHash: r.subject_hash,
    evidence: { reference: r.evidence_reference, ...(r.evidence_sha256 ? { sha256: r.evidence_sha256 } : {}) },
    requestedBy: r.requested_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    scope: r.scope_json ? (JSON.parse(r.scope_json) as RequestView['scope']) : null,
    history,
  };
}

/** The request and its history in one query (one round trip: the status route is read the most). */
async function load(trx: Trx | Workflow['store']['db'], id: string): Promise<RequestView> {
  const rows = await trx
    .selectFrom('requests')
    .leftJoin('transitions', 'transitions.request_id', 'requests.id')
    .selectAll('requests')
    .select([
      'transitions.seq',
      'transitions.from_state',
      'transitions.to_state',
      'transitions.actor',
      'transitions.at',
      'transitions.reason',
    ])
    .where('requests.id', '=', id)
    .orderBy('transitions.seq')
    .execute();
  if (!rows.length) throw new LetheError('NOT_FOUND', `request ${id}: no such request`);
  const history = rows
    .filter((x) => x.seq !== null)
    .map((x) => ({ from: x.from_state as State | null, to: x.to_state as State, actor: x.actor!, at: x.at!, reason: x.reason! }));
  return view(rows[0]!, history);
}

export async function createRequest(w: Workflow, actor: Actor, body: unknown): Promise<RequestView> {
  authorize(actor, 'request.create');
  const input = parseInput('request create', CreateRequestInput, body);
  const id = `req_${randomBytes(6).toString('hex')}`;
  const at = w.now().toISOString();
  const reason = input.reason ?? `erasure request (${input.category})`;
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    await trx
      .insertInto('requests')
      .values({
        id,
        state: 'received',
        category: input.category,
        subject_hash: hashSubject(w.deployment.salt, input.subject),
        evidence_reference: input.evidence.reference,
        evidence_sha256: input.evidence.sha256 ?? null,
        requested_by: actor.name,
        created_at: at,
        updated_at: at,
        scope_json: null,
      })
      .execute();
    await trx
      .insertInto('transitions')
      .values({ request_id: id, seq: 1, from_state: null, to_state: 'received', actor: actor.name, at, reason })
      .execute();
    // `rows`: the entry commits to the rows it wrote, so editing them outside the workflow fails verifyAudit().
    const rows = await requestRowsDigest(trx, id);
    await appendAudit(
      trx,
      w,
      {
        actor: actor.name,
        action: 'request.create',
        requestId: id,
        details: { category: input.category, subjects: 1, state: 'received', reason, rows },
      },
      at,
    );
  });
  return getRequest(w, actor, id);
}

interface Move {
  to: State;
  reason: string;
  action: string;
  details?: Record<string, unknown>;
  check?: (r: RequestView) => void;
  patch?: Partial<RequestsTable>;
  /** More writes in the same transaction, after the transition (the registry row of a release). */
  also?: (trx: Trx, r: RequestView, at: string) => Promise<void>;
}

/** One forward transition, in one transaction with its audit entry. */
async function move(w: Workflow, actor: Actor, id: string, m: Move): Promise<RequestView> {
  const at = w.now().toISOString();
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    const r = await load(trx, id);
    checkTransition(id, r.state, m.to);
    m.check?.(r);
    await trx
      .updateTable('requests')
      .set({ ...m.patch, state: m.to, updated_at: at })
      .where('id', '=', id)
      .execute();
    await trx
      .insertInto('transitions')
      .values({ request_id: id, seq: r.history.length + 1, from_state: r.state, to_state: m.to, actor: actor.name, at, reason: m.reason })
      .execute();
    await m.also?.(trx, r, at);
    const rows = await requestRowsDigest(trx, id);
    await appendAudit(
      trx,
      w,
      { actor: actor.name, action: m.action, requestId: id, details: { from: r.state, to: m.to, reason: m.reason, ...m.details, rows } },
      at,
    );
  });
  return load(w.store.db, id);
}

export async function scopeRequest(w: Workflow, actor: Actor, id: string, body: unknown): Promise<RequestView> {
  authorize(actor, 'request.scope');
  const { reason, ...scope } = parseInput('request scope', ScopeInput, body);
  // A recorded forget file is deleted after the release: only a regular file inside the data roots,
  // recorded as its real path (the approver sees it), checked without being opened.
  if (scope.forget.path)
    scope.forget.path = confinePath(
      scope.forget.path,
      { dataDir: w.dataDir, roots: w.roots },
      { where: 'request scope', field: 'forget.path', kind: 'file' },
    );
  const p = scope.proposal;
  if (p && (p.files.forget.sha256 !== scope.forget.sha256 || p.files.forget.rows !== scope.forget.rows)) {
    throw new LetheError(
      'BAD_INPUT',
      `request scope: 'forget' (sha256 ${scope.forget.sha256.slice(0, 12)}…, ${scope.forget.rows} rows) is not the proposal's forget file (sha256 ${p.files.forget.sha256.slice(0, 12)}…, ${p.files.forget.rows} rows)`,
    );
  }
  const fromProposal = p
    ? ` (proposal: ${p.counts.forget} records to forget, ${p.counts.neighbours} neighbours to keep, ${p.counts.probes} probes)`
    : '';
  return move(w, actor, id, {
    to: 'scoped',
    action: 'request.scope',
    reason: reason ?? `scoped: ${scope.method} on ${scope.model}, ${scope.forget.rows} forget rows${fromProposal}`,
    details: {
      scope: {
        ...scope,
        forget: { sha256: scope.forget.sha256, rows: scope.forget.rows, ...(scope.forget.path ? { pathRecorded: true } : {}) },
      },
    },
    patch: { scope_json: JSON.stringify(scope) },
  });
}

function fourEyes(actor: Actor, r: RequestView): void {
  if (samePerson(actor.name, r.requestedBy))
    throw new LetheError(
      'FORBIDDEN',
      `request ${r.id}: '${actor.name}' requested it and cannot also approve it (four-eyes: another person must approve)`,
    );
  const scoper = r.history.find((t) => t.to === 'scoped')?.actor;
  if (samePerson(actor.name, scoper))
    throw new LetheError(
      'FORBIDDEN',
      `request ${r.id}: '${actor.name}' scoped it and cannot also approve it (four-eyes: another person must approve)`,
    );
}

export async function approveRequest(w: Workflow, actor: Actor, id: string, body: unknown): Promise<RequestView> {
  authorize(actor, 'request.decide');
  const { reason } = parseInput('request approve', DecisionInput, body);
  return move(w, actor, id, { to: 'approved', action: 'request.approve', reason, check: (r) => fourEyes(actor, r) });
}

/** A refusal: from received, scoped or approved (before any unlearning), always with its reason. */
export async function rejectRequest(w: Workflow, actor: Actor, id: string, body: unknown): Promise<RequestView> {
  authorize(actor, 'request.decide');
  const { reason } = parseInput('request reject', DecisionInput, body);
  return move(w, actor, id, { to: 'rejected', action: 'request.reject', reason });
}

/** The job runner's steps: approved → unlearning → verifying → released, or → failed. */
export async function advanceRequest(
  w: Workflow,
  actor: Actor,
  id: string,
  to: 'unlearning' | 'verifying' | 'released' | 'failed',
  body: unknown,
  details?: Record<string, unknown>,
  also?: Move['also'],
): Promise<RequestView> {
  authorize(actor, 'request.run');
  const { reason } = parseInput(`request ${to}`, RunStepInput, body);
  return move(w, actor, id, { to, action: `request.${to}`, reason, details, also });
}

/** Audits a step of a request without changing its state (the forget file deleted, …). */
export async function auditRequestEvent(
  w: Workflow,
  actor: Actor,
  id: string,
  action: string,
  details: Record<string, unknown>,
): Promise<void> {
  authorize(actor, 'request.run');
  const at = w.now().toISOString();
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    await load(trx, id);
    await appendAudit(trx, w, { actor: actor.name, action, requestId: id, details }, at);
  });
}

export async function getRequest(w: Workflow, actor: Actor, id: string): Promise<RequestView> {
  authorize(actor, 'request.read');
  return load(w.store.db, id);
}

export async function listRequests(
  w: Workflow,
  actor: Actor,
  o: { state?: State; limit?: number } = {},
): Promise<Omit<RequestView, 'history'>[]> {
  authorize(actor, 'request.read');
  let q = w.store.db
    .selectFrom('requests')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(Math.min(o.limit ?? 100, 1000));
  if (o.state) q = q.where('state', '=', o.state);
  return (await q.execute()).map((r) => {
    const { history: _, ...rest } = view(r, []);
    return rest;
  });
}
