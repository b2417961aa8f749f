// What an audit entry commits to besides itself: digests of the table rows it describes, so that an
// edit, an addition or a deletion made in those tables outside the workflow fails verifyAudit().
// - A request's transition entry (and its creation) carries `rows`: digests of the request row, all
//   its transitions rows and its registry (models) rows as they are once the transition is written.
//   The last such entry of a request must match the tables now (rows only change with a transition).
// - `tokens.create`, `job.submit` and `model.register` carry `row`: a digest of the token row, of the
//   job row's fields that never change (state, progress and errors change without an entry), or of
//   the lineage row (which never changes).
// Columns are listed explicitly, so that a later migration adding one does not change old digests.
import { canonicalJson, sha256 } from '../util/hash.js';
import type { Db, Trx } from './context.js';
import type { JobsTable, LineageTable, ModelsTable, RequestsTable, TokensTable, TransitionsTable } from './store/schema.js';

const REQUEST_COLUMNS = [
  'id',
  'state',
  'category',
  'subject_hash',
  'evidence_reference',
  'evidence_sha256',
  'requested_by',
  'created_at',
  'updated_at',
  'scope_json',
] as const;
const TRANSITION_COLUMNS = ['request_id', 'seq', 'from_state', 'to_state', 'actor', 'at', 'reason'] as const;
const MODEL_COLUMNS = [
  'name',
  'version',
  'path',
  'content_sha256',
  'files_json',
  'request_id',
  'certificate_sha256',
  'released_by',
  'released_at',
] as const;
const TOKEN_COLUMNS = ['id', 'token_hash', 'role', 'name', 'created_at'] as const;
const JOB_COLUMNS = ['id', 'request_id', 'model', 'options_json', 'created_by', 'created_at'] as const;
const LINEAGE_COLUMNS = [
  'name',
  'path',
  'content_sha256',
  'how',
  'parents_json',
  'data_json',
  'details_json',
  'registered_by',
  'registered_at',
] as const;

const pick = <T, K extends keyof T>(row: T, columns: readonly K[]) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
const digest = (table: string, rows: unknown) => sha256(canonicalJson({ table, rows }));

/** The digests a request's transition entry commits to. */
export interface RequestRowsDigest {
  request: string;
  transitions: string;
  models: string;
}

export function digestRequestRows(request: RequestsTable, transitions: TransitionsTable[], models: ModelsTable[]): RequestRowsDigest {
  const bySeq = [...transitions].sort((a, b) => Number(a.seq) - Number(b.seq));
  const byVersion = [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(a.version) - Number(b.version)));
  return {
    request: digest('requests', pick(request, REQUEST_COLUMNS)),
    transitions: digest(
      'transitions',
      bySeq.map((t) => ({ ...pick(t, TRANSITION_COLUMNS), seq: Number(t.seq) })),
    ),
    models: digest(
      'models',
      byVersion.map((m) => ({ ...pick(m, MODEL_COLUMNS), version: Number(m.version) })),
    ),
  };
}

/** Reads a request's rows (inside the writer's transaction, after its writes) and digests them. */
export async function requestRowsDigest(trx: Trx | Db, id: string): Promise<RequestRowsDigest> {
  const request = await trx.selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const transitions = await trx.selectFrom('transitions').selectAll().where('request_id', '=', id).execute();
  const models = await trx.selectFrom('models').selectAll().where('request_id', '=', id).execute();
  return digestRequestRows(request, transitions, models);
}

export const tokenRowDigest = (t: TokensTable) => digest('tokens', pick(t, TOKEN_COLUMNS));
export const jobRowDigest = (j: JobsTable) => digest('jobs', pick(j, JOB_COLUMNS));
export const lineageRowDigest = (m: LineageTable) => digest('lineage', pick(m, LINEAGE_COLUMNS));
