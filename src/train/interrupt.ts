// Ctrl-C during a training run: the first press lets the current step finish, writes a checkpoint and
// stops the run with an INTERRUPTED error that says where the checkpoint is (the CLI adds the exact
// --resume command); a second press exits at once, as Ctrl-C usually does. A data-parallel rank gets
// one press twice (from the terminal to its process group, and forwarded by the launcher), so a
// repeat within DOUBLE_DELIVERY_MS is the same press.
export interface InterruptWatch {
  /** Whether Ctrl-C was pressed since the watch began. */
  requested(): boolean;
  dispose(): void;
}

const DOUBLE_DELIVERY_MS = 500;
/** The exit code of a run stopped by Ctrl-C (128 + SIGINT), for the CLI and the rank launcher. */
export const INTERRUPTED_EXIT = 130;

export function watchInterrupt(name: string, report: (line: string) => void): InterruptWatch {
  let pressed = false;
  let at = 0;
  const onSignal = () => {
    if (pressed && Date.now() - at > DOUBLE_DELIVERY_MS) process.exit(INTERRUPTED_EXIT);
    if (pressed) return;
    pressed = true;
    at = Date.now();
    report(
      `[${name}] interrupted: finishing this step and saving a checkpoint (Ctrl-C again stops at once, losing the steps since the last checkpoint)`,
    );
  };
  process.on('SIGINT', onSignal);
  return { requested: () => pressed, dispose: () => process.off('SIGINT', onSignal) };
}
