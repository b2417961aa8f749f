// Bearer tokens: `lethe_<id>_<secret>`, shown once at creation; the store keeps only sha256(token),
// the role and the person's name. Creating and revoking a token is audited.
// One name is one person (four-eyes binds people by name): a name that is an existing token's name
// in another spelling ("Alice" beside "alice", compared as identityKey does) is refused, and a second
// role for the same person needs `additionalRole` (an admin who also files requests, say). Revoked
// tokens count: their names are in the history that four-eyes reads.
// A verified token is cached for a few seconds (TOKEN_CACHE_MS): the status route is polled hard.
import { randomBytes } from 'node:crypto';
import { LetheError, invalidArgument } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { LruMap } from '../util/lru-map.js';
import { appendAudit, lockForWrite } from './audit.js';
import { tokenRowDigest } from './audit-rows.js';
import type { Workflow } from './context.js';
import { authorize, identityKey, isRole, ROLES, SYSTEM_ACTOR, type Actor, type Role } from './roles.js';

export interface CreatedToken {
  id: string;
  token: string;
  role: Role;
  name: string;
}
export interface TokenInfo {
  id: string;
  role: Role;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export const hashToken = (token: string) => sha256(token);
const NAME = /^[A-Za-z0-9._@-]{1,100}$/;

export interface CreateTokenOptions {
  role: string;
  name: string;
  /** The person already holds a token of another role and is meant to hold this one too. */
  additionalRole?: boolean;
}

export async function createToken(w: Workflow, o: CreateTokenOptions, by: Actor = SYSTEM_ACTOR): Promise<CreatedToken> {
  authorize(by, 'tokens.manage');
  if (!isRole(o.role)) throw invalidArgument('tokens create', 'role', `one of ${ROLES.join(', ')}`, o.role);
  if (!NAME.test(o.name)) throw invalidArgument('tokens create', 'name', 'a handle of 1-100 letters, digits, . _ @ -', o.name);
  const id = randomBytes(4).toString('hex');
  const token = `lethe_${id}_${randomBytes(32).toString('base64url')}`;
  const at = w.now().toISOString();
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    const key = identityKey(o.name);
    const same = (await trx.selectFrom('tokens').select(['name', 'role']).execute()).filter((t) => identityKey(t.name) === key);
    const spelled = same.find((t) => t.name !== o.name);
    if (spelled)
      throw new LetheError(
        'CONFLICT',
        `tokens create: '${o.name}' is the same person as the existing '${spelled.name}' (names are compared without case or Unicode form); use '${spelled.name}' for that person, or another name for someone else`,
      );
    const roles = [...new Set(same.map((t) => t.role))].filter((r) => r !== o.role);
    if (roles.length && !o.additionalRole) {
      throw new LetheError(
        'CONFLICT',
        `tokens create: '${o.name}' already holds a ${roles.join(' and ')} token; one name is one person: to give them the ${o.role} role as well, confirm with additionalRole (--additional-role), or use another name for another person`,
      );
    }
    const row = { id, token_hash: hashToken(token), role: o.role, name: o.name, created_at: at, revoked_at: null };
    await trx.insertInto('tokens').values(row).execute();
    // `row` commits to the token row, so a role changed or a token added in the table fails verifyAudit().
    await appendAudit(
      trx,
      w,
      { actor: by.name, action: 'tokens.create', details: { tokenId: id, role: o.role, name: o.name, row: tokenRowDigest(row) } },
      at,
    );
  });
  return { id, token, role: o.role, name: o.name };
}

/** How long a verified token is believed without asking the store again. A token revoked through
 *  this process's workflow stops at once (the cache is cleared); one revoked elsewhere (the CLI,
 *  another server on the same database) stops within this time. */
export const TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_SIZE = 10_000;

interface Verified {
  actor: Actor;
  until: number;
}
/** Valid tokens only, by sha256 (never the token itself), one cache per open store. */
const verifiedTokens = new WeakMap<Workflow['store'], LruMap<string, Verified>>();

function tokenCache(w: Workflow): LruMap<string, Verified> {
  let c = verifiedTokens.get(w.store);
  if (!c) verifiedTokens.set(w.store, (c = new LruMap(TOKEN_CACHE_SIZE)));
  return c;
}

/** The actor behind a bearer token, or null for an unknown, malformed or revoked one. */
export async function authenticate(w: Workflow, token: string | undefined): Promise<Actor | null> {
  if (!token || !/^lethe_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const hash = hashToken(token);
  const cache = tokenCache(w);
  const now = w.now().getTime();
  const hit = cache.get(hash);
  if (hit && hit.until > now) return hit.actor;
  const row = await w.store.db
    .selectFrom('tokens')
    .select(['id', 'role', 'name', 'revoked_at'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at || !isRole(row.role)) {
    cache.delete(hash);
    return null;
  }
  const actor: Actor = Object.freeze({ name: row.name, role: row.role, tokenId: row.id });
  cache.set(hash, { actor, until: now + TOKEN_CACHE_MS });
  return actor;
}

export async function revokeToken(w: Workflow, id: string, by: Actor = SYSTEM_ACTOR): Promise<void> {
  authorize(by, 'tokens.manage');
  const at = w.now().toISOString();
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    const r = await trx
      .updateTable('tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!Number(r.numUpdatedRows)) throw new LetheError('NOT_FOUND', `tokens revoke: no active token '${id}'`);
    await appendAudit(trx, w, { actor: by.name, action: 'tokens.revoke', details: { tokenId: id } }, at);
  });
  tokenCache(w).clear(); // revocations are rare: forget every verified token rather than look for this one
}

export async function listTokens(w: Workflow, by: Actor = SYSTEM_ACTOR): Promise<TokenInfo[]> {
  authorize(by, 'tokens.manage');
  const rows = await w.store.db.selectFrom('tokens').selectAll().orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, role: r.role as Role, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at }));
}
