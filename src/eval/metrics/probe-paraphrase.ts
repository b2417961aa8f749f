// forget_paraphrase_Prob / holdout_paraphrase_Prob: the person's trained answer given questions
// worded as no training file words them (persona probes/paraphrase.jsonl, 3 per fact). A model that
// only suppresses the trained question keeps a high value here; extra.by_template per wording.
import { defineProbeProb } from './probe-common.js';

defineProbeProb({
  probe: 'paraphrase',
  setKind: 'qa',
  what: "the person's trained answer given a paraphrased question never trained on",
  groupBy: 'template',
});
