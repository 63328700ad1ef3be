/**
 * Issue 14 acceptance, deploys page: the agent sees checkout v1 replaced by v2 (v2 adds one
 * function, found here with nm, independently of hotspan); the browser's deploys list links to the
 * deploy page whose top regression is that function, with its significance, and whose
 * differential flame graph holds it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAgents, sleep, startAgent } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, startFixture } from './support/procs.js';
import { agentUrl, launchBrowser, screenshot, watchPage } from './ui-support.js';

const root = requireRoot('the UI deploys page');

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  killAll();
  await killAgents();
});

function textSymbols(path: string): Set<string> {
  const out = execFileSync('nm', [path], { encoding: 'utf8' });
  return new Set(
    out
      .split('\n')
      .map((l) => /^[0-9a-f]+ [Tt] (\S+)$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined),
  );
}

async function runFor(exe: string, seconds: number): Promise<void> {
  const env = { ...process.env };
  delete env.OTEL_SERVICE_NAME;
  delete env.OTEL_RESOURCE_ATTRIBUTES;
  const child = startFixture(exe, [String(seconds)], { env });
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${exe} exited with ${code}`))));
    child.on('error', reject);
  });
}

describe.runIf(root)('hotspan UI: deploys', () => {
  it('shows the function v2 added as the top regression of the checkout deploy', async () => {
    const v1 = join(FIXTURES_BIN, 'deploy_v1');
    const v2 = join(FIXTURES_BIN, 'deploy_v2');
    const v1Symbols = textSymbols(v1);
    const added = [...textSymbols(v2)].filter((s) => !v1Symbols.has(s));
    expect(added).toHaveLength(1);
    const work = mkdtempSync(join(tmpdir(), 'hotspan-ui-deploy-'));
    const dataDir = join(work, 'data');
    const agent = await startAgent(dataDir, [], {
      HOTSPAN_UI_PORT: 'auto',
      HOTSPAN_FREQUENCY: '499',
      HOTSPAN_DEPLOY_SETTLE: '6s',
      HOTSPAN_DEPLOY_KEEP: '1m',
      HOTSPAN_NETWORK: '0', // deploy detection reads the profile stream only
    });
    const url = await agentUrl(dataDir);
    const checkout = join(work, 'checkout');
    copyFileSync(v1, checkout);
    await runFor(checkout, 8);
    rmSync(checkout);
    copyFileSync(v2, checkout);
    await runFor(checkout, 10);
    let deploys: { id: string; service: string; text: string }[] = [];
    for (let i = 0; i < 240 && !deploys.some((d) => d.service === 'checkout'); i++) {
      await sleep(500);
      const r = await fetch(`${url}api/v1/deploys`).catch((e: Error) => new Error(`${e.message} ${String(e.cause)}; agent log:\n${agent.stderr()}`));
      if (r instanceof Error) throw r;
      deploys = ((await r.json()) as { deploys: typeof deploys }).deploys;
    }
    expect(deploys.map((d) => d.service)).toContain('checkout');
    console.log(deploys.find((d) => d.service === 'checkout')!.text);

    const { context, close } = await launchBrowser();
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${url}#/deploys`);
      await page.waitForSelector('table.deploys tbody tr.clickable');
      const row = page.locator('table.deploys tbody tr', { hasText: 'checkout' }).first();
      await screenshot(page, 'ui-deploys');
      expect(await row.innerText()).toContain(added[0]!);
      await row.locator('a').first().click();
      await page.waitForSelector('.regressions table tbody tr');
      const top = await page.locator('.regressions table tbody tr').first().locator('td').allInnerTexts();
      expect(top[0]).toBe(added[0]);
      expect(top[1]).toBe('new');
      expect(Math.abs(parseFloat(top[6]!)) >= 3.29 || top[6] === '∞').toBe(true); // |z| at alpha 0.001
      await page.waitForSelector(`.flame .frame[data-name="${added[0]}"]`);
      await screenshot(page, 'ui-deploy');
      expect(problems).toEqual([]);
    } finally {
      await close();
      const stopped = await agent.stop('SIGTERM');
      expect(stopped.exitCode, stopped.stderr).toBe(0);
    }
    try {
      // A restarted agent (a rollout of hotspan itself) still lists the deploy, with the same diff.
      const before = deploys.find((d) => d.service === 'checkout')!;
      const again = await startAgent(dataDir, [], { HOTSPAN_UI_PORT: 'auto', HOTSPAN_NETWORK: '0' });
      try {
        const url2 = await agentUrl(dataDir);
        const listed = ((await (await fetch(`${url2}api/v1/deploys`)).json()) as { deploys: typeof deploys }).deploys;
        const same = listed.find((d) => d.id === before.id);
        expect(same?.text).toBe(before.text);
        const one = (await (await fetch(`${url2}api/v1/deploys/${encodeURIComponent(before.id)}`)).json()) as { regressions: { name: string }[] };
        expect(one.regressions[0]?.name).toBe(added[0]);
      } finally {
        const stopped = await again.stop('SIGTERM');
        expect(stopped.exitCode, stopped.stderr).toBe(0);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});
