/**
 * Issue 14 acceptance on the embedded default: the agent runs (network capture, embedded store,
 * UI on an OS-chosen port) while a C server burns CPU in burn_slow on /slow. While it runs:
 * `hotspan spans` and `hotspan profile --span` answer through the agent's API; the API's folded
 * profile of a span equals the CLI's pprof of it, decoded here (support/pprof.ts, not hotspan's
 * reader); the browser lists /slow first, the span page shows burn_slow with ≥95% of the span's
 * samples in the top-functions table and the flame graph, and search highlights it; a request
 * path holding <script> and an ANSI escape is shown as text. After the agent stops, the same
 * commands read the store directly and print the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { driveHttp, firstLine, hotspan, killAgents, sleep, startAgent } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { readPprof, type DecodedSample } from './support/pprof.js';
import { agentUrl, launchBrowser, screenshot, watchPage } from './ui-support.js';

const root = requireRoot('hotspan UI and API on the running agent');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-ui-'));
const children: ChildProcess[] = [];
const T0 = Date.now();
const step = (what: string) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1)} s] ${what}`);
const HOSTILE_PATH = '/<script>window.__pwned=1</script>\u001b[31mRED\u001b]0;owned\u0007';

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Folded text (root first, one line per distinct stack) of decoded pprof samples. */
function fold(samples: DecodedSample[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of samples) {
    const key = [...s.stack]
      .reverse()
      .map((n) => n.replace(/;/g, ':').replace(/[\r\n]/g, ' '))
      .join(';');
    m.set(key, (m.get(key) ?? 0) + s.count);
  }
  return m;
}

function parseFolded(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n').filter(Boolean)) {
    const cut = line.lastIndexOf(' ');
    m.set(line.slice(0, cut), (m.get(line.slice(0, cut)) ?? 0) + Number(line.slice(cut + 1)));
  }
  return m;
}

/** One raw HTTP/1.1 request: the path goes on the wire byte for byte (no client-side escaping). */
function rawGet(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    // The fixture keeps connections alive: the response is the end of it.
    s.on('data', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

interface ApiSpan {
  spanId: string;
  traceId: string;
  name: string;
  durationNs: string;
  attributes: Record<string, unknown>;
}

/** What the CLI and the UI show for a span: its semconv name (`{method}`) and the route beside it. */
const spanTitle = (s: { name: string; httpRoute?: string }) =>
  s.httpRoute && !s.name.includes(' ') && !s.name.includes('/') ? `${s.name} ${s.httpRoute}` : s.name;

describe.runIf(root)('hotspan UI and API while the agent runs', () => {
  it('spans and profile --span work while the agent runs and after; the browser shows /slow and its burn_slow flame graph', async () => {
    const dataDir = join(tmp, 'data');
    const server = spawn(join(FIXTURES_BIN, 'http_server'), [join(tmp, 'server.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    const port = await firstLine(server);
    // The embedded default as shipped (dist, every process on the host, store, UI), at 499 Hz so
    // one 50 ms request holds ~25 samples for the ≥95% check.
    const agent = await startAgent(dataDir, ['-F', '499'], { HOTSPAN_UI_PORT: 'auto' }, { built: true });
    const url = await agentUrl(dataDir);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const load = driveHttp(port, 6, ['/slow', '/fast'], 3);
    children.push(load.child);
    await rawGet(Number(port), HOSTILE_PATH);
    const sent = await load.sent;
    expect(sent).toBeGreaterThan(20);

    step('load done');
    // Live data: poll until the slowest span's samples are all in the store (the span join holds
    // samples ~3 s, windows close 2 s + grace later). How far behind the store is gets printed.
    const loadEnd = Date.now();
    let top: ApiSpan | undefined;
    for (;;) {
      const spans = (await getJson<{ spans: ApiSpan[] }>(`${url}api/v1/spans?service=http_server&limit=5&since=5m`)).spans;
      top = spans.find((s) => Number(s.attributes['hotspan.cpu.samples'] ?? 0) > 0);
      if (top && spanTitle(top) === 'GET /slow') {
        const prof = await getJson<{ totalSamples: number }>(`${url}api/v1/profile?span_id=${top.spanId}`);
        if (prof.totalSamples > 0 && prof.totalSamples === Number(top.attributes['hotspan.cpu.samples'])) break;
      }
      if (Date.now() - loadEnd > 150_000) throw new Error(`the slowest /slow span's samples did not reach the store in 150 s: ${JSON.stringify(top)}`);
      await sleep(2000);
    }
    console.log(`slowest span and all its samples queryable ${((Date.now() - loadEnd) / 1000).toFixed(1)} s after the load ended`);
    // Settle: later spans must not change the top 5 between the live and the stopped reading.
    await sleep(12_000);

    step('settled');
    // --- CLI while the agent runs: through its API (the store is locked by the agent).
    const liveTable = await hotspan('spans', '--slowest', '5', '--data-dir', dataDir);
    expect(liveTable.exitCode, liveTable.stderr).toBe(0);
    expect(liveTable.stdout).not.toMatch(/\u001b/);
    const liveJson = await hotspan('spans', '--slowest', '5', '--service', 'http_server', '--json', '--data-dir', dataDir);
    expect(liveJson.exitCode, liveJson.stderr).toBe(0);
    const liveRows = liveJson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ApiSpan);
    expect(spanTitle(liveRows[0]!)).toBe('GET /slow');
    // The slowest request the profiler caught running (on a loaded host a /slow span can carry no
    // samples: the span ↔ CPU join is tested in agent-span-profile; here the reading paths are).
    const span = liveRows.find((r) => Number(r.attributes['hotspan.cpu.samples'] ?? 0) > 0)!;
    expect(spanTitle(span)).toBe('GET /slow');
    const livePb = join(tmp, 'live.pb.gz');
    const liveProf = await hotspan('profile', '--span', span.spanId, '-o', livePb, '--data-dir', dataDir);
    expect(liveProf.exitCode, liveProf.stderr).toBe(0);
    const liveSamples = readPprof(livePb).samples;
    const n = liveSamples.reduce((a, s) => a + s.count, 0);
    expect(n).toBe(Number(span.attributes['hotspan.cpu.samples']));
    const burn = liveSamples.filter((s) => s.stack.includes('burn_slow')).reduce((a, s) => a + s.count, 0);
    expect(burn / n).toBeGreaterThanOrEqual(0.95);

    step('CLI live done');
    // --- the API's folded profile equals the CLI's pprof, decoded independently.
    const folded = await (await fetch(`${url}api/v1/profile?span_id=${span.spanId}&format=folded`)).text();
    expect(parseFolded(folded)).toEqual(fold(liveSamples));

    step('folded compared');
    // --- the browser.
    const { context, close } = await launchBrowser();
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${url}#/services`);
      await page.waitForSelector('table.services tbody tr td a');
      expect(await page.locator('table.services').innerText()).toContain('http_server');
      await screenshot(page, 'ui-services');

      step('services page');
      await page.goto(`${url}#/spans?service=http_server`);
      await page.waitForSelector('table.spans tbody tr.clickable');
      const firstRow = page.locator('table.spans tbody tr').first();
      expect(await firstRow.locator('td').nth(3).innerText()).toBe('GET /slow');
      await screenshot(page, 'ui-spans');

      step('spans page');
      await page.locator(`table.spans a[href="#/span/${span.spanId}"]`).click();
      await page.waitForSelector('table.top-functions tbody tr');
      await page.waitForSelector('.flame .frame[data-name="burn_slow"]');
      expect(page.url()).toContain(`#/span/${span.spanId}`);
      // Top-functions table: burn_slow's total share of this span's samples.
      const burnRow = page.locator('table.top-functions tbody tr', { has: page.locator('td.name', { hasText: /^burn_slow$/ }) });
      const cells = await burnRow.first().locator('td').allInnerTexts();
      expect(Number(cells[3]) / n).toBeGreaterThanOrEqual(0.95);
      expect(parseFloat(cells[4]!)).toBeGreaterThanOrEqual(95);
      // Flame graph: burn_slow frames span ≥95% of the chart's width.
      const width = await page.evaluate(() => {
        const chart = document.querySelector('.flame') as HTMLElement;
        let w = 0;
        document.querySelectorAll('.flame .frame[data-name="burn_slow"]').forEach((e) => (w += (e as HTMLElement).getBoundingClientRect().width));
        return w / chart.clientWidth;
      });
      expect(width).toBeGreaterThanOrEqual(0.95);
      await page.fill('.flame-tools input[type=search]', 'burn_slow');
      await page.waitForSelector('.flame .frame.match[data-name="burn_slow"]');
      expect(await page.locator('.flame .frame.match').evaluateAll((els) => els.every((e) => e.getAttribute('data-name') === 'burn_slow'))).toBe(true);
      expect(parseFloat((await page.locator('.flame-tools .matched').innerText()).replace(/[^\d.]/g, ''))).toBeGreaterThanOrEqual(95);
      expect(await page.locator('table.top-functions tr.hit').count()).toBe(1);
      await page.hover('.flame .frame[data-name="burn_slow"]');
      expect(await page.locator('#tip').innerText()).toContain('burn_slow');
      await screenshot(page, 'ui-span');

      step('span page');
      // Hostile path: the span list shows it as text; nothing ran, no element came from it.
      await page.goto(`${url}#/spans?limit=500`);
      await page.waitForSelector('table.spans tbody tr.clickable');
      const text = await page.locator('table.spans').innerText();
      const hostileShown = text.includes('<script>window.__pwned=1</script>');
      console.log(`hostile request path ${hostileShown ? 'listed as text' : 'not captured as a span (the L7 parser refused it)'}`);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator('main script').count()).toBe(0);
      await screenshot(page, 'ui-spans-all');

      await page.goto(`${url}#/profile?service=http_server`);
      await page.waitForSelector('.flame .frame[data-name="burn_slow"]');
      await screenshot(page, 'ui-profile');
      await page.goto(`${url}#/flows`);
      await page.waitForSelector('table.talkers tbody tr');
      await screenshot(page, 'ui-flows');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }

    step('browser done');
    // --- stop the agent: the same commands now open the store directly and print the same.
    const stopped = await agent.stop('SIGTERM');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    const afterJson = await hotspan('spans', '--slowest', '50', '--service', 'http_server', '--json', '--data-dir', dataDir);
    expect(afterJson.exitCode, afterJson.stderr).toBe(0);
    // The agent exports the spans its join still holds when it stops, so later rows can join the
    // ranking; every row seen live must come back byte for byte, in the same order.
    const afterLines = afterJson.stdout.trim().split('\n');
    const liveLines = liveJson.stdout.trim().split('\n');
    const positions = liveLines.map((l) => afterLines.indexOf(l));
    expect(
      positions.every((p) => p >= 0),
      `live rows missing after stop:\n${liveJson.stdout}\nafter:\n${afterJson.stdout}`,
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    console.log(
      `after stop: ${afterLines.slice(0, positions.at(-1)! + 1).filter((l) => !liveLines.includes(l)).length} rows ranked among the live top 5 arrived at shutdown`,
    );
    const afterPb = join(tmp, 'after.pb.gz');
    const afterProf = await hotspan('profile', '--span', span.spanId, '-o', afterPb, '--data-dir', dataDir);
    expect(afterProf.exitCode, afterProf.stderr).toBe(0);
    expect(fold(readPprof(afterPb).samples)).toEqual(fold(liveSamples));
    expect(afterProf.stderr).toBe(liveProf.stderr.replace('live.pb.gz', 'after.pb.gz'));
  }, 420_000);
});
