// The demo's erasure request, as a company would run it: one forget10 person asks to be forgotten.
// A deployment is created beside the demo's models; the training corpus is indexed and provenance
// proposes every record that mentions the person; a requester scopes the request with that proposal,
// an approver (a second person) approves it; the request is unlearned, verified against a release
// policy and released with its certificate; then every byte of the deployment is searched for the
// person's details. The person is named in the demo's output only by their synthetic id.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from '../../util/jsonl.js';
import { readJsonFile } from '../../util/json-file.js';
import { formatValue } from '../certificate.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { LetheError } from '../../util/errors.js';
import type { Actor } from '../roles.js';
import type { Policy } from '../policy.js';
import type { Workflow } from '../context.js';
import type { Person } from '../../data/persona.js';

/** What the release must show, measured without a retain model (production has none): the person's
 *  records are much less likely and no longer reproduced verbatim, and general English is kept. */
export const DEMO_POLICY_CHECKS = [
  { metric: 'forget_Q_A_Prob', max_ratio_to_original: 0.5 },
  { metric: 'exact_memorization', max_ratio_to_original: 0.9 },
  { metric: 'gcide_NLL', max_ratio_to_original: 1.03 },
];

const requester: Actor = { name: 'rita (privacy desk)', role: 'requester' };
const approver: Actor = { name: 'arjun (data protection officer)', role: 'approver' };
const operator: Actor = { name: 'lethe demo', role: 'admin' };

/** The summary the demo keeps (and reprints on --resume): ids, paths, numbers; no personal data. */
export interface DemoRequestSummary {
  personId: string;
  requestId: string;
  state: string;
  proposed: { forget: number; probes: number; neighbours: number };
  certificate: string | null;
  checks: { metric: string; value: number | null; rule: string; passed: boolean }[];
  searched: { files: number; fields: string[]; hits: number };
  auditEntries: number;
  auditOk: boolean;
  seconds: number;
}

export interface DemoRequestOptions {
  out: string;
  runDir: string;
  dataDir: string;
  seed: number;
  log: (line: string) => void;
  /** Tests pass checks and a short training the fixture model can meet. */
  policyChecks?: unknown[];
  training?: { steps?: number; lr?: number; batchSize?: number };
}

export async function runDemoRequest(o: DemoRequestOptions): Promise<DemoRequestSummary> {
  const summaryFile = join(o.out, 'request.json');
  if (existsSync(summaryFile)) {
    const s = readJsonFile(summaryFile) as DemoRequestSummary;
    o.log(`\n[request] done before (${summaryFile}):`);
    o.log(formatDemoRequest(s));
    return s;
  }
  const { openWorkflow } = await import('../index.js');
  const { needlesOf, searchFiles, filesUnder } = await import('../subject-search.js');
  const started = Date.now();
  const person = firstForgetPerson(join(o.dataDir, 'persona'));
  const deployment = join(o.out, 'deployment');
  // The demo owns this folder: an interrupted request is started over, not resumed.
  rmSync(deployment, { recursive: true, force: true });
  const w = await openWorkflow({ dataDir: deployment, roots: [o.dataDir, o.runDir] });
  let run: Omit<DemoRequestSummary, 'searched' | 'seconds'>;
  try {
    run = await requestAndRelease(w, o, person, deployment);
  } finally {
    await w.close();
  }
  // Searched at rest (the store closed: its write-ahead log is folded into the database file).
  const needles = needlesOf({
    name: person.name,
    email: person.email,
    phone: person.phone,
    phone_digits: person.phone.replace(/\D/g, ''),
    address: person.address,
  });
  const hits = searchFiles(deployment, needles);
  const summary: DemoRequestSummary = {
    ...run,
    searched: { files: filesUnder(deployment).length, fields: needles.map((n) => n.field), hits: hits.length },
    seconds: (Date.now() - started) / 1000,
  };
  writeFileAtomic(summaryFile, JSON.stringify(summary, null, 2) + '\n');
  o.log(formatDemoRequest(summary));
  if (hits.length)
    throw new LetheError('INTERNAL', `demo: the deployment still holds the subject's ${hits.map((h) => h.field).join(', ')}`);
  return summary;
}

async function requestAndRelease(
  w: Workflow,
  o: DemoRequestOptions,
  person: Person,
  deployment: string,
): Promise<Omit<DemoRequestSummary, 'searched' | 'seconds'>> {
  const { createRequest, scopeRequest, approveRequest, runRequest, verifyAudit, parsePolicy } = await import('../index.js');
  const { buildIndex, proposeForgetSet, readProposal } = await import('../provenance.js');
  const persona = join(o.dataDir, 'persona');
  o.log(`\n[request] a privacy (GDPR Art. 17) request from person ${person.id} of forget10 → deployment ${deployment}`);
  const r = await createRequest(w, requester, {
    category: 'privacy',
    subject: person.name,
    evidence: { reference: `DSAR-${person.id}` },
  });
  o.log(`[request] ${r.id} created by ${requester.name} (the subject is stored only as a salted hash)`);

  const idx = await buildIndex({ data: [join(persona, 'bio.jsonl'), join(persona, 'qa', 'all.jsonl')], dataDir: deployment });
  const proposalDir = join(deployment, 'proposals', r.id);
  const subject = { name: person.name, identifiers: [person.email, person.phone, person.address] };
  const proposed = await proposeForgetSet(idx.path, subject, { outDir: proposalDir });
  o.log(
    `[provenance] indexed ${idx.records} training records; proposed ${proposed.counts.forget} that mention the person ` +
      `(${Object.entries(proposed.counts.byMatch)
        .filter(([, n]) => n)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}), ${proposed.counts.probes} probe questions, ${proposed.counts.neighbours} neighbours to keep`,
  );
  const forgetFile = join(proposalDir, 'forget.jsonl');
  const proposal = readProposal(proposalDir);
  await scopeRequest(w, requester, r.id, {
    model: 'demo-target',
    method: 'NPO',
    forget: { ...proposal.files.forget, path: forgetFile },
    proposal,
    reason: 'the proposal reviewed: every record is about the subject',
  });
  await approveRequest(w, approver, r.id, { reason: 'identity and request verified' });
  o.log(`[request] scoped by ${requester.name} with the proposal; approved by ${approver.name} (four eyes)`);

  const policy: Policy = parsePolicy({ name: 'demo privacy release', checks: o.policyChecks ?? DEMO_POLICY_CHECKS });
  const res = await runRequest(w, operator, r.id, {
    modelDir: join(o.runDir, 'target'),
    modelName: 'demo-target',
    forgetFile,
    retainFile: join(proposalDir, 'neighbours.jsonl'),
    method: 'NPO',
    policy,
    outDir: join(deployment, 'releases', r.id),
    training: { ...o.training, seed: o.seed },
    evaluation: { holdoutFile: join(persona, 'qa', 'holdout.jsonl'), probesFile: join(proposalDir, 'probes.jsonl'), dataDir: o.dataDir },
    log: (l) => o.log(`[run] ${l}`),
  });
  const audit = await verifyAudit(w);
  return {
    personId: person.id,
    requestId: r.id,
    state: res.request.state,
    proposed: { forget: proposed.counts.forget, probes: proposed.counts.probes, neighbours: proposed.counts.neighbours },
    certificate: res.certificate?.html ?? null,
    checks: (res.verdict?.checks ?? []).map((c) => ({ metric: c.metric, value: c.value, rule: c.threshold.rule, passed: c.passed })),
    auditEntries: audit.entries,
    auditOk: audit.ok,
  };
}

/** The person whose request the demo runs: the first of the forget10 split. */
function firstForgetPerson(persona: string): Person {
  const manifest = readJsonFile(join(persona, 'manifest.json')) as { info: { splits: Record<string, string[]> } };
  const id = manifest.info.splits.forget10?.[0];
  const person = readJsonl<Person>(join(persona, 'people.jsonl'), { what: 'demo' }).find((p) => p.id === id);
  if (!person) throw new LetheError('INTERNAL', `demo: ${persona} has no forget10 person`);
  return person;
}

export function formatDemoRequest(s: DemoRequestSummary): string {
  const lines = [
    `[request] ${s.requestId} (person ${s.personId}): ${s.state} in ${s.seconds.toFixed(0)} s`,
    '[policy] checks against their thresholds (the unlearned model; ratios are to the original model):',
    ...s.checks.map((c) => `  ${c.passed ? 'pass' : 'FAIL'}  ${c.metric.padEnd(20)} ${formatValue(c.value).padStart(9)}  needs ${c.rule}`),
    `[certificate] ${s.certificate ?? '(none: not released)'}`,
    `[search] ${s.searched.files} files of the deployment searched for the person's ${s.searched.fields.join(', ')}: ${s.searched.hits} hits`,
    `[audit] ${s.auditEntries} entries, signatures and hash chain ${s.auditOk ? 'verified' : 'BROKEN'}`,
  ];
  return lines.join('\n');
}
