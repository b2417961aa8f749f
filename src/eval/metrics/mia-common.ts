// Membership inference as open-unlearning scores it (mia/utils.py): an attack gives every forget and
// holdout sample a score where higher means "looks unseen"; agg_value is roc_auc_score with forget
// labelled 0 and holdout 1, so 1.0 = the forget set is clearly recognisable as trained on, 0.5 = not at all.
import type { KnowledgeScale, MetricResult, SetKind, Need } from './registry.js';
import { rocAuc, rocCurve } from '../stats.js';

export const MIA_SETS: SetKind[] = ['qa', 'text', 'pair'];
export const MIA_FORGET: Need = { kind: 'stats', set: 'forget', setKind: MIA_SETS };
export const MIA_HOLDOUT: Need = { kind: 'stats', set: 'holdout', setKind: MIA_SETS };

/** An attack's AUC reads the forget knowledge by its distance from 0.5, either side: at 0.5 the model
 *  scores its forget records as it scores records it never saw; below 0.5 it scores them as *less* seen
 *  than unseen data, which also takes a model that still tells them apart (over-unlearning). A fixed
 *  point, not the pool's absent models: those score far from 0.5 too when forget and holdout differ. */
export const MIA_KNOWLEDGE: KnowledgeScale = { neutral: 0.5 };

function side(scores: number[]) {
  const value_by_index: Record<string, { score: number }> = {};
  scores.forEach((s, k) => (value_by_index[String(k)] = { score: s }));
  const ok = scores.filter(Number.isFinite);
  return { agg_value: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null, value_by_index };
}

export function miaResult(forget: number[], holdout: number[]): MetricResult {
  const f = forget.filter(Number.isFinite);
  const h = holdout.filter(Number.isFinite);
  if (!f.length || !h.length) return { aggValue: null, reason: 'no finite attack scores on the forget or holdout set' };
  const scores = [...f, ...h];
  const labels = [...f.map(() => 0), ...h.map(() => 1)];
  const auc = rocAuc(scores, labels);
  const roc = rocCurve(scores, labels);
  return {
    aggValue: auc,
    extra: {
      auc,
      forget: side(forget),
      holdout: side(holdout),
      roc: { fpr: roc.fpr, tpr: roc.tpr, note: 'positive class = holdout; points at every distinct score' },
    },
  };
}
