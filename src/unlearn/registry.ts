// Methods by name: one file each under methods/, registered here. Unknown names are refused with
// the list of known ones; a name registered twice is a bug.
import { z } from 'zod';
import { LetheError, invalidArgument } from '../util/errors.js';
import { GENERIC_SEARCH, GENERIC_TRAINING, type MethodDefinition, type SearchSpace, type TrainingDefaults } from './method.js';

const METHODS = new Map<string, MethodDefinition>();

export function defineMethod<S extends z.ZodObject>(m: MethodDefinition<S>): MethodDefinition<S> {
  if (METHODS.has(m.name)) throw new LetheError('INTERNAL', `unlearning method '${m.name}' is registered twice`);
  METHODS.set(m.name, m as unknown as MethodDefinition);
  return m;
}

/** A method by name; case does not matter ('npo' is NPO), and the definition carries the canonical name. */
export function getMethod(name: string): MethodDefinition {
  const m = METHODS.get(name) ?? [...METHODS.values()].find((d) => d.name.toLowerCase() === name.toLowerCase());
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

/** Coerces `key=value` strings to the type of each argument's default, then checks them all. Every
 *  problem is reported, one line each (a config file with many mistakes is fixed in one round). */
export function resolveArgs(m: MethodDefinition, given: Record<string, unknown>, where = 'forget'): Record<string, unknown> {
  const defaults = methodDefaults(m);
  const coerced: Record<string, unknown> = {};
  const problems: string[] = [];
  const unknown = Object.keys(given).filter((key) => !(key in defaults));
  if (unknown.length)
    problems.push(
      `method ${m.name} has no argument ${unknown
        .slice(0, 5)
        .map((k) => `'${short(k)}'`)
        .join(
          ', ',
        )}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''} (it takes ${Object.keys(defaults).join(', ') || 'none'})`,
    );
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults)) continue;
    const def = defaults[key];
    if (typeof value !== 'string') {
      coerced[key] = value;
    } else if (typeof def === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) problems.push(invalidArgument(where, key, 'a number', short(value)).message);
      else coerced[key] = n;
    } else if (typeof def === 'boolean') {
      if (value !== 'true' && value !== 'false') problems.push(invalidArgument(where, key, 'true or false', short(value)).message);
      else coerced[key] = value === 'true';
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
    for (const issue of r.error.issues) {
      const key = issue.path.join('.');
      problems.push(
        `'${key}' of method ${m.name} ${issue.message.replace(/^Invalid input: /, '')}, got ${short(JSON.stringify(coerced[key as string]) ?? 'nothing')}`,
      );
    }
  }
  const lines = problems.map((p) => (p.startsWith(`${where}: `) ? p.slice(where.length + 2) : p));
  if (lines.length === 1) throw new LetheError('BAD_INPUT', `${where}: ${lines[0]}`);
  if (lines.length)
    throw new LetheError('BAD_INPUT', `${where}: ${lines.length} problems with the arguments of ${m.name}:\n  ${lines.join('\n  ')}`);
  return r.data as Record<string, unknown>;
}

/** A value as shown in a message: at most 60 characters. */
const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** `lethe methods --json`: each method with its arguments as JSON Schema. */
export function describeMethods(): {
  name: string;
  description: string;
  arguments: unknown;
  defaults: Record<string, unknown>;
  /** The lr and epochs it trains with when none are given, and their source (null: a procedure that sets its own). */
  training: TrainingDefaults | null;
  /** What `--search` tries (null: a procedure, which it does not search). */
  search: SearchSpace | null;
  needs: unknown;
}[] {
  return listMethods().map((m) => {
    const defaults = methodDefaults(m);
    return {
      name: m.name,
      description: m.description,
      arguments: z.toJSONSchema(m.args),
      defaults,
      training: m.procedure && !m.training ? null : (m.training ?? GENERIC_TRAINING),
      search: m.procedure ? null : (m.search ?? GENERIC_SEARCH),
      needs: m.needs(defaults as never),
    };
  });
}
