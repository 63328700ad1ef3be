/**
 * The HTML flame graphs in a real browser: Debian's headless Chromium driven by
 * playwright-core. Checks what a person would: the top frame is drawn, search highlights
 * and reports the matched share, tooltips show the delta, click zooms.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFolded, renderDiffHtml, renderHtml } from '../../src/flamegraph/index.js';

// Known answer: check_fraud is 300 of 900 head samples (33.33%), absent in base.
const BASE = 'main;handle_request;price_items 300\nmain;handle_request;apply_discounts 300\n';
const HEAD = `${BASE}main;handle_request;check_fraud 300\n`;

let browser: BrowserContext;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hotspan-flamehtml-'));
  // A fresh profile dir per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1200, height: 600 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(html: string, name: string) {
  const file = join(dir, name);
  writeFileSync(file, html);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  return { page, errors };
}

describe('HTML flame graph in headless Chromium', () => {
  it('shows the top frame and a working search', async () => {
    const { page, errors } = await open(renderHtml(fromFolded(HEAD)), 'flame.html');
    const main = page.locator('.frame[data-name="main"]');
    await expect.poll(() => main.isVisible()).toBe(true);
    expect(await main.textContent()).toBe('main');
    // Root `all` and main both span the full chart width.
    const chartBox = (await page.locator('#chart').boundingBox())!;
    const mainBox = (await main.boundingBox())!;
    expect(Math.abs(mainBox.width - chartBox.width)).toBeLessThan(2);

    await page.fill('#search', 'fraud');
    expect(await page.locator('.frame.match').count()).toBe(1);
    expect(await page.locator('.frame.match').getAttribute('data-name')).toBe('check_fraud');
    expect(await page.textContent('#matched')).toBe('Matched: 33.33%');

    // Click zooms: check_fraud becomes full width.
    await page.locator('.frame[data-name="check_fraud"]').click();
    const zoomed = (await page.locator('.frame[data-name="check_fraud"]').boundingBox())!;
    expect(Math.abs(zoomed.width - chartBox.width)).toBeLessThan(2);
    await page.click('#reset');
    const reset = (await page.locator('.frame[data-name="check_fraud"]').boundingBox())!;
    expect(Math.abs(reset.width - chartBox.width / 3)).toBeLessThan(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('differential view colours the new frame red and explains the delta in a tooltip', async () => {
    const { page, errors } = await open(renderDiffHtml(fromFolded(BASE), fromFolded(HEAD)), 'diff.html');
    const fraud = page.locator('.frame[data-name="check_fraud"]');
    await expect.poll(() => fraud.isVisible()).toBe(true);
    const colour = async (name: string) =>
      page.locator(`.frame[data-name="${name}"]`).evaluate(
        // Runs in the page; the project's TS lib has no DOM types.
        (el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor,
      );
    expect(await colour('check_fraud')).toBe('rgb(178, 24, 43)');
    // price_items fell from 50% to 33.3%: half the largest change, so a mid blue.
    const [r, g, b] = (await colour('price_items')).match(/\d+/g)!.map(Number);
    expect(b).toBeGreaterThan(r!);
    expect(g).toBeLessThan(247);
    await fraud.hover();
    const tip = await page.textContent('#tip');
    expect(tip).toContain('check_fraud');
    expect(tip).toContain('delta: +33.33 pp');
    await page.fill('#search', 'price|discount');
    expect(await page.locator('.frame.match').count()).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });
});
