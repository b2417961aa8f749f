// The dashboard in real headless Chromium (Debian's, through playwright-core) against a server on a
// free port with a fresh SQLite workflow: the whole flow clicked through with three people's tokens —
// the requester files (subject typed in) and scopes (forget file hashed in the browser), the approver
// approves, the admin meets the four-eyes refusal on a request of their own, runs the approved one
// and watches its job's progress arrive live until the release, opens the certificate; then the
// public transparency page. Every step: page content asserted, a screenshot kept in test-artifacts/.
// No console errors but the one 403 of the four-eyes refusal, no request leaves the server, and the
// subject's name is nowhere in the page (or the browser's storage) once the request is filed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { buildServer } from '../../src/server/app.js';
import { createToken, hashSubject, verifyAudit } from '../../src/workflow/index.js';
import { artifacts, launchChromium } from '../browser.js';
import { freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { SUBJECT } from '../workflow/fixtures.js';
import { setup, sha, type RunSetup } from '../workflow/run-fixtures.js';

const SECOND_SUBJECT = 'Bartholomew Inkwright';
let w: TestWorkflow;
let app: FastifyInstance;
let base: string;
let browser: Browser;
const tok: Record<string, string> = {};

// The llama-tiny fixture and its QA files inside the data folder, where the job routes accept paths
// (the forget rows name the subject: they stay in the file, which the browser only hashes).
let files: RunSetup;

before(async () => {
  w = await freshWorkflow('sqlite');
  files = setup(join(w.dataDir, 'inputs'));
  app = await buildServer(w);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  for (const [name, role] of [
    ['alice', 'requester'],
    ['bob', 'approver'],
    ['root', 'admin'],
  ] as const)
    tok[name] = (await createToken(w, { role, name })).token;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await app?.close();
  await w?.dispose();
});

interface Watched {
  page: Page;
  errors: string[];
  offsite: string[];
}

/** A page that may only reach this server: anything else is blocked and recorded; console errors and page errors are collected. */
async function openPage(): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  const offsite: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:') || url === 'about:srcdoc') return route.continue();
    offsite.push(url);
    return route.abort();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors, offsite };
}

let shotNo = 0;
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `dashboard-${String(++shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function signIn(page: Page, who: string, role: string): Promise<void> {
  await page.fill('#token', tok[who]!);
  await page.click('#token-form button[type=submit]');
  await page.waitForFunction((t) => document.querySelector('#whoami')?.textContent === t, `Signed in as ${who} (${role}).`);
}

const text = (page: Page, sel: string) => page.locator(sel).innerText();
const detailState = (page: Page, state: string) =>
  page.waitForFunction((s) => document.querySelector('#detail-state')?.textContent === s, state);

/** The subject's name nowhere in the document, the form fields or the browser's storage. */
async function assertNoSubject(page: Page, where: string): Promise<void> {
  const everything = await page.evaluate(() =>
    [
      document.documentElement.outerHTML,
      document.body.innerText,
      ...[...document.querySelectorAll('input, textarea')].map((e) => (e as HTMLInputElement).value),
      JSON.stringify({ ...localStorage }),
      JSON.stringify({ ...sessionStorage }),
      location.href,
    ].join('\n'),
  );
  for (const needle of [SUBJECT, 'Quillfeather', SECOND_SUBJECT, 'Inkwright'])
    assert.ok(!everything.includes(needle), `${where}: the page shows '${needle}'`);
}

async function fileRequest(page: Page, subject: string, category: string): Promise<string> {
  await page.selectOption('#create-form select[name=category]', category);
  await page.fill('#create-form input[name=subject]', subject);
  await page.fill('#create-form input[name=reference]', 'ticket DPO-2026-0007');
  await page.click('#create-form button[type=submit]');
  await page.waitForFunction(() => /^Request req_[0-9a-f]{12} filed/.test(document.querySelector('#message')?.textContent ?? ''));
  const id = /^Request (req_[0-9a-f]{12}) filed/.exec(await text(page, '#message'))![1]!;
  await page.waitForFunction((i) => document.querySelector('#detail-id')?.textContent === i, id);
  return id;
}

async function scope(page: Page): Promise<void> {
  await page.fill('#scope-form input[name=model]', 'tiny-assistant');
  await page.fill('#scope-form input[name=method]', 'GradAscent');
  await page.setInputFiles('#scope-form input[name=forgetFile]', files.forgetFile);
  // The browser hashes the file itself: the same sha256 and row count as on disk.
  await page.waitForFunction(
    (s) => (document.querySelector('#scope-form input[name=sha256]') as HTMLInputElement).value === s,
    sha(files.forgetFile),
  );
  assert.equal(await page.inputValue('#scope-form input[name=rows]'), '4');
  await page.click('#scope-form button[type=submit]');
  await detailState(page, 'scoped');
}

test('the dashboard end to end in headless Chromium: file, scope, approve, four-eyes, run, watch, certificate, transparency', async () => {
  const { page, errors, offsite } = await openPage();
  const expectedErrors: string[] = [];

  // Signed out: the root redirects to the dashboard, which asks for a token and shows nothing else.
  await page.goto(`${base}/`);
  assert.equal(page.url(), `${base}/dashboard/`);
  assert.match(await text(page, '#whoami'), /Not signed in/);
  assert.equal(await page.isVisible('#app'), false);
  await shot(page, 'signed-out');

  // A wrong token is refused and forgotten.
  await page.fill('#token', 'lethe_00000000_' + 'A'.repeat(43));
  await page.click('#token-form button[type=submit]');
  await page.waitForFunction(() => /That token was refused/.test(document.querySelector('#message')?.textContent ?? ''));
  expectedErrors.push('401');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  // The requester files a request: only the salted hash of the subject comes back.
  await signIn(page, 'alice', 'requester');
  assert.equal(await page.isVisible('#create-form'), true);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('lethe.token')), tok.alice, 'the token is kept for this tab');
  const id = await fileRequest(page, SUBJECT, 'privacy');
  await detailState(page, 'received');
  assert.ok((await text(page, '#detail-facts')).includes(hashSubject(w.deployment.salt, SUBJECT)), 'the salted hash is shown');
  assert.match(await text(page, '#timeline tbody'), /received\s+alice\s+erasure request \(privacy\)/);
  assert.equal(await page.isVisible('#decide-form'), false, 'a requester cannot decide');
  await assertNoSubject(page, 'after filing');
  await shot(page, 'requester-filed');

  // The requester scopes it; the forget file is hashed in the browser, not uploaded.
  await scope(page);
  assert.match(await text(page, '#detail-facts'), /GradAscent on tiny-assistant; 4 forget rows/);
  assert.equal(await page.locator('#timeline tbody tr').count(), 2);
  await shot(page, 'requester-scoped');

  // The approver approves, with a reason.
  await signIn(page, 'bob', 'approver');
  assert.equal(await page.isVisible('#create'), false, 'an approver does not file requests');
  assert.equal(await page.isVisible('#audit'), false, 'nor verifies the audit log');
  await page.click(`#request-list tr[data-id="${id}"]`);
  await detailState(page, 'scoped');
  assert.equal(await page.isVisible('#scope-form'), false);
  await page.fill('#decide-form input[name=reason]', 'identity checked against the DPO ticket');
  await page.click('#decide-form button[value=approve]');
  await detailState(page, 'approved');
  assert.match(await text(page, '#timeline tbody'), /scoped\s+approved\s+bob\s+identity checked against the DPO ticket/);
  await shot(page, 'approver-approved');

  // The admin files and scopes a request of their own, then may not approve it: four-eyes, shown as the server words it.
  await signIn(page, 'root', 'admin');
  const own = await fileRequest(page, SECOND_SUBJECT, 'copyright');
  await scope(page);
  await page.fill('#decide-form input[name=reason]', 'looks fine to me');
  await page.click('#decide-form button[value=approve]');
  await page.waitForFunction(() => document.querySelector('#message')?.className === 'error');
  assert.equal(
    await text(page, '#message'),
    `FORBIDDEN (403): request ${own}: 'root' requested it and cannot also approve it (four-eyes: another person must approve)`,
  );
  expectedErrors.push('403');
  assert.equal(await text(page, '#detail-state'), 'scoped');
  await assertNoSubject(page, 'after the second request');
  await shot(page, 'admin-four-eyes');

  // Filter by state: the approved one only.
  await page.selectOption('#state-filter', 'approved');
  await page.waitForFunction(() => /^1 request in state approved$/.test(document.querySelector('#request-count')?.textContent ?? ''));
  assert.deepEqual(await page.locator('#request-list tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id)), [
    id,
  ]);
  await page.click(`#request-list tr[data-id="${id}"]`);
  await detailState(page, 'approved');
  assert.equal(await page.isVisible('#run-form'), true);
  await shot(page, 'admin-filter-approved');

  await runAndRelease(page, id);

  // The admin checks the audit log from the page: the server's verification, entry count included.
  await page.click('#verify-audit');
  await page.waitForFunction(() => /^The audit log is intact/.test(document.querySelector('#audit-result')?.textContent ?? ''));
  const audit = await verifyAudit(w);
  assert.ok(audit.ok && audit.entries > 10, JSON.stringify(audit));
  assert.match(
    await text(page, '#audit-result'),
    new RegExp(
      `^The audit log is intact: ${audit.entries} entries, every link and signature checked; signed head at entry ${audit.entries} \\(${audit.head!.hash.slice(0, 16)}…\\), key ${audit.keyId}\\.$`,
    ),
  );

  // The approver refuses the admin's own request, with the reason.
  await signIn(page, 'bob', 'approver');
  await page.selectOption('#state-filter', 'scoped');
  await page.waitForFunction(() => document.querySelector('#request-count')?.textContent === '1 request in state scoped');
  await page.click(`#request-list tr[data-id="${own}"]`);
  await detailState(page, 'scoped');
  await page.fill('#decide-form input[name=reason]', 'the evidence shows no copyright claim');
  await page.click('#decide-form button[value=reject]');
  await detailState(page, 'rejected');
  assert.match(
    (await page.locator('#timeline tbody tr').allInnerTexts()).at(-1)!,
    /^\S+ \S+ UTC\tscoped\trejected\tbob\tthe evidence shows no copyright claim$/,
  );
  assert.equal(await page.isVisible('#decide-form'), false, 'a final state offers no decision');
  await shot(page, 'approver-rejected');

  // The public transparency page: counts only, and who decides.
  await page.click('#transparency-link');
  await page.waitForURL(`${base}/transparency`);
  assert.match(await text(page, '#summary'), /^2 requests received: 1 released, 1 rejected, 0 failed verification, 0 in progress\./);
  assert.match(
    await text(page, 'tr[data-category="privacy"]'),
    /^privacy: the right to erasure \(GDPR Art\. 17\)\t0\t0\t0\t0\t0\t1\t0\t0\t1$/,
  );
  assert.match(await text(page, 'tr[data-category="copyright"]'), /^copyright: content used without a licence\t0\t0\t0\t0\t0\t0\t1\t0\t1$/);
  assert.match(await text(page, 'body'), /Who decides, and who is accountable[\s\S]*The approver[\s\S]*four-eyes[\s\S]*The audit/);
  await assertNoSubject(page, 'transparency');
  for (const person of ['alice', 'bob', 'root']) assert.ok(!(await text(page, 'body')).includes(person), `the public page names ${person}`);
  await shot(page, 'transparency');

  // Back on the dashboard the tab still holds the token; "Forget token" drops it.
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('#whoami')?.textContent === 'Signed in as bob (approver).');
  await page.click('#sign-out');
  assert.match(await text(page, '#whoami'), /^Not signed in/);
  assert.equal(await page.isVisible('#app'), false);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  assert.deepEqual(offsite, [], 'the dashboard reached outside its server');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept beyond the tab');
  // Chromium logs each refused fetch ("Failed to load resource: … status of 4xx"); those were asked for.
  assert.deepEqual(
    errors.map((e) => /status of (\d{3})/.exec(e)?.[1] ?? e),
    expectedErrors,
    errors.join('\n'),
  );
  await page.close();
});

// Lenient: passes on the tiny model after a few steps (the same checks as the release tests' lenient policy).
const LENIENT = {
  name: 'lenient',
  checks: [
    { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 },
    { metric: 'forget_Q_A_Prob', max_ratio_to: 'retain_Q_A_Prob', ratio: 1e6 },
    { metric: 'mia_min_k', between: [0, 1] },
    { metric: 'retain_Q_A_Prob', min_ratio_to_original: 1e-6 },
  ],
};

/** The admin runs the approved request and watches its job until the release; then opens the certificate. */
async function runAndRelease(page: Page, id: string): Promise<void> {
  assert.equal(await page.inputValue('#run-form input[name=method]'), 'GradAscent', 'the method comes from the scope');
  await page.fill('#run-form input[name=model]', files.model);
  await page.fill('#run-form input[name=forgetFile]', files.forgetFile);
  await page.fill('#run-form input[name=retainFile]', files.retainFile);
  await page.fill('#run-form input[name=holdoutFile]', files.holdoutFile);
  await page.fill('#run-form input[name=steps]', '3');
  await page.fill('#run-form input[name=lr]', '0.001');
  await page.fill('#run-form textarea[name=policy]', JSON.stringify(LENIENT));
  // Every drawing of the job panel, in order, as "state | detail".
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const job = document.querySelector('#job')!;
    new MutationObserver(() => {
      const now = `${document.querySelector('#job-state')!.textContent} | ${document.querySelector('#job-detail')!.textContent}`;
      if (seen.at(-1) !== now) seen.push(now);
    }).observe(job, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.click('#run-form button[type=submit]');
  await page.waitForFunction(() => /step \d+ of \d+/.test(document.querySelector('#job-detail')?.textContent ?? ''), null, {
    timeout: 180_000,
  });
  assert.equal(await page.isVisible('#run-form'), false, 'the run form is gone once the job is queued');
  await shot(page, 'admin-job-progress');
  await page.waitForFunction(() => document.querySelector('#detail-state')?.textContent === 'released', null, { timeout: 480_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  // Live: the job's events were drawn as they came — running with unlearning steps (only ever
  // forward), before it succeeded — and the page counted each progress event it read.
  const steps = seen
    .filter((s) => s.startsWith('running'))
    .map((s) => Number(/unlearning step (\d+) of 3/.exec(s)?.[1] ?? NaN))
    .filter((n) => !Number.isNaN(n));
  assert.ok(steps.length >= 1 && steps.every((n) => n >= 1 && n <= 3), `unlearning steps seen while running: ${seen.join(' / ')}`);
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
    'steps only go forward',
  );
  assert.ok(seen.findIndex((s) => s.startsWith('succeeded')) > seen.findIndex((s) => s.startsWith('running')), seen.join(' / '));
  // 3 steps, then the verifying and releasing phases: at least 5 progress events.
  assert.ok(
    Number(await page.getAttribute('#job', 'data-updates')) >= 5,
    `progress events received: ${await page.getAttribute('#job', 'data-updates')}`,
  );
  assert.match(await text(page, '#job-detail'), /^phase done · unlearning step 3 of 3 · loss -?[0-9.]+/);
  assert.equal(await text(page, '#job-state'), 'succeeded');
  assert.match(await text(page, '#message'), new RegExp(`^Job job_[0-9a-f]{12} succeeded: request ${id} is released\\.$`));
  assert.deepEqual(await page.locator('#timeline tbody tr td:nth-child(3)').allInnerTexts(), [
    'received',
    'scoped',
    'approved',
    'unlearning',
    'verifying',
    'released',
  ]);
  // The list follows: the request left 'approved' (still the filter) and is found under 'released'.
  await page.waitForFunction(() => document.querySelector('#request-count')?.textContent === '0 requests in state approved');
  await page.selectOption('#state-filter', 'released');
  await page.waitForFunction(
    (i) =>
      document.querySelector('#request-count')?.textContent === '1 request in state released' &&
      !!document.querySelector(`#request-list tr[data-id="${i}"]`),
    id,
  );
  await shot(page, 'admin-released');

  // The certificate: each check beside its threshold, and the certificate page in a sandboxed frame.
  await page.click(`#release-list tr[data-request="${id}"] button.open-certificate`);
  await page.waitForSelector('#certificate:not([hidden])');
  assert.equal(await text(page, '#certificate-verdict'), 'policy passed');
  assert.match(await text(page, '#certificate-title'), new RegExp(`^tiny-assistant version 1 \\(request ${id}\\)$`));
  const checks = await page.locator('#certificate-checks tbody tr').allInnerTexts();
  assert.equal(checks.length, 4, checks.join('\n'));
  for (const c of checks) assert.match(c, /\tpass$/);
  assert.match(checks[2]!, /^mia_min_k\t[0-9.e-]+\t[0-9.e-]+\t/);
  const frame = page.frameLocator('#certificate-frame');
  assert.equal(await frame.locator('h1').innerText(), 'Release certificate');
  assert.ok((await frame.locator('body').innerText()).includes(id));
  await assertNoSubject(page, 'certificate');
  // Chromium paints a frame only once it has been in view: the page scrolls to the certificate.
  await page.locator('#certificate-frame').scrollIntoViewIfNeeded();
  await shot(page, 'certificate');
}
