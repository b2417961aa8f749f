// Requests: the list (filtered by state), one request's facts and timeline (who, when, why), and
// the forms to create, scope, approve and reject. Which forms show depends on the role and the
// request's state; the server checks both again, and its refusals are shown as it words them.
import type { RequestView } from '../../../workflow/index.js';
import { api } from './api.js';
import { $, clearMessage, fill, h, row, say, sayError, when } from './dom.js';
import { describeFile } from './forget-file.js';
import { requestShown, session } from './session.js';

type RequestSummary = Omit<RequestView, 'history'>;

export const badge = (state: string) => h('span', { class: `state ${state}` }, state);

let listing = 0;

export async function loadRequests(): Promise<void> {
  const state = $<HTMLSelectElement>('#state-filter').value;
  const mine = ++listing;
  const { requests } = await api<{ requests: RequestSummary[] }>(
    'GET',
    `/v1/requests${state ? `?state=${encodeURIComponent(state)}` : ''}`,
  );
  // A slower answer to an earlier load (another filter) must not overwrite a newer one.
  if (mine !== listing) return;
  fill(
    $('#request-list tbody'),
    requests.map((r) => {
      const tr = row([h('code', {}, r.id), badge(r.state), r.category, r.requestedBy, when(r.createdAt), when(r.updatedAt)], {
        'data-id': r.id,
        'data-state': r.state,
      });
      if (r.id === session.current?.id) tr.classList.add('selected');
      tr.addEventListener('click', () => void openRequest(r.id).catch(sayError));
      return tr;
    }),
  );
  $('#request-count').textContent = `${requests.length} request${requests.length === 1 ? '' : 's'}${state ? ` in state ${state}` : ''}`;
}

export async function openRequest(id: string): Promise<RequestView> {
  const r = await api<RequestView>('GET', `/v1/requests/${encodeURIComponent(id)}`);
  session.current = r;
  renderDetail(r);
  for (const tr of document.querySelectorAll<HTMLElement>('#request-list tbody tr')) tr.classList.toggle('selected', tr.dataset.id === id);
  history.replaceState(null, '', `#${id}`);
  requestShown(r);
  return r;
}

function renderDetail(r: RequestView): void {
  $('#detail').hidden = false;
  $('#detail-id').textContent = r.id;
  $('#detail-state').replaceWith(Object.assign(badge(r.state), { id: 'detail-state' }));
  const facts: [string, string | number][] = [
    ['category', r.category],
    ['subject (salted hash)', r.subjectHash],
    ['evidence', r.evidence.reference],
    ...(r.evidence.sha256 ? [['evidence sha256', r.evidence.sha256] as [string, string]] : []),
    ['requested by', r.requestedBy],
    ['created', when(r.createdAt)],
    ['updated', when(r.updatedAt)],
    ...(r.scope
      ? [
          ['scope', `${r.scope.method} on ${r.scope.model}; ${r.scope.forget.rows} forget rows, sha256 ${r.scope.forget.sha256}`] as [
            string,
            string,
          ],
        ]
      : []),
    ...(r.scope?.forget.path ? [['forget file (deleted after release)', r.scope.forget.path] as [string, string]] : []),
  ];
  $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  fill(
    $('#timeline tbody'),
    r.history.map((t) => row([when(t.at), t.from ?? '—', badge(t.to), t.actor, t.reason])),
  );
  showActions(r);
}

/** A form (or button) shows when the role may use it and the request is in one of its states. */
function showActions(r: RequestView): void {
  const role = session.me?.role ?? '';
  for (const el of document.querySelectorAll<HTMLElement>('#detail [data-states]')) {
    const roles = el.closest<HTMLElement>('[data-roles]')?.dataset.roles?.split(' ') ?? [];
    el.hidden = !roles.includes(role) || !el.dataset.states!.split(' ').includes(r.state);
  }
  const run = $<HTMLFormElement>('#run-form');
  if (r.scope) (run.elements.namedItem('method') as HTMLInputElement).value = r.scope.method;
}

const value = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
const optional = (s: string) => (s ? s : undefined);

async function create(form: HTMLFormElement): Promise<void> {
  const sha = value(form, 'evidenceSha256');
  const body = {
    category: value(form, 'category'),
    subject: value(form, 'subject'),
    evidence: { reference: value(form, 'reference'), ...(sha ? { sha256: sha } : {}) },
    reason: optional(value(form, 'reason')),
  };
  const r = await api<RequestView>('POST', '/v1/requests', body);
  // The subject leaves the page with the request: from here on only its salted hash is shown.
  form.reset();
  say(`Request ${r.id} filed. The subject is kept only as a salted hash (${r.subjectHash.slice(0, 16)}…).`);
  await loadRequests();
  await openRequest(r.id);
}

async function scope(form: HTMLFormElement): Promise<void> {
  const id = session.current!.id;
  const body = {
    model: value(form, 'model'),
    method: value(form, 'method'),
    forget: { sha256: value(form, 'sha256'), rows: Number(value(form, 'rows')) },
    reason: optional(value(form, 'reason')),
  };
  await api<RequestView>('POST', `/v1/requests/${id}/scope`, body);
  form.reset();
  say(`Request ${id} scoped: ${body.method} on ${body.model}, ${body.forget.rows} forget rows.`);
  await Promise.all([openRequest(id), loadRequests()]);
}

async function decide(form: HTMLFormElement, decision: string): Promise<void> {
  const id = session.current!.id;
  await api<RequestView>('POST', `/v1/requests/${id}/${decision === 'approve' ? 'approve' : 'reject'}`, { reason: value(form, 'reason') });
  form.reset();
  say(`Request ${id} ${decision === 'approve' ? 'approved' : 'rejected'}.`);
  await Promise.all([openRequest(id), loadRequests()]);
}

/** Runs a form's action on submit, with its errors in the banner. */
export function onSubmit(selector: string, action: (form: HTMLFormElement, submitter: string) => Promise<void>): void {
  const form = $<HTMLFormElement>(selector);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearMessage();
    const submitter = ((e as SubmitEvent).submitter as HTMLButtonElement | null)?.value ?? '';
    action(form, submitter).catch(sayError);
  });
}

export function wireRequestForms(): void {
  onSubmit('#create-form', create);
  onSubmit('#scope-form', scope);
  onSubmit('#decide-form', decide);
  $('#state-filter').addEventListener('change', () => void loadRequests().catch(sayError));
  $('#refresh').addEventListener('click', () => void loadRequests().catch(sayError));
  const scopeForm = $<HTMLFormElement>('#scope-form');
  const picker = scopeForm.elements.namedItem('forgetFile') as HTMLInputElement;
  picker.addEventListener('change', () => {
    const file = picker.files?.[0];
    if (!file) return;
    if (!globalThis.crypto?.subtle)
      return say(
        'This page is not in a secure context (https or localhost), so it cannot hash the file: enter the sha256 and the row count.',
        'error',
      );
    describeFile(file)
      .then(({ sha256, rows }) => {
        (scopeForm.elements.namedItem('sha256') as HTMLInputElement).value = sha256;
        (scopeForm.elements.namedItem('rows') as HTMLInputElement).value = String(rows);
      })
      .catch(sayError);
  });
}
