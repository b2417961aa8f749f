// CUDA queries (false/0 on CPU-only builds such as Debian's libtorch).
import { LetheError } from '../util/errors.js';
import { native } from './native.js';

export function isAvailable(): boolean {
  return native.cudaIsAvailable();
}

export function deviceCount(): number {
  return native.cudaDeviceCount();
}

/** Waits for all queued CUDA work (for timing); a no-op without CUDA. */
export function synchronize(): void {
  native.cudaSynchronize();
}

/** Refuses a device this build or machine cannot use, in the user's terms, before any weight moves
 *  there (libtorch's own message is "PyTorch is not linked with support for cuda devices"). */
export function checkDevice(device: string | undefined): void {
  if (!device || device === 'cpu') return;
  const index = device === 'cuda' ? 0 : Number(device.slice('cuda:'.length));
  if (!isAvailable())
    throw new LetheError(
      'BAD_INPUT',
      `device '${device}': this libtorch has no CUDA (a CPU-only build, or no GPU on this machine); use --device cpu`,
    );
  const count = deviceCount();
  if (index >= count)
    throw new LetheError('BAD_INPUT', `device '${device}': this machine has ${count} CUDA device(s) (cuda:0 to cuda:${count - 1})`);
}
