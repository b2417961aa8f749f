// Running an approved request as a background job, and its live progress: the job's server-sent
// events (progress, state, end) read through fetch() with the token, drawn as they arrive.
import type { JobView, RequestView } from '../../../workflow/index.js';
import { api, serverEvents } from './api.js';
import { $, say, sayError } from './dom.js';
import { loadReleases } from './releases.js';
import { loadRequests, openRequest, onSubmit } from './requests.js';
import { onRequestShown, session } from './session.js';

type Job = JobView;

const LIVE = new Set(['queued', 'running']);
let watching: AbortController | null = null;
const lastSteps = new Map<string, { step: number; totalSteps: number; loss: number | null }>();
let shown: Job | null = null;

function drawJob(job: Job): void {
  shown = job;
  const panel = $('#job');
  panel.hidden = false;
  panel.dataset.jobState = job.state;
  $('#job-id').textContent = job.id;
  const state = $('#job-state');
  state.textContent = job.state;
  state.className = `state ${job.state}`;
  const p = job.progress;
  // The unlearning's last step stays on show through verifying and releasing (those phases have no steps).
  if (p.totalSteps) lastSteps.set(job.id, { step: p.step ?? 0, totalSteps: p.totalSteps, loss: p.loss ?? null });
  const steps = lastSteps.get(job.id);
  const bar = $<HTMLProgressElement>('#job-progress');
  if (steps) {
    bar.max = steps.totalSteps;
    bar.value = Math.min(steps.step, steps.totalSteps);
  } else if (job.state === 'succeeded') bar.value = bar.max;
  const parts = [
    p.phase ? `phase ${p.phase}` : null,
    steps ? `unlearning step ${steps.step} of ${steps.totalSteps}` : null,
    typeof steps?.loss === 'number' ? `loss ${steps.loss.toPrecision(4)}` : null,
    job.error ? `error: ${job.error}` : null,
  ].filter(Boolean);
  $('#job-detail').textContent = parts.join(' · ') || (job.state === 'queued' ? 'waiting for the runner' : '');
  $('#job-cancel').hidden = session.me?.role !== 'admin' || !LIVE.has(job.state);
}

async function watch(job: Job): Promise<void> {
  watching?.abort();
  const ctrl = (watching = new AbortController());
  drawJob(job);
  let updates = 0;
  try {
    for await (const { event, data } of serverEvents(`/v1/jobs/${job.id}/events`, ctrl.signal)) {
      job = data as Job; // every event carries the whole job as it is now
      if (event === 'progress') $('#job').dataset.updates = String(++updates);
      drawJob(job);
      if (event === 'end') break;
    }
  } catch (err) {
    if (ctrl.signal.aborted) return;
    throw err;
  }
  if (ctrl.signal.aborted) return;
  // The stream is over: the job's final record, and the request it moved on.
  const final = await api<Job>('GET', `/v1/jobs/${job.id}`);
  drawJob(final);
  const r = session.current?.id === job.requestId ? await openRequest(job.requestId) : null;
  say(
    `Job ${final.id} ${final.state}${r ? `: request ${r.id} is ${r.state}` : ''}${final.error ? ` (${final.error})` : ''}.`,
    final.state === 'succeeded' ? 'info' : 'error',
  );
  await Promise.all([loadRequests(), loadReleases()]);
}

/** The request's latest job, when it has one (live ones are followed). */
async function showJobFor(r: RequestView): Promise<void> {
  if (shown?.requestId === r.id && watching && !watching.signal.aborted) return;
  watching?.abort();
  $('#job').hidden = true;
  if (['received', 'scoped', 'rejected'].includes(r.state)) return;
  const { jobs } = await api<{ jobs: Job[] }>('GET', '/v1/jobs');
  const mine = jobs.filter((j) => j.requestId === r.id).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  if (!mine) return;
  if (LIVE.has(mine.state)) void watch(mine).catch(sayError);
  else drawJob(mine);
}

const field = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement).value.trim();

async function run(form: HTMLFormElement): Promise<void> {
  const id = session.current!.id;
  const policyText = field(form, 'policy');
  let policy: unknown = policyText;
  // JSON is the policy itself; anything else names a policy file in the server's policies folder.
  if (policyText.startsWith('{')) {
    try {
      policy = JSON.parse(policyText);
    } catch (err) {
      return say(`The release policy is not valid JSON: ${(err as Error).message}`, 'error');
    }
  }
  const steps = field(form, 'steps');
  const lr = field(form, 'lr');
  const training = { ...(steps ? { steps: Number(steps) } : {}), ...(lr ? { lr: Number(lr) } : {}) };
  const optional = (name: string) => (field(form, name) ? { [name]: field(form, name) } : {});
  const body = {
    model: field(form, 'model'),
    forgetFile: field(form, 'forgetFile'),
    ...optional('retainFile'),
    ...optional('holdoutFile'),
    method: field(form, 'method'),
    ...(Object.keys(training).length ? { training } : {}),
    policy,
  };
  const { job } = await api<{ job: Job }>('POST', `/v1/requests/${id}/run`, body);
  say(`Job ${job.id} started for request ${id}.`);
  form.hidden = true;
  void watch(job).catch(sayError);
}

export function wireJobs(): void {
  onSubmit('#run-form', run);
  onRequestShown((r) => void showJobFor(r).catch(sayError));
  $('#job-cancel').addEventListener('click', () => {
    if (!shown) return;
    api<Job>('POST', `/v1/jobs/${shown.id}/cancel`)
      .then(() => say(`Job ${shown!.id}: cancel requested.`))
      .catch(sayError);
  });
}
