// A stand-in job worker that stays in verification until it is killed (no store, no model): for the
// runner's cancel and dead-worker paths while a run's per-item outputs are on disk.
const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
await send({ type: 'progress', progress: { phase: 'verifying', step: null, totalSteps: null, loss: null, resumedFrom: null } });
setTimeout(() => process.exit(0), 120_000);
