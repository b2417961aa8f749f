// A stand-in job worker for the runner's scheduling tests: no store, no model; it reports one
// progress step, waits a little, and says its request was released.
const send = (m: unknown) => new Promise<void>((res) => process.send!(m, () => res()));
await send({ type: 'progress', progress: { phase: 'unlearning', step: 1, totalSteps: 1, loss: 0, resumedFrom: 0 } });
await new Promise((r) => setTimeout(r, 300));
await send({ type: 'done', requestState: 'released', reason: 'fake' });
process.disconnect();
