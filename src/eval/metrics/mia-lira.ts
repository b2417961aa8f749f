// Per-record membership inference with shadow models (LiRA / U-LiRA; the statistics in ../lira.ts,
// the shadows in ../shadows.ts, `lethe eval --mia lira --shadows K --shadow-base DIR`).
//   mia_lira             AUC, forget vs holdout, of the online statistic Λ (the MIA convention of
//                        mia-common.ts: 1 = the forget records are clearly recognised as trained on,
//                        0.5 = not at all); extra: TPR at FPR 1% and 5% calibrated on the holdout records.
//   mia_lira_identified  how many forget records offline LiRA still identifies: p = P(OUT ≥ score) below
//                        α / n_forget (Bonferroni, α = 0.05: a model that never saw them flags none with
//                        probability ≥ 95% when the shadows' OUT fit holds); extra.holdout_identified is
//                        the same rule on the holdout records, the false positives actually seen.
// value_by_index (forget records, by index; never their text): score, Λ, offline p, identified.
import { defineMetric, type MetricContext, type MetricResult, type Need } from './registry.js';
import { MIA_FORGET, MIA_HOLDOUT, miaResult, MIA_KNOWLEDGE } from './mia-common.js';
import type { QaStats } from './common.js';
import { avgLoss } from '../scores.js';
import { fitRecords, liraScore, offlineLogP, onlineStatistic, tprAtFpr, type RecordFit } from '../lira.js';
import type { ShadowLosses, ShadowSide } from '../shadows.js';

const SHADOWS: Need = { kind: 'shadows' };
const ALPHA = 0.05;
const FPRS = [0.01, 0.05];
/** Below this many shadows a per-record variance is mostly noise: one pooled σ per side (LiRA, §VI-B). */
const GLOBAL_VARIANCE_BELOW = 32;

interface Side {
  score: number[];
  fits: RecordFit[];
  lambda: number[];
  logP: number[];
}

function side(stats: QaStats, fits: RecordFit[]): Side {
  const score = stats.map((x) => liraScore(avgLoss(x.true)));
  return {
    score,
    fits,
    lambda: score.map((x, r) => onlineStatistic(x, fits[r]!)),
    logP: score.map((x, r) => offlineLogP(x, fits[r]!)),
  };
}

async function analyse(ctx: MetricContext) {
  const shadows = await ctx.get<ShadowLosses>(SHADOWS);
  const variance: 'record' | 'global' = shadows.count < GLOBAL_VARIANCE_BELOW ? 'global' : 'record';
  // One fit over every candidate record, so that a pooled σ is pooled over the whole pool.
  const all: ShadowSide = {
    loss: [...shadows.forget.loss, ...shadows.holdout.loss],
    member: [...shadows.forget.member, ...shadows.holdout.member],
  };
  const fits = fitRecords(
    all.loss.map((row) => row.map(liraScore)),
    all.member,
    variance,
  );
  const nForget = shadows.forget.loss.length;
  const forget = side(await ctx.get<QaStats>(MIA_FORGET), fits.slice(0, nForget));
  const holdout = side(await ctx.get<QaStats>(MIA_HOLDOUT), fits.slice(nForget));
  const logAlpha = Math.log(ALPHA / forget.score.length);
  const tpr = Object.fromEntries(FPRS.map((f) => [String(f), tprAtFpr(forget.lambda, holdout.lambda, f)]));
  const valueByIndex = Object.fromEntries(
    forget.score.map((x, r) => {
      const f = forget.fits[r]!;
      return [
        String(r),
        {
          score: x,
          lambda: forget.lambda[r]!,
          p_offline: Math.exp(forget.logP[r]!),
          log10_p_offline: forget.logP[r]! / Math.LN10,
          identified: forget.logP[r]! < logAlpha,
          mu_in: f.muIn,
          mu_out: f.muOut,
          sd_in: f.sdIn,
          sd_out: f.sdOut,
        },
      ];
    }),
  );
  const shared = {
    shadows: shadows.count,
    variance,
    score: 'logit of exp(−mean token NLL) of the answer',
    tpr_at_fpr: tpr,
  };
  return { forget, holdout, logAlpha, valueByIndex, shared };
}

defineMetric({
  name: 'mia_lira',
  description: 'AUC of online LiRA (per-record Gaussians of IN and OUT shadow models), forget vs holdout',
  // The item sets first: a suite without them skips the metric; with them and no shadows it is null with the reason.
  needs: [MIA_FORGET, MIA_HOLDOUT, SHADOWS],
  group: 'privacy',
  higherIsBetter: null,
  knowledge: MIA_KNOWLEDGE,
  async compute(ctx): Promise<MetricResult> {
    const a = await analyse(ctx);
    const r = miaResult(
      a.forget.lambda.map((l) => -l),
      a.holdout.lambda.map((l) => -l),
    );
    // The offline statistic ranks too: a model trained harder than the IN shadows can score past μ_in,
    // where Λ falls again while the offline p only gets smaller.
    const aucOffline = r.aggValue === null ? null : miaResult(a.forget.logP, a.holdout.logP).aggValue;
    return { ...r, valueByIndex: a.valueByIndex, extra: { ...r.extra, ...a.shared, auc_offline: aucOffline } };
  },
});

defineMetric({
  name: 'mia_lira_identified',
  description: `forget records offline LiRA identifies as trained on (p < ${ALPHA} / n, Bonferroni): 0 = none stands out from the shadows that never saw it`,
  needs: [MIA_FORGET, MIA_HOLDOUT, SHADOWS],
  group: 'privacy',
  higherIsBetter: false,
  async compute(ctx): Promise<MetricResult> {
    const a = await analyse(ctx);
    const flagged = a.forget.logP.flatMap((l, r) => (l < a.logAlpha ? [r] : []));
    return {
      aggValue: flagged.length,
      valueByIndex: a.valueByIndex,
      extra: {
        ...a.shared,
        alpha: ALPHA,
        p_threshold: Math.exp(a.logAlpha),
        forget_records: a.forget.score.length,
        identified_records: flagged,
        holdout_identified: a.holdout.logP.filter((l) => l < a.logAlpha).length,
        holdout_records: a.holdout.score.length,
      },
    };
  },
});
