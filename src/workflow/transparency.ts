// The transparency report: how many requests, by justification category and by outcome — counts
// only, never contents, subjects or people.
import type { Workflow } from './context.js';
import { CATEGORY_NAMES, type Category } from './inputs.js';
import { authorize, type Actor } from './roles.js';
import { STATES, type State } from './states.js';

export interface TransparencyReport {
  generatedAt: string;
  total: number;
  byCategory: Record<Category, Record<State, number>>;
  byState: Record<State, number>;
}

const zeros = () => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;

export async function transparencyReport(w: Workflow, actor: Actor): Promise<TransparencyReport> {
  authorize(actor, 'report.read');
  const rows = await w.store.db
    .selectFrom('requests')
    .select(['category', 'state'])
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .groupBy(['category', 'state'])
    .execute();
  const byCategory = Object.fromEntries(CATEGORY_NAMES.map((c) => [c, zeros()])) as TransparencyReport['byCategory'];
  const byState = zeros();
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    const c = r.category as Category;
    const s = r.state as State;
    if (byCategory[c] && s in byState) byCategory[c][s] += n;
    if (s in byState) byState[s] += n;
    total += n;
  }
  return { generatedAt: w.now().toISOString(), total, byCategory, byState };
}
