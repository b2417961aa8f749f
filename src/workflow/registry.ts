// The model registry: each release of a model name is a new version, recorded with the released
// folder's fingerprint (util/model-fingerprint.ts), the request it came from and its certificate's sha256.
import { LetheError } from '../util/errors.js';
import type { Db, Workflow } from './context.js';
import { authorize, type Actor } from './roles.js';

export interface ModelVersion {
  name: string;
  version: number;
  path: string;
  contentSha256: string;
  files: Record<string, string>;
  requestId: string | null;
  certificateSha256: string | null;
  releasedBy: string;
  releasedAt: string;
}

/** The version the next release of `name` gets. */
export async function nextVersion(db: Db, name: string): Promise<number> {
  const r = await db
    .selectFrom('models')
    .select((eb) => eb.fn.max('version').as('v'))
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(r?.v ?? 0) + 1;
}

/** Another release of the same name took the version meanwhile: number the release again. */
export class VersionTakenError extends LetheError {
  constructor(name: string, version: number) {
    super('CONFLICT', `registry: ${name} v${version} was released by someone else meanwhile; run again`);
  }
}

/** Runs `release(version)` with the next version of `name`. When another release of the name takes
 *  that version between numbering and recording (insertModelVersion inside `release` refuses it),
 *  numbers it and runs it again, up to `attempts` times in all. */
export async function withNextVersion<T>(db: Db, name: string, release: (version: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await release(await nextVersion(db, name));
    } catch (err) {
      if (attempt >= attempts || !(err instanceof VersionTakenError)) throw err;
    }
  }
}

/** Records a release as version `v.version` (in the release's transaction), refusing it if another
 *  release of the name took that version meanwhile. */
export async function insertModelVersion(
  trx: Db,
  v: Omit<ModelVersion, 'requestId' | 'certificateSha256'> & { requestId: string; certificateSha256: string },
): Promise<void> {
  if ((await nextVersion(trx, v.name)) !== v.version) throw new VersionTakenError(v.name, v.version);
  await trx
    .insertInto('models')
    .values({
      name: v.name,
      version: v.version,
      path: v.path,
      content_sha256: v.contentSha256,
      files_json: JSON.stringify(v.files),
      request_id: v.requestId,
      certificate_sha256: v.certificateSha256,
      released_by: v.releasedBy,
      released_at: v.releasedAt,
    })
    .execute();
}

export async function listModelVersions(w: Workflow, actor: Actor, name?: string): Promise<ModelVersion[]> {
  authorize(actor, 'request.read');
  let q = w.store.db.selectFrom('models').selectAll().orderBy('name').orderBy('version');
  if (name) q = q.where('name', '=', name);
  return (await q.execute()).map((r) => ({
    name: r.name,
    version: Number(r.version),
    path: r.path,
    contentSha256: r.content_sha256,
    files: JSON.parse(r.files_json) as Record<string, string>,
    requestId: r.request_id,
    certificateSha256: r.certificate_sha256,
    releasedBy: r.released_by,
    releasedAt: r.released_at,
  }));
}
