// The workflow store's tables, as Kysely types: one schema for SQLite and PostgreSQL. Times are
// ISO-8601 strings and hashes lowercase hex, so both engines store and return the same values.
// No table holds a subject's raw personal data: subjects are salted hashes (see ../subjects.ts).

export interface RequestsTable {
  id: string;
  state: string;
  category: string;
  /** HMAC-SHA256 of the normalized subject identifier under the deployment's salt. */
  subject_hash: string;
  /** Where the evidence lies (document id, ticket, URL) — a reference, never the document. */
  evidence_reference: string;
  evidence_sha256: string | null;
  requested_by: string;
  created_at: string;
  updated_at: string;
  /** JSON of the scope (model, method, forget data hash and row count) once scoped. */
  scope_json: string | null;
}

export interface TransitionsTable {
  request_id: string;
  seq: number;
  from_state: string | null;
  to_state: string;
  actor: string;
  at: string;
  reason: string;
}

export interface AuditTable {
  seq: number;
  at: string;
  actor: string;
  action: string;
  request_id: string | null;
  /** Canonical JSON of the entry's details (no personal data). */
  details: string;
  prev_hash: string;
  hash: string;
  signature: string;
}

/** The signed head of the audit chain (one row, id 1): its count and last hash, against truncation. */
export interface AuditHeadTable {
  id: number;
  count: number;
  hash: string;
  at: string;
  signature: string;
}

export interface TokensTable {
  id: string;
  /** sha256 of the whole bearer token; the token itself is printed once and never stored. */
  token_hash: string;
  role: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

/** The model registry: each released model folder is a version of its name (1, 2, …). */
export interface ModelsTable {
  name: string;
  version: number;
  /** Where the released folder lies. */
  path: string;
  /** sha256 over the sorted list of (file, sha256) of every file in the folder. */
  content_sha256: string;
  /** JSON {relative path: sha256} of every file in the folder. */
  files_json: string;
  request_id: string | null;
  certificate_sha256: string | null;
  released_by: string;
  released_at: string;
}

/** Model lineage: one row per registered model name, with its parents and how it was made
 *  (../lineage.ts). Paths and hashes only: a data file is named, never read into the store. */
export interface LineageTable {
  name: string;
  /** The model folder when registered. */
  path: string;
  /** Its fingerprint when registered (util/model-fingerprint.ts). */
  content_sha256: string;
  /** base | finetune | unlearning | lora | merge | quantization | distillation | sisa */
  how: string;
  /** JSON array of the parents' registered names (sorted; empty for a base model). */
  parents_json: string;
  /** JSON array of {path, sha256, role: 'train' | 'forget'}: the data files that went in. */
  data_json: string;
  /** JSON object of what else was recorded (the unlearning method, LoRA or not). */
  details_json: string;
  registered_by: string;
  registered_at: string;
}

/** A run of an approved request (unlearning + verification) in a worker process. No subject data:
 *  options hold paths, the method, its arguments and the policy. */
export interface JobsTable {
  id: string;
  request_id: string;
  /** The queue key: jobs of one model run one at a time, in order. */
  model: string;
  /** JSON of the job's run options (see ../jobs.ts JobOptions). */
  options_json: string;
  /** queued | running | succeeded | failed | cancelled */
  state: string;
  /** JSON {phase, step, totalSteps, loss, resumedFrom}. */
  progress_json: string;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  /** How many times a worker started on it (a resume after a crash adds one). */
  attempts: number;
  /** The worker process while running (so a restarted server can make sure it is gone). */
  worker_pid: number | null;
  /** Who holds the running job (../job-lease.ts holderId): only it may write the job's progress and outcome. */
  lease_holder: string | null;
  /** When the holder's lease ends unless renewed (the database's clock, ISO-8601 UTC). */
  lease_expires_at: string | null;
  /** Someone asked to cancel the running job; its holder (and only it) stops the worker. */
  cancel_requested_by: string | null;
}

/** Every claim of a job: the holder, when it claimed, how long its lease was last renewed to, and how
 *  it ended. One job's claims never overlap: a claim starts after the previous lease has ended. */
export interface JobClaimsTable {
  job_id: string;
  attempt: number;
  holder: string;
  claimed_at: string;
  lease_until: string;
  ended_at: string | null;
  /** finished | handed back | lost | expired (taken over by the next claim) */
  end_reason: string | null;
}

export interface WorkflowDatabase {
  jobs: JobsTable;
  job_claims: JobClaimsTable;
  models: ModelsTable;
  lineage: LineageTable;
  requests: RequestsTable;
  transitions: TransitionsTable;
  audit: AuditTable;
  audit_head: AuditHeadTable;
  tokens: TokensTable;
}
