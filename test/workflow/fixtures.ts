// People and request bodies shared by the workflow and server tests.
import type { Actor } from '../../src/workflow/index.js';

export const alice: Actor = { name: 'alice', role: 'requester' };
export const bob: Actor = { name: 'bob', role: 'approver' };
export const carol: Actor = { name: 'carol', role: 'auditor' };
export const runner: Actor = { name: 'runner', role: 'admin' };

export const SUBJECT = 'Ada Quillfeather-Lovelace';
export const createBody = (over: Record<string, unknown> = {}) => ({
  category: 'privacy',
  subject: SUBJECT,
  evidence: { reference: 'ticket DPO-2025-0042', sha256: 'a'.repeat(64) },
  ...over,
});
export const scopeBody = (over: Record<string, unknown> = {}) => ({
  model: 'models/assistant-v3',
  method: 'NPO',
  forget: { sha256: 'b'.repeat(64), rows: 12 },
  ...over,
});
