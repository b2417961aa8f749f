// Headless Chromium for the tests that open pages: Debian's chromium driven by playwright-core
// (never a downloaded browser build); LETHE_CHROMIUM names another binary. Screenshots go to the
// git-ignored test-artifacts/ folder.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { repoRoot } from './helpers/fixtures.js';

export const CHROMIUM = process.env.LETHE_CHROMIUM ?? '/usr/bin/chromium';
export const artifacts = join(repoRoot, 'test-artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    assert.fail(
      `${CHROMIUM} is missing: the browser tests drive Debian's chromium headless. Run \`npm run setup\` (it installs the chromium package), or set LETHE_CHROMIUM to a Chromium binary.`,
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
