// The workflow layer: erasure requests, their audit log, tokens and roles, over one store.
// Provenance (./provenance.js, ./probe-model.js) is imported on its own: it reads training data
// through train/, which loads the native addon, and the store and server do not need that.
export { openWorkflow, type Workflow } from './context.js';
export { openStore, createDataDir, SQLITE_FILE, type Store, type OpenStoreOptions } from './store/open.js';
export { acquireDataLock, LOCK_FILE, type DataLock, type LockHolder } from './data-lock.js';
export { loadDeployment, KEY_FILE_ENV, type Deployment, type DeploymentOptions } from './deployment.js';
export { exportAudit } from './audit-export.js';
export { verifyAudit, auditEntries, readAuditHead, type AuditEntry, type AuditVerification, type AuditExpectation } from './audit.js';
export { makeAnchor, parseAnchor, type AuditAnchor } from './audit-anchor.js';
export {
  createRequest,
  scopeRequest,
  approveRequest,
  rejectRequest,
  advanceRequest,
  auditRequestEvent,
  getRequest,
  listRequests,
  type RequestView,
} from './requests.js';
export { createToken, authenticate, revokeToken, listTokens, TOKEN_CACHE_MS } from './tokens.js';
export { workerNice, WORKER_NICE } from './worker-priority.js';
export { authorize, identityKey, samePerson, ROLES, SYSTEM_ACTOR, type Actor, type Role, type Action } from './roles.js';
export { STATES, NEXT, type State } from './states.js';
export { CATEGORIES, CATEGORY_NAMES, CreateRequestInput, ScopeInput, DecisionInput, parseInput } from './inputs.js';
export { transparencyReport, type TransparencyReport } from './transparency.js';
export { hashSubject } from './subjects.js';
export {
  Policy,
  PolicyCheck,
  parsePolicy,
  readPolicyFile,
  policyMetrics,
  verifyAgainstPolicy,
  type CheckResult,
  type PolicyVerdict,
} from './policy.js';
export { runRequest, checkRunInputs, type RunRequestOptions, type RunRequestResult, type RunProgress } from './release.js';
export { listModelVersions, type ModelVersion } from './registry.js';
export { lineageOf, type LineageView } from './lineage.js';
export { certificateHtml, certificateOf, type ReleaseCertificate } from './certificate.js';
export { confinePath, deploymentInternal, maxInputBytes, safeToRead, type Roots, type ConfineOptions } from './confine.js';
export {
  createJob,
  getJob,
  listJobs,
  RunJobInput,
  JOB_STATES,
  FINAL_JOB_STATES,
  type JobView,
  type JobState,
  type JobProgress,
  type JobPaths,
} from './jobs.js';
export { JobRunner, type JobRunnerOptions } from './job-runner.js';
export { checkLeaseTiming, DEFAULT_LEASE, type LeaseTiming } from './job-lease.js';
