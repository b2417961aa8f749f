// Every built-in metric, registered on import.
import './qa-prob.js';
import './qa-rouge.js';
import './truth-ratio.js';
import './forget-quality.js';
import './model-utility.js';
import './exact-memorization.js';
import './extraction-strength.js';
import './mia-loss.js';
import './mia-zlib.js';
import './mia-min-k.js';
import './mia-min-k-plus-plus.js';
import './mia-reference.js';
import './mia-gradnorm.js';
import './privleak.js';
import './mia-lira.js';
import './verbmem.js';
import './familiarity.js';
import './gcide-nll.js';
import './logit-lens.js';
import './linear-probe.js';
import './fluency.js';
import './utility-rel-target.js';
import './bias-association.js';
import './bias-facts.js';
import './secret-leak-rate.js';
import './secret-benign-accuracy.js';
import './probe-paraphrase.js';
import './probe-mc.js';
import './probe-cloze.js';
import './probe-chain.js';
import '../mc/metrics.js';

export {
  defineMetric,
  getMetric,
  listMetrics,
  needKey,
  type MetricDefinition,
  type MetricResult,
  type MetricContext,
  type Need,
  type EvalItemSet,
  type ItemStats,
  type SetKind,
} from './registry.js';
