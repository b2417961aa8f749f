// Where a run's time goes, by phase (`--profile`): a few clock reads per step, always taken, so a
// profile costs nothing to ask for and a run's result can always say what it spent.
import { performance } from 'node:perf_hooks';

export class PhaseClock {
  private readonly totals = new Map<string, number>();
  private at = performance.now();

  /** Charges the time since the last mark (or reset) to `phase`. */
  mark(phase: string): void {
    const now = performance.now();
    this.totals.set(phase, (this.totals.get(phase) ?? 0) + (now - this.at) / 1000);
    this.at = now;
  }

  /** Starts the next interval here without charging the time since the last mark. */
  reset(): void {
    this.at = performance.now();
  }

  /** Seconds per phase, in the order phases were first charged. */
  seconds(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }
}

/** "phase  12.3 s  45.6%" lines, largest first, with the total. */
export function formatProfile(title: string, phases: Record<string, number>, total?: number): string {
  const sum = total ?? Object.values(phases).reduce((a, b) => a + b, 0);
  const rows = Object.entries(phases).sort((a, b) => b[1] - a[1]);
  const width = Math.max(10, ...rows.map(([k]) => k.length));
  const pct = (s: number) => (sum > 0 ? `${((100 * s) / sum).toFixed(1)}%` : '—');
  return [
    `${title}: ${sum.toFixed(1)} s`,
    ...rows.map(([k, s]) => `  ${k.padEnd(width)} ${s.toFixed(2).padStart(8)} s ${pct(s).padStart(6)}`),
  ].join('\n');
}
