// The dashboard's entry: the token form (the token is checked with GET /v1/me and kept in
// sessionStorage for this tab only), then the requests, the open request and the releases.
import { api, ApiError, tokenStore } from './api.js';
import { wireAudit } from './audit.js';
import { $, clearMessage, gateByRole, say, sayError } from './dom.js';
import { wireJobs } from './jobs.js';
import { loadReleases } from './releases.js';
import { loadRequests, openRequest, wireRequestForms } from './requests.js';
import { session, type Me } from './session.js';

async function signIn(): Promise<void> {
  const me = await api<Me>('GET', '/v1/me');
  session.me = me;
  $('#whoami').textContent = `Signed in as ${me.name} (${me.role}).`;
  $('#whoami').dataset.role = me.role;
  $('#sign-out').hidden = false;
  $('#app').hidden = false;
  gateByRole(me.role);
  $('#audit-result').textContent = '';
  await Promise.all([loadRequests(), loadReleases()]);
  const id = session.current?.id ?? /^#(req_[0-9a-f]{12})$/.exec(location.hash)?.[1];
  if (id) await openRequest(id);
}

function signOut(why?: string): void {
  tokenStore.clear();
  session.me = null;
  session.current = null;
  gateByRole(null);
  $('#app').hidden = true;
  $('#detail').hidden = true;
  $('#sign-out').hidden = true;
  $('#whoami').textContent = 'Not signed in: paste a token (it is kept in this tab only, until the tab closes).';
  delete $('#whoami').dataset.role;
  if (why) say(why, 'error');
}

function start(): void {
  wireRequestForms();
  wireJobs();
  wireAudit();
  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    clearMessage();
    const input = $<HTMLInputElement>('#token');
    tokenStore.set(input.value.trim());
    input.value = '';
    signIn().catch((err: unknown) =>
      err instanceof ApiError && err.status === 401 ? signOut(`That token was refused: ${err.message}.`) : sayError(err),
    );
  });
  $('#sign-out').addEventListener('click', () => signOut());
  $('#refresh-releases').addEventListener('click', () => void loadReleases().catch(sayError));
  if (tokenStore.get())
    signIn().catch((err: unknown) =>
      err instanceof ApiError && err.status === 401 ? signOut('The saved token is no longer accepted.') : sayError(err),
    );
}

start();
