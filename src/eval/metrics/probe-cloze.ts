// forget_cloze_Prob / holdout_cloze_Prob: fill in the blank (persona probes/cloze.jsonl): the
// fact's value as the completion of a statement cut before it ("X's birthday falls on ___."), no
// question-answer format at all; extra.by_field per fact.
import { defineProbeProb } from './probe-common.js';

defineProbeProb({
  probe: 'cloze',
  setKind: 'pair',
  what: 'the value completing a statement with the value blanked (P(value | statement prefix))',
  groupBy: 'field',
});
