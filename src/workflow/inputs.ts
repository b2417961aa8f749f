// The shapes of workflow inputs, as zod schemas: the library validates with them, the HTTP layer
// turns them into JSON Schema for fastify and OpenAPI, the CLI builds them from flags. One schema.
import { z } from 'zod';
import { invalidArgument } from '../util/errors.js';

export const CATEGORIES = {
  privacy: 'privacy: the right to erasure (GDPR Art. 17)',
  copyright: 'copyright: content used without a licence',
  safety: 'safety: hazardous knowledge or capabilities',
  bias: 'bias: harmful stereotypes or associations',
} as const;
export type Category = keyof typeof CATEGORIES;
export const CATEGORY_NAMES = Object.keys(CATEGORIES) as Category[];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lowercase hex digits');
const reason = z.string().trim().min(1).max(2000);
const count = z.number().int().min(0).max(10_000_000);
const fileRef = z.strictObject({ sha256, rows: count });

export const CreateRequestInput = z.strictObject({
  category: z.enum(CATEGORY_NAMES as [Category, ...Category[]]),
  /** Who the request is about (a name, an e-mail, an account id): hashed at once, never stored. */
  subject: z.string().min(1).max(512),
  evidence: z.strictObject({
    /** Where the evidence lies (a ticket, a document id, a URL): a reference, not the document. */
    reference: z.string().trim().min(1).max(500),
    sha256: sha256.optional(),
  }),
  reason: reason.optional(),
});
export type CreateRequestInput = z.infer<typeof CreateRequestInput>;

export const ScopeInput = z.strictObject({
  /** The model (folder or registry name) to unlearn from. */
  model: z.string().trim().min(1).max(500),
  /** A registered unlearning method (`lethe methods`). */
  method: z.string().trim().min(1).max(100),
  /** The forget data: its sha256 and row count (the rows themselves stay outside the store). */
  forget: z.strictObject({
    sha256,
    rows: z.number().int().min(1).max(10_000_000),
    /** Where the forget file lies, when the deployment holds it: deleted after release (and never audited). */
    path: z.string().trim().min(1).max(1000).optional(),
  }),
  /** A reviewed provenance proposal (`lethe propose`): counts, file hashes and record hashes only. */
  proposal: z
    .strictObject({
      counts: z.strictObject({
        forget: count,
        probes: count,
        neighbours: count,
        namesakes: count,
        byMatch: z.strictObject({ exact: count, alias: count, identifier: count, near: count, fuzzy: count }),
      }),
      files: z.strictObject({ forget: fileRef, probes: fileRef, neighbours: fileRef }),
      recordHashes: z.strictObject({ forget: z.array(sha256).max(1_000_000), neighbours: z.array(sha256).max(1_000_000) }),
    })
    .optional(),
  reason: reason.optional(),
});
export type ScopeInput = z.infer<typeof ScopeInput>;

export const DecisionInput = z.strictObject({ reason });
export type DecisionInput = z.infer<typeof DecisionInput>;

export const RunStepInput = z.strictObject({ reason });

/** Fields whose values are never echoed back in a message (they may be personal data). */
const REDACTED = new Set(['subject']);

type Issue = z.core.$ZodIssue;

/** What the field must be, in words ("one of 'privacy', 'copyright'", "a string of 1 to 500 characters"). */
function describeExpected(issue: Issue): string {
  const i = issue as Issue & {
    values?: unknown[];
    expected?: string;
    minimum?: number | bigint;
    maximum?: number | bigint;
    origin?: string;
  };
  switch (issue.code) {
    case 'invalid_value':
      return `one of ${i.values!.map((v) => `'${String(v)}'`).join(', ')}`;
    case 'invalid_type':
      return i.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(i.expected!) ? 'an' : 'a'} ${i.expected}`;
    case 'too_small':
      return i.origin === 'string'
        ? Number(i.minimum) === 1
          ? 'a non-empty string'
          : `at least ${i.minimum} characters`
        : `at least ${i.minimum}`;
    case 'too_big':
      return i.origin === 'string' ? `at most ${i.maximum} characters` : `at most ${i.maximum}`;
    default:
      return issue.message;
  }
}

/** Parses `value` with `schema`, or throws BAD_INPUT naming the first bad field ("evidence.reference"). */
export function parseInput<S extends z.ZodType>(where: string, schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const unknownKeys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : null;
  const path = [...issue.path.map(String), ...(unknownKeys ? [unknownKeys[0]!] : [])];
  const field = path.join('.') || '(body)';
  let actual: unknown = value;
  for (const k of issue.path)
    actual = actual && typeof actual === 'object' ? (actual as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  const expected = unknownKeys ? 'absent (unknown field)' : describeExpected(issue);
  throw invalidArgument(
    where,
    field,
    expected,
    unknownKeys ? 'a value' : REDACTED.has(field) && actual !== undefined ? '[redacted]' : actual,
    { field },
  );
}
