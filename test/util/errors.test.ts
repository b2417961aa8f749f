// One error type at every boundary: a name no registry knows is a NOT_FOUND LetheError that lists
// the known names (the server maps it to 404 and a job records the message, not "internal error"),
// a name registered twice is a bug (INTERNAL), and the field at fault travels typed on the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError, invalidArgument, type LetheErrorCode } from '../../src/util/errors.js';
import { defineMethod, getMethod } from '../../src/unlearn/index.js';
import { defineMetric, getMetric } from '../../src/eval/metrics/index.js';
import { loadSets } from '../../src/eval/suites.js';
import { preset } from '../../src/train/presets.js';
import { defineBehaviour, getBehaviour } from '../../src/train/behaviours.js';
import '../../src/train/behaviours/index.js';
import { buildSuite } from '../../src/data/index.js';

/** A LetheError with `code` whose message matches every pattern. */
const refused =
  (code: LetheErrorCode, ...patterns: RegExp[]) =>
  (err: unknown) => {
    assert.ok(err instanceof LetheError, `expected a LetheError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };

test('an unknown name in any registry is NOT_FOUND and lists the known names', () => {
  assert.throws(() => getMethod('RMUU'), refused('NOT_FOUND', /unknown unlearning method 'RMUU' \(known: .*GradAscent/));
  assert.throws(
    () => getMetric('forget_Q_A_Probability'),
    refused('NOT_FOUND', /metric 'forget_Q_A_Probability' is not registered \(known: .*forget_Q_A_Prob,/),
  );
  assert.throws(() => preset('huge'), refused('NOT_FOUND', /unknown preset 'huge' \(expected tiny or small\)/));
  assert.throws(() => getBehaviour('sarcasm'), refused('NOT_FOUND', /unknown behaviour 'sarcasm' \(expected .*bias/));
  assert.throws(
    () => buildSuite('novels', '/nonexistent', { size: 'tiny', seed: 1 } as never, 'test'),
    refused('NOT_FOUND', /unknown suite 'novels' \(expected .*persona.*all\)/),
  );
  assert.throws(
    () => loadSets({ suite: 'novels', dataDir: '/' }),
    refused('NOT_FOUND', /unknown suite 'novels' \(expected persona:forget01/),
  );
});

test('a name registered twice is a bug (INTERNAL), not bad input', () => {
  assert.throws(() => defineMethod(getMethod('GradAscent')), refused('INTERNAL', /'GradAscent' is registered twice/));
  assert.throws(() => defineMetric({ ...getMetric('mia_loss') }), refused('INTERNAL', /'mia_loss' is already registered/));
  assert.throws(() => defineBehaviour('bias', getBehaviour('bias')), refused('INTERNAL', /'bias' is defined twice/));
});

test('the field at fault is a typed option of the error, absent when not given', () => {
  const withField = invalidArgument('run', 'forgetFile', 'a path inside the data folder', 'x.jsonl', { field: 'forgetFile' });
  assert.equal(withField.field, 'forgetFile');
  assert.equal(withField.code, 'BAD_INPUT');
  assert.equal(new LetheError('NOT_FOUND', 'no such job').field, undefined);
  assert.ok(!('field' in new LetheError('NOT_FOUND', 'no such job')), 'no field key at all when none is given');
});
