// The tidy() scope stack (tfjs-core's design): every Tensor made while a scope is open is
// recorded in the innermost one, so tidy can free all of them but its result.
import type { Tensor } from './tensor.js';

const stack: Tensor[][] = [];
let current: Tensor[] | null = null;

export function track(t: Tensor): void {
  if (current) current.push(t);
}

export function openScope(): void {
  current = [];
  stack.push(current);
}

/** Closes the innermost scope, disposing what it recorded except `survivors` (which move up). */
export function closeScope(survivors: Set<Tensor>): void {
  const scope = stack.pop()!;
  current = stack.length ? stack[stack.length - 1]! : null;
  for (const t of scope) {
    if (survivors.has(t)) {
      if (current) current.push(t);
    } else if (!t.kept) {
      t.dispose();
    }
  }
}

export function scopeDepth(): number {
  return stack.length;
}
