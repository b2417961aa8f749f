// Methods by name: one file each under methods/, registered here. Unknown names are refused with
// the list of known ones; a name registered twice is a bug.
import { z } from 'zod';
import { LetheError, invalidArgument } from '../util/errors.js';
import type { MethodDefinition } from './method.js';

const METHODS = new Map<string, MethodDefinition>();

export function defineMethod<S extends z.ZodObject>(m: MethodDefinition<S>): MethodDefinition<S> {
  if (METHODS.has(m.name)) throw new LetheError('INTERNAL', `unlearning method '${m.name}' is registered twice`);
  METHODS.set(m.name, m as unknown as MethodDefinition);
  return m;
}

export function getMethod(name: string): MethodDefinition {
  const m = METHODS.get(name);
  if (!m) throw new LetheError('NOT_FOUND', `unknown unlearning method '${name}' (known: ${[...METHODS.keys()].join(', ')})`);
  return m;
}

export function listMethods(): MethodDefinition[] {
  return [...METHODS.values()];
}

/** The default of each argument, read from the schema. */
export function methodDefaults(m: MethodDefinition): Record<string, unknown> {
  return m.args.parse({}) as Record<string, unknown>;
}

/** Coerces `key=value` strings to the type of each argument's default, then checks them all. */
export function resolveArgs(m: MethodDefinition, given: Record<string, unknown>, where = 'forget'): Record<string, unknown> {
  const defaults = methodDefaults(m);
  const coerced: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults))
      throw new LetheError(
        'BAD_INPUT',
        `${where}: method ${m.name} has no argument '${key}' (it takes ${Object.keys(defaults).join(', ') || 'none'})`,
      );
    const def = defaults[key];
    if (typeof value !== 'string') {
      coerced[key] = value;
    } else if (typeof def === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw invalidArgument(where, key, 'a number', value);
      coerced[key] = n;
    } else if (typeof def === 'boolean') {
      if (value !== 'true' && value !== 'false') throw invalidArgument(where, key, 'true or false', value);
      coerced[key] = value === 'true';
    } else if (Array.isArray(def)) {
      coerced[key] = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      coerced[key] = value;
    }
  }
  const r = m.args.safeParse(coerced);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path.join('.');
    throw new LetheError(
      'BAD_INPUT',
      `${where}: '${key}' of method ${m.name} ${issue.message.replace(/^Invalid input: /, '')}, got ${JSON.stringify(coerced[key as string])}`,
    );
  }
  return r.data as Record<string, unknown>;
}

/** `lethe methods --json`: each method with its arguments as JSON Schema. */
export function describeMethods(): {
  name: string;
  description: string;
  arguments: unknown;
  defaults: Record<string, unknown>;
  needs: unknown;
}[] {
  return listMethods().map((m) => {
    const defaults = methodDefaults(m);
    return { name: m.name, description: m.description, arguments: z.toJSONSchema(m.args), defaults, needs: m.needs(defaults as never) };
  });
}
