// forget_chain_Prob / holdout_chain_Prob: chain-of-clues questions (persona probes/chain.jsonl) that
// name the person only through other attributes no one else shares ("The person born on 22 March
// 2000 in Eastbury works where?"), scored on the person's trained answer (which names them, so the
// model must get from the clue to the person to the fact); extra.by_clue per kind of clue.
import { defineProbeProb } from './probe-common.js';

defineProbeProb({
  probe: 'chain',
  setKind: 'qa',
  what: "the person's trained answer given a question naming the person only through a unique clue",
  groupBy: 'clue',
});
