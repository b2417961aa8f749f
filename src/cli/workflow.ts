// The erasure-request workflow on the command line, mirroring the HTTP API over a local data folder:
// `lethe tokens`, `lethe request`, `lethe audit`, `lethe transparency`, `lethe serve`. Thin: parse,
// validate, call the workflow library (which checks roles, four-eyes and inputs itself).
import { Option, type Command } from 'commander';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { invalidArgument, LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';
import type { Actor, Workflow } from '../workflow/index.js';
import { int, keyValue } from './options.js';
import { leaseTiming, runnerFlags, runnerOptions, type RunnerFlags } from './worker.js';
import { open, storeOptions, withDataRoots, type StoreFlags } from './store-flags.js';

interface TokenFlags extends StoreFlags {
  token?: string;
  tokenFile?: string;
}

// Secrets never on the command line: every user of the machine sees argv (ps, /proc/PID/cmdline) and
// shells keep it in their history. The old flags stay, hidden, to say what to use instead.
const withToken = (cmd: Command) =>
  storeOptions(cmd)
    .option('--token-file <file>', "a file holding your bearer token, '-' for stdin (default: $LETHE_TOKEN)")
    .addOption(new Option('--token <token>').hideHelp());

function refuseOnCommandLine(flag: string, instead: string): never {
  throw new LetheError(
    'BAD_INPUT',
    `'${flag}' is refused: a value on the command line is visible to every user of the machine (ps, /proc) and stays in shell history; ${instead}`,
  );
}

/** A secret's text from a file or stdin ('-'), one trailing newline dropped; a key (the token) in a
 *  file others can read is refused. */
function readSecret(flag: string, file: string, { key = false } = {}): string {
  if (key && file !== '-') {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077)
      throw new LetheError('FORBIDDEN', `'${flag}' ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  }
  const text = readFileSync(file === '-' ? 0 : file, 'utf8').replace(/\r?\n$/, '');
  if (!text.trim()) throw new LetheError('BAD_INPUT', `'${flag}' ${file === '-' ? '(stdin)' : file} is empty`);
  return text;
}
/** `--rate-limit-for NAME=N`, repeatable: people's own budgets, N a positive integer. */
const personLimit = (v: string, previous: Record<string, number>): Record<string, number> => {
  const eq = v.indexOf('=');
  if (eq <= 0) throw invalidArgument('serve', '--rate-limit-for', 'NAME=N (a person and their requests per minute)', v);
  const name = v.slice(0, eq);
  return { ...previous, [name]: int('serve', `--rate-limit-for ${name}`)(v.slice(eq + 1), 0) };
};

export async function withWorkflow<T>(o: StoreFlags, fn: (w: Workflow) => Promise<T>): Promise<T> {
  const w = await open(o);
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

async function actorFor(w: Workflow, o: TokenFlags): Promise<Actor> {
  const { authenticate } = await import('../workflow/index.js');
  const token = o.tokenFile ? readSecret('--token-file', o.tokenFile, { key: true }).trim() : process.env.LETHE_TOKEN;
  if (!token)
    throw new LetheError(
      'FORBIDDEN',
      "a token is required: set $LETHE_TOKEN or give '--token-file FILE' (create one with `lethe tokens create --role R --name N`)",
    );
  const actor = await authenticate(w, token);
  if (!actor) throw new LetheError('FORBIDDEN', 'the token is unknown or revoked');
  return actor;
}

function printRequest(r: import('../workflow/index.js').RequestView, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  console.log(`${r.id}  ${r.state}  ${r.category}  requested by ${r.requestedBy}`);
  if (r.scope)
    console.log(
      `  scope: ${r.scope.method} on ${r.scope.model}, ${r.scope.forget.rows} forget rows (sha256 ${r.scope.forget.sha256.slice(0, 12)}…)`,
    );
  if (r.scope?.forget.path) console.log(`  forget file (deleted after release): ${r.scope.forget.path}`);
  const p = r.scope?.proposal;
  if (p)
    console.log(
      `  proposal: ${p.counts.forget} records to forget (${
        Object.entries(p.counts.byMatch)
          .filter(([, n]) => n)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'none'
      }), ${p.counts.neighbours} neighbours to keep, ${p.counts.probes} probes`,
    );
  for (const t of r.history) console.log(`  ${t.at}  ${(t.from ?? '—').padEnd(10)} → ${t.to.padEnd(10)} ${t.actor}: ${t.reason}`);
}

/** sha256 and non-empty line count of a JSONL file. */
function describeForgetFile(path: string): { sha256: string; rows: number } {
  const bytes = readFileSync(path);
  return {
    sha256: sha256(bytes),
    rows: bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim()).length,
  };
}

export function registerWorkflowCommands(program: Command): void {
  const tokens = program.command('tokens').description('bearer tokens for the API and the CLI (local admin: needs the data folder)');
  storeOptions(
    tokens
      .command('create')
      .description('create a token; it is printed once and only its hash is kept')
      .requiredOption('--role <role>', 'requester | approver | auditor | admin')
      .requiredOption('--name <name>', "the person's handle (one handle, one person; four-eyes compares handles without case)")
      .option('--additional-role', 'the person already holds a token of another role and is meant to hold this one too'),
  ).action(async (o: StoreFlags & { role: string; name: string; additionalRole?: boolean }) =>
    withWorkflow(o, async (w) => {
      const { createToken } = await import('../workflow/index.js');
      const t = await createToken(w, { role: o.role, name: o.name, additionalRole: o.additionalRole });
      console.error(`token ${t.id} for ${t.name} (${t.role}); shown once, keep it safe:`);
      console.log(t.token);
    }),
  );
  storeOptions(tokens.command('list').description('list tokens (ids, roles, names; never the tokens)')).action(async (o: StoreFlags) =>
    withWorkflow(o, async (w) => {
      const { listTokens } = await import('../workflow/index.js');
      for (const t of await listTokens(w))
        console.log(`${t.id}  ${t.role.padEnd(9)} ${t.name}  ${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}`);
    }),
  );
  storeOptions(tokens.command('revoke').description('revoke a token by its id').argument('<id>')).action(
    async (id: string, o: StoreFlags) =>
      withWorkflow(o, async (w) => {
        const { revokeToken } = await import('../workflow/index.js');
        await revokeToken(w, id);
        console.log(`token ${id} revoked`);
      }),
  );

  const request = program.command('request').description('erasure requests: create, scope, approve, reject, status');
  // Refused before anything runs (the hook fires for every `request` subcommand).
  request.hook('preAction', (_, action) => {
    const o = action.opts<TokenFlags & { subject?: string; subjectFile?: string }>();
    if (o.token !== undefined) refuseOnCommandLine('--token', "set $LETHE_TOKEN or give '--token-file FILE'");
    if (o.subject !== undefined) refuseOnCommandLine('--subject', "give '--subject-file FILE' ('-' reads it from stdin)");
    if (o.tokenFile === '-' && o.subjectFile === '-')
      throw new LetheError('BAD_INPUT', "'--token-file -' and '--subject-file -' cannot both read stdin");
  });
  withToken(
    request
      .command('create')
      .description('file an erasure request (the subject is hashed at once, never stored)')
      .requiredOption('--category <c>', 'privacy | copyright | safety | bias')
      .option(
        '--subject-file <file>',
        "required: who or what it is about, the file's text, '-' for stdin (hashed with the deployment salt)",
      )
      .addOption(new Option('--subject <s>').hideHelp())
      .requiredOption('--evidence <ref>', 'where the evidence lies: a ticket, a document id, a URL')
      .option('--evidence-sha256 <hex>', 'sha256 of the evidence document')
      .option('--reason <text>', 'why (default: the category)')
      .option('--json', 'print the request as JSON'),
  ).action(
    async (
      o: TokenFlags & {
        category: string;
        subjectFile?: string;
        evidence: string;
        evidenceSha256?: string;
        reason?: string;
        json?: boolean;
      },
    ) =>
      withWorkflow(o, async (w) => {
        const { createRequest } = await import('../workflow/index.js');
        if (!o.subjectFile)
          throw new LetheError('BAD_INPUT', "request create: '--subject-file FILE' is required ('-' reads the subject from stdin)");
        const subject = readSecret('--subject-file', o.subjectFile);
        const r = await createRequest(w, await actorFor(w, o), {
          category: o.category,
          subject,
          evidence: { reference: o.evidence, ...(o.evidenceSha256 ? { sha256: o.evidenceSha256 } : {}) },
          ...(o.reason ? { reason: o.reason } : {}),
        });
        printRequest(r, o.json);
      }),
  );
  withDataRoots(
    withToken(request.command('scope').description('name the model, the method and the forget data').argument('<id>'))
      .requiredOption('--model <model>', 'the model folder or registry name')
      .requiredOption('--method <name>', 'an unlearning method (`lethe methods`)')
      .option('--forget <file>', 'the forget data (JSONL): only its sha256 and row count are stored')
      .option(
        '--proposal <dir>',
        'a reviewed `lethe propose` folder: its forget.jsonl is the forget data; only counts and sha256 hashes are stored',
      )
      .option('--reason <text>', 'why this scope')
      .option(
        '--record-path',
        'also record where the forget file lies (a file inside the data folder or a --data-root), so that `lethe release` deletes it once released',
      )
      .option('--json', 'print the request as JSON'),
  ).action(
    async (
      id: string,
      o: TokenFlags & {
        model: string;
        method: string;
        forget?: string;
        proposal?: string;
        reason?: string;
        recordPath?: boolean;
        json?: boolean;
      },
    ) =>
      withWorkflow(o, async (w) => {
        const { scopeRequest } = await import('../workflow/index.js');
        if (!o.forget === !o.proposal)
          throw new LetheError('BAD_INPUT', "request scope: give exactly one of '--forget FILE' or '--proposal DIR'");
        let proposal;
        if (o.proposal) {
          const { readProposal } = await import('../workflow/provenance.js');
          proposal = readProposal(o.proposal);
        }
        const file = o.forget ?? join(o.proposal!, 'forget.jsonl');
        let forget;
        try {
          forget = { ...describeForgetFile(file), ...(o.recordPath ? { path: resolve(file) } : {}) };
        } catch (err) {
          throw new LetheError('NOT_FOUND', `request scope: forget data ${file}: ${(err as Error).message}`);
        }
        printRequest(
          await scopeRequest(w, await actorFor(w, o), id, {
            model: o.model,
            method: o.method,
            forget,
            ...(proposal ? { proposal } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
          }),
          o.json,
        );
      }),
  );
  program
    .command('index')
    .description('a full-text (SQLite FTS5) index of a training corpus, for provenance; separate from the workflow store')
    .requiredOption('--data <files...>', 'JSONL files ({"text"} or {"question","answer"} rows)')
    .option('--data-dir <dir>', 'write DIR/provenance.db (default $LETHE_DATA)')
    .option('--out <file>', 'the index file (instead of DIR/provenance.db, which is rebuilt)')
    .option('--overwrite', 'replace an existing --out file')
    .action(async (o: { data: string[]; dataDir?: string; out?: string; overwrite?: boolean }) => {
      const { buildIndex } = await import('../workflow/provenance.js');
      // A file the user names is theirs: never replaced unasked, never one of the --data files.
      if (o.out)
        (await import('../util/output.js')).claimOutputFile(o.out, {
          what: 'index',
          overwrite: o.overwrite,
          inputs: o.data.map((path) => ({ name: '--data', path })),
        });
      const r = await buildIndex({ data: o.data, dataDir: o.dataDir ?? process.env.LETHE_DATA, out: o.out });
      for (const f of r.files) console.error(`  ${f.source}: ${f.records} records (sha256 ${f.sha256.slice(0, 12)}…)`);
      console.log(`${r.path}: ${r.records} records indexed`);
    });
  program
    .command('propose')
    .description('propose a forget set for a subject: records that mention them, probes, neighbours to keep (for a reviewer)')
    .requiredOption('--subject-file <file>', 'JSON {"name", "aliases": [], "identifiers": []}')
    .requiredOption('--out <dir>', 'where to write forget.jsonl, probes.jsonl, neighbours.jsonl, proposal.json')
    .option('--index <file>', 'the `lethe index` file (default $LETHE_DATA/provenance.db)')
    .option('--model <dir>', 'no corpus at hand: ask this model the probe questions and write its answers to probes.jsonl')
    .option('--neighbours <n>', 'at most this many similar-in-form neighbours', int('propose', '--neighbours', { min: 0 }))
    .option('--json', 'print the summary as JSON')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .action(
      async (o: {
        subjectFile: string;
        out: string;
        index?: string;
        model?: string;
        neighbours?: number;
        json?: boolean;
        overwrite?: boolean;
      }) => {
        let subject: unknown;
        try {
          subject = JSON.parse(readFileSync(o.subjectFile, 'utf8'));
        } catch (err) {
          // Not the parser's message: V8 quotes the text around the fault, which here is the subject.
          const at = /position (\d+)/.exec((err as Error).message);
          const why =
            err instanceof SyntaxError ? `not valid JSON${at ? ` (at character ${Number(at[1]) + 1})` : ''}` : (err as Error).message; // fs errors name only the path
          throw new LetheError(
            'BAD_INPUT',
            `propose: '--subject-file' ${o.subjectFile}: ${why}; expected {"name": string, "aliases"?: [string], "identifiers"?: [string]}`,
          );
        }
        const index = o.index ?? (process.env.LETHE_DATA ? join(process.env.LETHE_DATA, 'provenance.db') : undefined);
        if (!index && !o.model)
          throw new LetheError('BAD_INPUT', "propose: give '--index FILE' (or $LETHE_DATA with a provenance.db) or '--model DIR'");
        const { claimOutputDir } = await import('../util/output.js');
        const read = [
          ['--subject-file', o.subjectFile],
          ['--index', index],
          ['--model', o.model],
        ].filter((r): r is [string, string] => !!r[1]);
        claimOutputDir(o.out, { what: 'propose', overwrite: o.overwrite, inputs: read.map(([name, path]) => ({ name, path })) });
        if (o.model && !o.index) {
          const { probeModel } = await import('../workflow/probe-model.js');
          const { mkdirSync } = await import('node:fs');
          const { writeJsonl } = await import('../util/jsonl.js');
          const rows = await probeModel(o.model, subject);
          mkdirSync(o.out, { recursive: true });
          writeJsonl(join(o.out, 'probes.jsonl'), rows);
          return console.log(`${join(o.out, 'probes.jsonl')}: ${rows.length} answers from ${o.model}, for a reviewer`);
        }
        const { proposeForgetSet } = await import('../workflow/provenance.js');
        const r = await proposeForgetSet(index!, subject, { outDir: o.out, neighbours: o.neighbours });
        if (o.json) return console.log(JSON.stringify(r, null, 2));
        const by = Object.entries(r.counts.byMatch)
          .filter(([, n]) => n)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ');
        console.log(
          `${r.dir}: ${r.counts.forget} records to forget${by ? ` (${by})` : ''}, ${r.counts.probes} probes, ${r.counts.neighbours} neighbours to keep (${r.counts.namesakes} namesakes)`,
        );
        console.log('review forget.jsonl, probes.jsonl and neighbours.jsonl, then: lethe request scope ID --proposal DIR …');
      },
    );

  for (const [verb, what] of [
    ['approve', 'approve a scoped request (not your own: four-eyes)'],
    ['reject', 'refuse a request, with the reason'],
  ] as const) {
    withToken(
      request
        .command(verb)
        .description(what)
        .argument('<id>')
        .requiredOption('--reason <text>', 'why')
        .option('--json', 'print the request as JSON'),
    ).action(async (id: string, o: TokenFlags & { reason: string; json?: boolean }) =>
      withWorkflow(o, async (w) => {
        const wf = await import('../workflow/index.js');
        const fn = verb === 'approve' ? wf.approveRequest : wf.rejectRequest;
        printRequest(await fn(w, await actorFor(w, o), id, { reason: o.reason }), o.json);
      }),
    );
  }
  withToken(
    request.command('status').description("a request's state, scope and history").argument('<id>').option('--json', 'as JSON'),
  ).action(async (id: string, o: TokenFlags & { json?: boolean }) =>
    withWorkflow(o, async (w) => {
      const { getRequest } = await import('../workflow/index.js');
      printRequest(await getRequest(w, await actorFor(w, o), id), o.json);
    }),
  );

  withDataRoots(
    storeOptions(
      program
        .command('release')
        .description('run an approved request: unlearn, verify against a policy, release with a certificate (or fail)')
        .argument('<id>'),
    )
      .requiredOption('--model <dir>', 'the model folder to unlearn from')
      .requiredOption('--forget <file>', "the forget data (JSONL; its sha256 must be the approved scope's)")
      .option('--retain <file>', 'data to keep (JSONL)')
      .option('--holdout <file>', 'held-out data for ratio checks such as holdout_Q_A_Prob (JSONL)')
      .option('--probes <file>', "questions about the subject to verify on instead of the forget file (a proposal's probes.jsonl)")
      .requiredOption('--method <name>', 'the unlearning method (the approved one)')
      .addOption(new Option('--set <key=value>', 'a method argument (repeatable)').argParser(keyValue('release')).default({}, 'none'))
      .option('--steps <n>', 'unlearning steps', int('release', '--steps'))
      .requiredOption('--policy <file>', 'the release policy (JSON)')
      .requiredOption('--out <dir>', 'where the unlearned model, evaluations and certificate go')
      .option('--json', 'print the result as JSON'),
  ).action(
    async (
      id: string,
      o: StoreFlags & {
        model: string;
        forget: string;
        retain?: string;
        holdout?: string;
        probes?: string;
        method: string;
        set: Record<string, string>;
        steps?: number;
        policy: string;
        out: string;
        json?: boolean;
      },
    ) =>
      withWorkflow(o, async (w) => {
        const { runRequest, readPolicyFile, SYSTEM_ACTOR } = await import('../workflow/index.js');
        const policy = readPolicyFile(o.policy);
        const res = await runRequest(w, SYSTEM_ACTOR, id, {
          modelDir: o.model,
          forgetFile: o.forget,
          retainFile: o.retain,
          method: o.method,
          args: o.set,
          policy,
          outDir: o.out,
          training: o.steps ? { steps: o.steps } : undefined,
          evaluation: { ...(o.holdout ? { holdoutFile: o.holdout } : {}), ...(o.probes ? { probesFile: o.probes } : {}) },
          log: (l) => console.error(l),
        });
        if (o.json)
          console.log(
            JSON.stringify(
              {
                state: res.request.state,
                checks: res.verdict?.checks ?? null,
                model: res.model ?? null,
                lineage: res.lineage ?? null,
                certificate: res.certificate ?? null,
              },
              null,
              2,
            ),
          );
        else {
          for (const c of res.verdict?.checks ?? [])
            console.log(`  ${c.passed ? 'pass' : 'FAIL'}  ${c.metric} = ${c.value ?? '—'}  (${c.threshold.rule})`);
          printRequest(res.request);
          if (res.model)
            console.log(
              `released ${res.model.name} v${res.model.version} (${res.model.contentSha256}); certificate ${res.certificate!.json}`,
            );
          for (const m of res.lineage?.models.filter((x) => x.status !== 'released') ?? [])
            console.log(`  lineage: ${m.name} ${m.status}: ${m.reasons.join('; ')}`);
        }
        if (res.request.state !== 'released') process.exitCode = 1;
      }),
  );

  const audit = program.command('audit').description('the signed, hash-chained audit log');
  storeOptions(
    audit
      .command('verify')
      .description('check the chain, every signature, the signed head and the tables it describes; exit 1 on any problem')
      .option(
        '--anchor <file>',
        'an anchor kept outside the deployment (`lethe audit anchor`): also catches a wipe, a rollback, a re-signed history, another key',
      )
      .option(
        '--expect-count <n>',
        'the head count of an earlier export (catches a rollback)',
        int('audit verify', '--expect-count', { min: 0 }),
      )
      .option('--expect-hash <hex>', 'the head hash of that export')
      .option('--json', 'as JSON'),
  ).action(async (o: StoreFlags & { anchor?: string; expectCount?: number; expectHash?: string; json?: boolean }) =>
    withWorkflow(o, async (w) => {
      const { verifyAudit, parseAnchor } = await import('../workflow/index.js');
      if ((o.expectCount === undefined) !== (o.expectHash === undefined))
        throw new LetheError('BAD_INPUT', "audit verify: '--expect-count' and '--expect-hash' go together");
      if (o.anchor && o.expectCount !== undefined)
        throw new LetheError('BAD_INPUT', "audit verify: give '--anchor FILE' or '--expect-count/--expect-hash', not both");
      const expect = o.anchor
        ? parseAnchor(readFileSync(o.anchor, 'utf8'), o.anchor)
        : o.expectCount !== undefined
          ? { count: o.expectCount, hash: o.expectHash! }
          : undefined;
      const v = await verifyAudit(w, expect);
      if (o.json) console.log(JSON.stringify(v, null, 2));
      else {
        console.log(
          v.ok
            ? `audit: ${v.entries} entries, chain, signatures and tables intact (key ${v.keyId}); head ${v.head?.count ?? 0} ${v.head?.hash ?? ''}${expect ? `; matches the anchor at entry ${expect.count}` : ''}`
            : `audit: ${v.problems.length} problem(s) in ${v.entries} entries:`,
        );
        for (const p of v.problems) console.log(`  ${p}`);
        for (const n of v.notes) console.log(`  note: ${n}`);
        if (v.ok && !expect)
          console.log(
            '  (a wiped or re-signed log also verifies by itself: check it against an anchor kept elsewhere, `lethe audit verify --anchor FILE`)',
          );
      }
      if (!v.ok) process.exitCode = 1;
    }),
  );
  storeOptions(
    audit
      .command('anchor')
      .description('write the signed head (count, hash, key) to keep outside the deployment, for `audit verify --anchor`')
      .option('--out <file>', 'write here (a new file) instead of stdout'),
  ).action(async (o: StoreFlags & { out?: string }) =>
    withWorkflow(o, async (w) => {
      const { makeAnchor } = await import('../workflow/index.js');
      const a = await makeAnchor(w);
      const text = JSON.stringify(a, null, 2) + '\n';
      if (!o.out) return void process.stdout.write(text);
      writeFileAtomic(o.out, text, { exclusive: true, fsync: true });
      console.error(`${o.out}: anchor at entry ${a.count} (key ${a.keyId}); keep it outside the deployment`);
    }),
  );
  storeOptions(
    audit
      .command('export')
      .description('write the log as JSON Lines (header with key and signed head, then entries)')
      .option('--out <file>', 'write here instead of stdout'),
  ).action(async (o: StoreFlags & { out?: string }) =>
    withWorkflow(o, async (w) => {
      const { exportAudit } = await import('../workflow/index.js');
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0);
        else throw e;
      });
      const out: NodeJS.WritableStream = o.out ? createWriteStream(o.out, { flags: 'wx' }) : process.stdout;
      for await (const line of exportAudit(w)) if (!out.write(line + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
      if (o.out) await new Promise<void>((res) => out.end(res));
    }),
  );

  // `lethe report` already renders evaluation reports; the transparency report has its own name.
  storeOptions(
    program
      .command('transparency')
      .description('counts of erasure requests by category and outcome; no contents')
      .option('--json', 'as JSON'),
  ).action(async (o: StoreFlags & { json?: boolean }) =>
    withWorkflow(o, async (w) => {
      const { transparencyReport, SYSTEM_ACTOR, STATES } = await import('../workflow/index.js');
      const rep = await transparencyReport(w, SYSTEM_ACTOR);
      if (o.json) return console.log(JSON.stringify(rep, null, 2));
      console.log(`erasure requests: ${rep.total} (as of ${rep.generatedAt})`);
      console.log(['category'.padEnd(10), ...STATES.map((s) => s.padStart(10))].join(' '));
      for (const [c, by] of Object.entries(rep.byCategory))
        console.log([c.padEnd(10), ...STATES.map((s) => String(by[s]).padStart(10))].join(' '));
    }),
  );

  withDataRoots(
    runnerFlags(
      storeOptions(
        program
          .command('serve')
          .description(
            'the HTTP API (OpenAPI at /openapi.json), the dashboard (/dashboard/), the public transparency report (/transparency) and the job runner (resumes jobs a stopped server left running)',
          )
          .option('--port <n>', 'port', int('serve', '--port', { min: 0, max: 65535 }), 8470)
          .option('--host <host>', 'address to listen on', '127.0.0.1')
          .option(
            '--no-workers',
            'run no jobs here: `lethe worker` processes run them (several servers may then share one postgres:// database)',
          )
          .option(
            '--rate-limit <n>',
            'requests per minute per person (per address without a valid token: a fifth of it)',
            int('serve', '--rate-limit'),
            300,
          )
          .addOption(
            new Option(
              '--rate-limit-for <name=n>',
              "a person's own requests per minute instead of --rate-limit (a monitoring account); repeatable",
            )
              .argParser(personLimit)
              .default({}, 'none'),
          ),
      ),
      'serve',
    ),
  ).action(
    async (
      o: StoreFlags &
        RunnerFlags & { port: number; host: string; workers: boolean; rateLimit: number; rateLimitFor: Record<string, number> },
    ) => {
      const dataDir = o.data ?? process.env.LETHE_DATA;
      if (!dataDir) throw new LetheError('BAD_INPUT', "'--data' (or $LETHE_DATA) must name the deployment's data folder");
      const lease = await leaseTiming(o);
      // On one machine (SQLite), one server per data folder, held for the server's life: a second one
      // would take this one's running jobs for a crashed server's. On PostgreSQL any number of servers
      // share the database; jobs are held by leases, not by the lock. Other commands never take it.
      const { acquireDataLock, createDataDir, workerNice } = await import('../workflow/index.js');
      workerNice(); // a bad $LETHE_WORKER_NICE is refused here, not in each job's worker
      createDataDir(dataDir);
      const shared = /^postgres(ql)?:\/\//.test(o.db ?? process.env.LETHE_DB ?? '');
      const lock = shared ? undefined : acquireDataLock(dataDir);
      let w: Workflow;
      try {
        w = await open(o);
      } catch (err) {
        lock?.release();
        throw err;
      }
      const { buildServer } = await import('../server/app.js');
      const { JobRunner } = await import('../workflow/index.js');
      // Request bodies are never logged (fastify logs only method, url, status and time): they hold subjects.
      const app = await buildServer(w, {
        logger: true,
        rateLimit: { max: o.rateLimit, perPerson: o.rateLimitFor, windowMs: 60_000 },
        jobs: (log) => new JobRunner(w, { ...runnerOptions(w, o, lease, log), concurrency: o.workers ? o.concurrency : 0, lock }),
      });
      const stop = async () => {
        await app.close();
        await w.close();
        lock?.release();
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      await app.listen({ port: o.port, host: o.host });
      await app.jobs.start();
    },
  );
}
