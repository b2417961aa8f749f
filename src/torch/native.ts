// Loads the C++ addon (build/Release/lethe.node). Every native function is reached through
// `native`; a missing build is an error that says how to build it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A libtorch tensor's handle: a number naming a slot of the addon's table (slot + generation). */
export type NativeHandle = number & { readonly __nativeTensor?: never };

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('lethe: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

// biome-ignore lint/suspicious/noExplicitAny: as `native` below
function load(): Record<string, (...args: any[]) => any> {
  const override = process.env.LETHE_NATIVE;
  const root = override ? dirname(override) : packageRoot();
  const path = override ?? join(root, 'build/Release/lethe.node');
  if (!existsSync(path)) {
    throw new Error(
      `lethe: the native addon is not built (no ${path}). Run 'npm run setup' in ${root}: ` +
        'it installs libtorch-dev and libopenblas0-pthread if missing and builds the addon.',
    );
  }
  try {
    return createRequire(import.meta.url)(path);
  } catch (err) {
    throw new Error(
      `lethe: cannot load the native addon ${path}: ${(err as Error).message}. ` +
        "If libtorch moved or was upgraded, rebuild it with 'npm run setup'.",
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the addon's entry points are typed by the wrappers that call them
export const native: Record<string, (...args: any[]) => any> = load();
