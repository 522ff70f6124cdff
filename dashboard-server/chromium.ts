// Debian's Chromium for the browser tests, driven by playwright-core (which ships no browser of its own).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { PulsoError } from '../lib/errors.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new PulsoError(
      `Chromium not found (looked in ${CANDIDATES.join(', ')}). Install it: apt-get install -y chromium (Debian/Ubuntu); .ci/run does this itself.`,
    );
  }
  return found;
}

/** Headless Chromium; --no-sandbox because CI and this box run as root, where Chromium's sandbox refuses to start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
