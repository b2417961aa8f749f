// CUDA queries (false/0 on CPU-only builds such as Debian's libtorch).
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
