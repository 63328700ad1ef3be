/**
 * Store ingest throughput: sample rows/s and spans/s written through Store.ingest* (decode + append
 * + commit), on realistic shapes (10 s windows of 99 Hz samples, a few hundred distinct stacks).
 * Prints figures; asserts nothing about time. Run: node --import tsx test/bench/store-ingest.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';
import { buildProfilesRequest } from '../unit/store/build-otlp.js';
import { T0, SEC, profileFor, rng, span, tracesRequest } from '../unit/store/fixtures.js';

const BATCHES = Number(process.env.STORE_BENCH_BATCHES ?? 20);
const SAMPLES_PER_BATCH = 10_000;
const SPANS_PER_BATCH = 5_000;

const dir = mkdtempSync(join(tmpdir(), 'hotspan-store-bench-'));
try {
  const store = await Store.open({ dataDir: dir, retentionIntervalMs: 0 });
  const r = rng(1);
  const requests = Array.from({ length: BATCHES }, (_, b) =>
    buildProfilesRequest([profileFor(r, 1000 + (b % 4), T0 + BigInt(b) * 10n * SEC, SAMPLES_PER_BATCH)]),
  );
  let t = performance.now();
  for (const req of requests) await store.ingestProfiles(req);
  const profSec = (performance.now() - t) / 1000;
  const sampleRows = BATCHES * SAMPLES_PER_BATCH;

  const spanReqs = Array.from({ length: BATCHES }, (_, b) =>
    tracesRequest(
      Array.from({ length: SPANS_PER_BATCH }, (_, i) =>
        span(b * SPANS_PER_BATCH + i + 1, {
          service: `svc${i % 5}`,
          durationMs: i % 300,
          startNs: T0 + BigInt(b * SPANS_PER_BATCH + i) * 1_000_000n,
          route: `/r${i % 20}`,
        }),
      ),
    ),
  );
  t = performance.now();
  for (const req of spanReqs) await store.ingestTraces(req);
  const spanSec = (performance.now() - t) / 1000;

  t = performance.now();
  const merged = await store.mergeProfile({ pid: 1001, fromUnixNs: T0, toUnixNs: T0 + 1000n * SEC });
  const mergeMs = performance.now() - t;
  t = performance.now();
  await store.slowestSpans({ limit: 20 });
  const slowMs = performance.now() - t;
  t = performance.now();
  await store.spanSamples('0000000000000007');
  const spanSamplesMs = performance.now() - t;
  const bytes = await store.sizeBytes();
  await store.close();

  console.log(`store ingest: ${Math.round(sampleRows / profSec).toLocaleString('en')} sample rows/s (${sampleRows} rows in ${profSec.toFixed(2)} s)`);
  console.log(
    `store ingest: ${Math.round((BATCHES * SPANS_PER_BATCH) / spanSec).toLocaleString('en')} spans/s (${BATCHES * SPANS_PER_BATCH} spans in ${spanSec.toFixed(2)} s)`,
  );
  console.log(
    `store queries over ${sampleRows} samples: merge ${mergeMs.toFixed(1)} ms (${merged.stacks.length} stacks), slowestSpans ${slowMs.toFixed(1)} ms, spanSamples ${spanSamplesMs.toFixed(1)} ms`,
  );
  console.log(`store size: ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${(bytes / (sampleRows + BATCHES * SPANS_PER_BATCH)).toFixed(1)} B/row`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
