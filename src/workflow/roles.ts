// Who may do what. Every workflow call checks its actor here, so the HTTP API and the CLI enforce
// the same rules. Admin may do everything, but four-eyes (../requests.ts) still binds people.
import { LetheError } from '../util/errors.js';

export const ROLES = ['requester', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Action =
  | 'request.create'
  | 'request.scope'
  | 'request.decide'
  | 'request.read'
  | 'request.run'
  | 'audit.read'
  | 'report.read'
  | 'tokens.manage'
  | 'model.register';

const ALLOWED: Record<Action, readonly Role[]> = {
  'request.create': ['requester', 'admin'],
  'request.scope': ['requester', 'admin'],
  'request.decide': ['approver', 'admin'],
  'request.read': ['requester', 'approver', 'auditor', 'admin'],
  'request.run': ['admin'],
  'audit.read': ['auditor', 'admin'],
  'report.read': ['requester', 'approver', 'auditor', 'admin'],
  'tokens.manage': ['admin'],
  'model.register': ['admin'],
};

/** The person behind a token: `name` is who they are (four-eyes compares names, see samePerson),
 *  `role` what they may do. */
export interface Actor {
  name: string;
  role: Role;
  tokenId?: string;
}

/** The local operator (CLI with access to the data folder, the job runner). */
export const SYSTEM_ACTOR: Actor = { name: 'system', role: 'admin' };

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function authorize(actor: Actor, action: Action): void {
  const allowed = ALLOWED[action];
  if (!allowed.includes(actor.role))
    throw new LetheError('FORBIDDEN', `${action}: role '${actor.role}' may not do this (allowed: ${allowed.join(', ')})`);
}

/** A person's name as every identity comparison sees it: trimmed, Unicode NFKC, case-folded
 *  (upper then lower case, so 'ß' and 'SS' meet). "Alice", " alice" and "ＡＬＩＣＥ" are one person. */
export function identityKey(name: string): string {
  return name.normalize('NFKC').trim().toUpperCase().toLowerCase().normalize('NFKC');
}

export const samePerson = (a: string, b: string | undefined): boolean => b !== undefined && identityKey(a) === identityKey(b);
