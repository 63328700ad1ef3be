/**
 * Main-thread cost of the embedded store, apart from the rest of the agent: the same profile
 * requests (10 s windows, 10k samples, a few hundred stacks) ingested by the Store in this thread
 * and by the worker proxy, while a 5 ms timer watches this thread. Prints figures.
 * Run: node --import tsx test/bench/store-loop.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStoreWorker, Store } from '../../src/store/index.js';
import { buildProfilesRequest } from '../unit/store/build-otlp.js';
import { T0, SEC, profileFor, rng } from '../unit/store/fixtures.js';

const BATCHES = Number(process.env.STORE_BENCH_BATCHES ?? 10);
const r = rng(1);
const requests = Array.from({ length: BATCHES }, (_, b) => buildProfilesRequest([profileFor(r, 1000 + (b % 4), T0 + BigInt(b) * 10n * SEC, 10_000)]));
for (const mode of ['in-thread', 'worker'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-store-loop-'));
  const store =
    mode === 'in-thread' ? await Store.open({ dataDir: dir, retentionIntervalMs: 0 }) : await openStoreWorker({ dataDir: dir, retentionIntervalMs: 0 });
  // Gaps between ticks of a 5 ms timer (monitorEventLoopDelay records nothing while the loop never
  // reaches its timers, which is exactly the in-thread case: ingest yields only to microtasks).
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 5);
  const t = performance.now();
  for (const req of requests) {
    await store.ingestProfiles(req);
    await new Promise((res) => setImmediate(res)); // the agent's loop turns between batches too
  }
  const s = (performance.now() - t) / 1000;
  clearInterval(timer);
  gaps.push(performance.now() - last);
  gaps.sort((a, b) => a - b);
  console.log(
    `${mode}: ${BATCHES} × 10k-sample requests in ${s.toFixed(2)} s; this thread's longest stall ${gaps.at(-1)!.toFixed(0)} ms, ` +
      `p99 timer gap ${gaps[Math.floor(gaps.length * 0.99)]!.toFixed(0)} ms`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
