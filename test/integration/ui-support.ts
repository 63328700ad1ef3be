/**
 * Shared by the UI end-to-end tests: Debian's Chromium through playwright-core with a fresh
 * profile, a laptop-sized viewport, screenshots kept in test-artifacts/, and the agent's API URL.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { sleep } from './support/agent.js';
import { ROOT } from './support/env.js';

export const ARTIFACTS = join(ROOT, 'test-artifacts');

export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-ui-chromium-'));
  // playwright passes the profile directory as --user-data-dir: a fresh one per run.
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1440, height: 900 }, // a laptop screen
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** The URL the agent wrote to <dataDir>/agent.json once its API listens. */
export async function agentUrl(dataDir: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as { url: string }).url;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`no agent.json in ${dataDir}: ${(e as Error).message}`, { cause: e });
      await sleep(200);
    }
  }
}

/** Collects page errors and CSP violations: a hostile string that ran as script would show here. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return problems;
}
