// Tensor lifetime tracking. tidy() scopes (tfjs-core's design): every Tensor made while a scope
// is open is recorded in the innermost one, so tidy can free all of them but its result.
// Tensors outside any scope get a GC backstop: a FinalizationRegistry frees the native tensor of
// a forgotten wrapper. Registering costs far more than an op on a small tensor, so it is done
// lazily, in batches, only for tensors still alive by then (most are disposed at once).
import { native } from './native.js';
import type { Tensor } from './tensor.js';

const stack: Tensor[][] = [];
let current: Tensor[] | null = null;

const backstop = new FinalizationRegistry<number>((handle) => native.dispose(handle));
const pending: Tensor[] = [];
let flushScheduled = false;
const FLUSH_AT = 1024;

function flushPending(): void {
  flushScheduled = false;
  for (const t of pending) if (!t.disposed) backstop.register(t, t.handle);
  pending.length = 0;
}

/** Puts `t` under the GC backstop (soon, not at once). */
function unscoped(t: Tensor): void {
  pending.push(t);
  if (pending.length >= FLUSH_AT) flushPending();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushPending).unref();
  }
}

export function track(t: Tensor): void {
  if (current) current.push(t);
  else unscoped(t);
}

export function openScope(): void {
  current = [];
  stack.push(current);
}

/** Closes the innermost scope, disposing what it recorded except `survivors` (which move up) and kept tensors. */
export function closeScope(survivors: Set<Tensor>): void {
  const scope = stack.pop()!;
  current = stack.length ? stack[stack.length - 1]! : null;
  for (const t of scope) {
    if (t.kept) {
      if (!t.disposed) backstop.register(t, t.handle);
    } else if (survivors.has(t)) {
      if (current) current.push(t);
      else unscoped(t);
    } else {
      t.dispose();
    }
  }
}

export function scopeDepth(): number {
  return stack.length;
}
