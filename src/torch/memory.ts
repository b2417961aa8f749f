// Scoped memory (tfjs-core): tidy frees every tensor made inside but what it returns; keep exempts
// one; liveTensors/memory are the counters tests assert on. A GC finalizer frees forgotten
// tensors only as a backstop.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { openScope, closeScope } from './scope.js';

/** What tidy may return: tensors, anything else, or arrays/objects holding them. */
export type TidyResult = unknown;

function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, seen);
  }
}

/**
 * Runs `fn` and frees every tensor created inside except those in its result (tensors, or
 * arrays/plain objects/Maps of them) and those passed to keep(). `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T;
export function tidy<T>(name: string, fn: () => T): T;
export function tidy<T>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'function' ? nameOrFn : maybeFn;
  if (typeof fn !== 'function') throw new TypeError('tidy: expected a function');
  openScope();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    closeScope(new Set());
    throw err;
  }
  if (result instanceof Promise) {
    closeScope(new Set());
    throw new Error(
      'tidy: the function returned a Promise; tidy only works with synchronous functions ' +
        '(tensors would be freed while the async work still uses them)',
    );
  }
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  closeScope(survivors);
  return result;
}

/** Exempts a tensor from every enclosing tidy(); returns it. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

/** Disposes tensors found in a value (a tensor, arrays, plain objects, Maps). */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collectTensors(value, found);
  for (const t of found) t.dispose();
}

/** Number of tensors alive in this thread (not yet disposed or collected). */
export function liveTensors(): number {
  return native.liveCount();
}

/** Live tensors and the bytes of their storages (each storage counted once). */
export function memory(): { tensors: number; bytes: number } {
  return native.memory();
}
