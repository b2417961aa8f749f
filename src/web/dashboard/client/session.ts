// What the page knows about this tab: who the token belongs to and which request is open. Kept in
// memory only (a reload asks the server again).
import type { RequestView, Role } from '../../../workflow/index.js';

export interface Me {
  name: string;
  role: Role;
}

export const session: { me: Me | null; current: RequestView | null } = { me: null, current: null };

type Listener = (r: RequestView) => void;
const listeners: Listener[] = [];

/** Views that follow the open request (the job panel) register here instead of importing each other. */
export function onRequestShown(fn: Listener): void {
  listeners.push(fn);
}

export function requestShown(r: RequestView): void {
  for (const fn of listeners) fn(r);
}
