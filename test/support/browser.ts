// Headless Chromium for the console's browser tests: Debian's `chromium` package driven by
// playwright-core (no browser download). Without it the suites skip with the install hint; with
// MDM_TEST_REQUIRE containing `chromium` (CI) its absence fails the run instead.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { describe } from 'vitest';
import { requiredServices } from './postgres-global.js';

export const CHROMIUM_PATH = process.env.MDM_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_HINT = `browser tests need Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`;

/** Where each run writes the screenshots of the console's pages (gitignored). */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'console');

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);

/**
 * Launches Chromium. `trustCertPem`: the test server's TLS certificate, trusted by its public key
 * (`--ignore-certificate-errors-spki-list`), so the pages are a secure context without certificate
 * errors (Chromium drops Secure cookies set over a connection whose certificate error was ignored).
 */
export function launchChromium(trustCertPem?: string): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const spki = trustCertPem
    ? createHash('sha256')
        .update(new X509Certificate(trustCertPem).publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64')
    : undefined;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      ...(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : []),
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** `describe` that needs Chromium: skipped with the hint when it is missing (failed when required). */
export function describeBrowser(title: string, body: () => void): void {
  if (chromiumAvailable()) {
    describe(title, body);
    return;
  }
  if (requiredServices().includes('chromium')) {
    describe(title, () => {
      throw new Error(`${CHROMIUM_HINT} (MDM_TEST_REQUIRE)`);
    });
    return;
  }
  console.warn(`\n${CHROMIUM_HINT}; skipping "${title}".\n`);
  describe.skip(`${title} (${CHROMIUM_HINT})`, body);
}
