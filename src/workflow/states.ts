// The life of an erasure request. States only move forward along these edges; anything else is a
// CONFLICT naming both states.
import { LetheError } from '../util/errors.js';

export const STATES = ['received', 'scoped', 'approved', 'unlearning', 'verifying', 'released', 'rejected', 'failed'] as const;
export type State = (typeof STATES)[number];
export const FINAL_STATES: readonly State[] = ['released', 'rejected', 'failed'];

export const NEXT: Record<State, readonly State[]> = {
  received: ['scoped', 'rejected'],
  scoped: ['approved', 'rejected'],
  approved: ['unlearning', 'rejected'],
  unlearning: ['verifying', 'failed'],
  verifying: ['released', 'failed'],
  released: [],
  rejected: [],
  failed: [],
};

export function checkTransition(requestId: string, from: State, to: State): void {
  if (NEXT[from].includes(to)) return;
  const onward = NEXT[from].length ? `from '${from}' it can move to ${NEXT[from].map((s) => `'${s}'`).join(' or ')}` : `'${from}' is final`;
  throw new LetheError('CONFLICT', `request ${requestId}: cannot move from '${from}' to '${to}' (${onward})`);
}
