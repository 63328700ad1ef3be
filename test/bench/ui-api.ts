/**
 * UI/API latency: the slowest-spans query and a 10-minute service flame graph through
 * /api/v1 (HTTP, JSON, real store in its worker thread with the API's procedures, as the agent
 * runs it), the serving thread's worst event-loop delay while it answers (what the agent's
 * sampling would wait), and the page's render time for a 100k-stack profile in Chromium
 * (playwright-core, /usr/bin/chromium). Prints figures and its method; asserts nothing.
 * Run: node --import tsx test/bench/ui-api.ts   (UI_BENCH_STACKS to change the stack count)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DeployLog, startApi, STORE_PROCEDURES_MODULE } from '../../src/api/index.js';
import { openStoreWorker } from '../../src/store/index.js';
import { buildProfilesRequest, type TFrame, type TProfile } from '../unit/store/build-otlp.js';
import { rng, SEC, span, tracesRequest } from '../unit/store/fixtures.js';

const STACKS = Number(process.env.UI_BENCH_STACKS ?? 100_000);
const SPANS = 20_000;
const NOW = BigInt(Date.now()) * 1_000_000n;
const FUNCS = Array.from({ length: 400 }, (_, i) => `fn_${i}`);

/** `n` samples spread over the last 10 minutes; with `distinct`, every sample has its own stack. */
function profiles(service: string, n: number, seed: number): TProfile[] {
  const r = rng(seed);
  const out: TProfile[] = [];
  const perBatch = 10_000;
  for (let b = 0; b * perBatch < n; b++) {
    const samples = [];
    for (let i = b * perBatch; i < Math.min(n, (b + 1) * perBatch); i++) {
      const depth = 6 + Math.floor(r() * 14);
      const frames: TFrame[] = [{ name: `leaf_${i}` }]; // unique leaf: a distinct stack per sample
      for (let d = 1; d < depth; d++) frames.push({ name: FUNCS[Math.floor(r() * (d < 4 ? 8 : FUNCS.length))]! });
      frames.push({ name: 'main' });
      samples.push({ frames, timestamps: [NOW - 600n * SEC + BigInt(Math.floor(r() * 590_000)) * 1_000_000n], values: [1], tid: 1 });
    }
    out.push({ resource: { 'process.pid': 4242, 'service.name': service }, timeUnixNs: NOW - 600n * SEC, periodNs: 10_101_010n, samples });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median latency over `n` GETs, and the worst event-loop delay of this (the serving) thread meanwhile. */
async function timeGet(url: string, n: number): Promise<{ ms: number; bytes: number; loopMaxMs: number }> {
  const times: number[] = [];
  let bytes = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url);
    bytes = (await res.arrayBuffer()).byteLength;
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t);
  }
  loop.disable();
  return { ms: median(times), bytes, loopMaxMs: loop.max / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'hotspan-ui-bench-'));
const store = await openStoreWorker({ dataDir: dir, retentionIntervalMs: 0 }, { procedures: STORE_PROCEDURES_MODULE });
const api = await startApi({ host: '127.0.0.1', port: 0, store, deploys: new DeployLog(), dataDir: dir, log: console.error });
try {
  let t = performance.now();
  for (const p of profiles('big', STACKS, 1)) await store.ingestProfiles(buildProfilesRequest([p]));
  const r = rng(2);
  for (let b = 0; b < SPANS / 1000; b++) {
    await store.ingestTraces(
      tracesRequest(
        Array.from({ length: 1000 }, (_, i) =>
          span(b * 1000 + i + 1, {
            service: 'big',
            durationMs: 1 + Math.floor(r() * 500),
            startNs: NOW - BigInt(Math.floor(r() * 600)) * SEC,
            route: `/r${i % 20}`,
          }),
        ),
      ),
    );
  }
  console.log(`ingested ${STACKS} samples (${STACKS} distinct stacks, 10 min) and ${SPANS} spans in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const spans = await timeGet(`${api.url}api/v1/spans?since=10m&limit=50`, 10);
  console.log(
    `GET /api/v1/spans?since=10m&limit=50 (${SPANS} spans): median ${spans.ms.toFixed(1)} ms, ${spans.bytes} bytes; serving loop max delay ${spans.loopMaxMs.toFixed(0)} ms`,
  );
  const flame = await timeGet(`${api.url}api/v1/profile?service=big&from=10m`, 3);
  console.log(
    `GET /api/v1/profile?service=big&from=10m (${STACKS} stacks, json tree + top): median ${flame.ms.toFixed(0)} ms, ${(flame.bytes / 1e6).toFixed(1)} MB; serving loop max delay ${flame.loopMaxMs.toFixed(0)} ms`,
  );
  const folded = await timeGet(`${api.url}api/v1/profile?service=big&from=10m&format=folded`, 3);
  console.log(
    `GET ...&format=folded: median ${folded.ms.toFixed(0)} ms, ${(folded.bytes / 1e6).toFixed(1)} MB; serving loop max delay ${folded.loopMaxMs.toFixed(0)} ms`,
  );

  const udir = mkdtempSync(join(tmpdir(), 'hotspan-ui-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(udir, {
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1440, height: 900 },
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
  try {
    const page = await ctx.newPage();
    for (let i = 0; i < 3; i++) {
      // A fresh document each time: a hash change alone would not reload the page.
      await page.goto('about:blank');
      t = performance.now();
      await page.goto(`${api.url}#/profile?service=big`);
      await page.waitForSelector('.flame-host[data-render-ms]', { timeout: 300_000 });
      const total = performance.now() - t;
      const draw = Number(await page.getAttribute('.flame-host', 'data-render-ms'));
      const frames = await page.locator('.flame .frame').count();
      t = performance.now();
      await page.fill('.flame-tools input[type=search]', 'fn_1');
      const search = performance.now() - t;
      console.log(
        `page #/profile, ${STACKS} stacks: ${total.toFixed(0)} ms navigation → flame drawn (of it: draw ${draw} ms, ${frames} frames); search redraw ${search.toFixed(0)} ms`,
      );
    }
  } finally {
    await ctx.close();
    rmSync(udir, { recursive: true, force: true });
  }
} finally {
  await api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
