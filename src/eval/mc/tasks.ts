// `--tasks arc:FILE,boolq:FILE,world_facts,...`: each task becomes an item set `mc_<task>` of kind
// 'mc' (its items are the scored requests, see formats.ts) and two registered metrics,
// mc_<task>_acc and mc_<task>_acc_norm.
import type { EvalItemSet } from '../metrics/registry.js';
import { MC_LAYOUTS, buildItems, readTaskFile, type McLayout } from './formats.js';
import { LetheError } from '../../util/errors.js';
import { BUILTIN_TASKS, builtinDocs, type BuiltinTask } from './builtin.js';
import { defineMcMetrics } from './metrics.js';

export interface McTaskSpec {
  /** Metric names are mc_<name>_acc / mc_<name>_acc_norm. */
  name: string;
  kind: McLayout | BuiltinTask;
  file?: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Parses `[name=]layout:FILE` (layouts: arc, boolq, winogrande, hellaswag, mmlu, generic) and
 * `[name=]builtin[:FILE]` (world_facts, gcide_definitions, general_cloze), comma-separated.
 */
export function parseTaskSpecs(list: string | readonly string[]): McTaskSpec[] {
  const parts = (typeof list === 'string' ? list.split(',') : list).map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new LetheError('BAD_INPUT', '--tasks: give at least one task', { field: 'tasks' });
  const specs = parts.map((part) => {
    const eq = part.indexOf('=');
    const colon = part.indexOf(':');
    const named = eq > 0 && (colon < 0 || eq < colon);
    const rest = named ? part.slice(eq + 1) : part;
    const c = rest.indexOf(':');
    const kind = c >= 0 ? rest.slice(0, c) : rest;
    const file = c >= 0 ? rest.slice(c + 1) : undefined;
    const name = named ? part.slice(0, eq) : kind;
    if (!NAME.test(name))
      throw new LetheError('BAD_INPUT', `--tasks: task name '${name}' must be letters, digits and _`, { field: 'tasks' });
    if ((BUILTIN_TASKS as readonly string[]).includes(kind)) return { name, kind: kind as BuiltinTask, file: file || undefined };
    if (!(MC_LAYOUTS as readonly string[]).includes(kind)) {
      throw new LetheError(
        'NOT_FOUND',
        `--tasks: '${part}': unknown task or layout '${kind}' (built-in: ${BUILTIN_TASKS.join(', ')}; file layouts: ${MC_LAYOUTS.map((l) => `${l}:FILE`).join(', ')})`,
        { field: 'tasks' },
      );
    }
    if (!file) throw new LetheError('BAD_INPUT', `--tasks: '${part}': the ${kind} layout needs a file (${kind}:FILE)`, { field: 'tasks' });
    return { name, kind: kind as McLayout, file };
  });
  const dup = specs.find((s, i) => specs.findIndex((t) => t.name === s.name) !== i);
  if (dup)
    throw new LetheError('BAD_INPUT', `--tasks: task '${dup.name}' is given twice (name one of them: other_name=${dup.kind}:FILE)`, {
      field: 'tasks',
    });
  return specs;
}

export interface McTaskOptions {
  /** Built data folder (`lethe data build all`), for the built-in tasks. */
  dataDir?: string;
  /** Few-shot examples per item (default 0), from the same file, never the item itself. */
  numFewshot?: number;
}

/** The item sets of the tasks (and their metrics, registered once per name). */
export function loadMcTasks(specs: string | readonly string[] | readonly McTaskSpec[], o: McTaskOptions = {}): EvalItemSet[] {
  const list: McTaskSpec[] =
    typeof specs === 'string' || (specs.length && typeof specs[0] === 'string')
      ? parseTaskSpecs(specs as string | string[])
      : (specs as McTaskSpec[]);
  const k = o.numFewshot ?? 0;
  return list.map((s) => {
    const { docs, lines, file } = (BUILTIN_TASKS as readonly string[]).includes(s.kind)
      ? builtinDocs(s.kind as BuiltinTask, { dataDir: o.dataDir, file: s.file })
      : { ...readTaskFile(s.kind as McLayout, s.file!), file: s.file! };
    const items = buildItems(docs, lines, k);
    defineMcMetrics(s.name);
    return {
      name: `mc_${s.name}`,
      kind: 'mc' as const,
      items: items as unknown as Record<string, unknown>[],
      description: `${s.kind} multiple choice from ${file} (${items.length} items, ${k}-shot)`,
    };
  });
}
