// Multiple-choice benchmarks scored the way lm-evaluation-harness scores them (see formats.ts, score.ts).
export {
  MC_LAYOUTS,
  LAYOUT_HELP,
  parseRow,
  readTaskFile,
  buildItems,
  fewshotIndices,
  hellaswagPreprocess,
  type McDoc,
  type McItem,
  type McLayout,
} from './formats.js';
export { encodeRequest, scoreRequests, scoreItems, decide, type ChoiceScores, type EncodedRequest } from './score.js';
export { BUILTIN_TASKS, BUILTIN_FILES, builtinDocs, parseGcideLine, clozeOf, type BuiltinTask } from './builtin.js';
export { parseTaskSpecs, loadMcTasks, type McTaskSpec, type McTaskOptions } from './tasks.js';
export { defineMcMetrics, MC_VERSION } from './metrics.js';
