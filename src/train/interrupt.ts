// Ctrl-C during a training run: the first press lets the current step finish, writes a checkpoint and
// stops the run with an INTERRUPTED error that says where the checkpoint is (the CLI adds the exact
// --resume command); a second press exits at once, as Ctrl-C usually does.
export interface InterruptWatch {
  /** Whether Ctrl-C was pressed since the watch began. */
  requested(): boolean;
  dispose(): void;
}

export function watchInterrupt(name: string, report: (line: string) => void): InterruptWatch {
  let pressed = false;
  const onSignal = () => {
    if (pressed) process.exit(130);
    pressed = true;
    report(
      `[${name}] interrupted: finishing this step and saving a checkpoint (Ctrl-C again stops at once, losing the steps since the last checkpoint)`,
    );
  };
  process.on('SIGINT', onSignal);
  return { requested: () => pressed, dispose: () => process.off('SIGINT', onSignal) };
}
