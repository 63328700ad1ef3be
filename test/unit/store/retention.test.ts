import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../../src/store/index.js';
import { buildProfilesRequest } from './build-otlp.js';
import { SEC, T0, expectedByStack, profileFor, rng, span, tempDir, tracesRequest } from './fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const HOUR_NS = 3600n * SEC;

describe('Store retention', () => {
  it('deletes rows past their age in every table, keeps newer ones, and drops orphaned stacks', async () => {
    const t = tempDir('age');
    const store = await Store.open({ dataDir: t.dir, retentionMs: 3600_000, maxBytes: 0, retentionIntervalMs: 0 });
    cleanups.push(t.cleanup, () => store.close());
    const r = rng(5);
    const old = profileFor(r, 10, T0, 300);
    const fresh = profileFor(r, 10, T0 + 2n * HOUR_NS, 200);
    await store.ingestProfiles(buildProfilesRequest([old, fresh]));
    await store.ingestTraces(
      tracesRequest([span(1, { service: 'a', durationMs: 9, startNs: T0 }), span(2, { service: 'a', durationMs: 1, startNs: T0 + 2n * HOUR_NS })]),
    );
    const now = T0 + 2n * HOUR_NS + 30n * SEC; // `old` is 2 h old, `fresh` 30 s.
    const { deletedRows } = await store.applyRetention(now);
    const merged = await store.mergeProfile({});
    const left = new Map(merged.stacks.map((s) => [s.frames.map((f) => f.name).join(';'), Number(s.count)]));
    expect(left).toEqual(expectedByStack([fresh], () => true));
    expect((await store.slowestSpans({ limit: 10 })).map((s) => s.spanId)).toEqual(['0000000000000002']);
    // 300 samples + 1 span, plus stacks only the old window used.
    const oldOnly = [...expectedByStack([old], () => true).keys()].filter((k) => !left.has(k)).length;
    expect(deletedRows).toBe(300 + 1 + oldOnly);
    expect((await store.stats()).retentionDeletedRows).toBe(deletedRows);
    // A second pass at the same time finds nothing more.
    expect((await store.applyRetention(now)).deletedRows).toBe(0);
  });

  it('trims the oldest data when the store is over maxBytes', async () => {
    const t = tempDir('size');
    const store = await Store.open({ dataDir: t.dir, retentionMs: 0, maxBytes: 0, retentionIntervalMs: 0 });
    const r = rng(9);
    for (let w = 0; w < 20; w++) await store.ingestProfiles(buildProfilesRequest([profileFor(r, 20, T0 + BigInt(w) * 10n * SEC, 5000)]));
    await store.close();
    // Reopen with a cap of half the current size.
    const probe = await Store.open({ dataDir: t.dir, retentionMs: 0, maxBytes: 0, retentionIntervalMs: 0 });
    const before = await probe.sizeBytes();
    await probe.close();
    const capped = await Store.open({ dataDir: t.dir, retentionMs: 0, maxBytes: Math.floor(before / 2), retentionIntervalMs: 0 });
    cleanups.push(t.cleanup, () => capped.close());
    const totalBefore = (await capped.mergeProfile({})).totalCount;
    const { deletedRows } = await capped.applyRetention(T0);
    const after = await capped.mergeProfile({});
    expect(deletedRows).toBeGreaterThan(0);
    expect(after.totalCount).toBeLessThan(totalBefore);
    // Oldest first: what is left is the newest part, and the newest window is whole.
    expect(after.firstUnixNs).toBeGreaterThan(T0 + 10n * SEC);
    const newest = await capped.mergeProfile({ fromUnixNs: T0 + 190n * SEC });
    expect(newest.totalCount).toBe(5000n);
    console.log(`size retention: ${before} B before, ${await capped.sizeBytes()} B after, cap ${Math.floor(before / 2)} B, deleted ${deletedRows} rows`);
  });

  it('lets ingest continue while retention deletes, with bounded ingest latency and no lost rows', async () => {
    const t = tempDir('concurrent');
    const store = await Store.open({ dataDir: t.dir, retentionMs: 3600_000, maxBytes: 0, retentionIntervalMs: 0 });
    cleanups.push(t.cleanup, () => store.close());
    const r = rng(13);
    // 200k old samples to delete, so retention takes long enough to overlap with ingest.
    for (let w = 0; w < 20; w++) await store.ingestProfiles(buildProfilesRequest([profileFor(r, 30, T0 + BigInt(w) * SEC, 10_000)]));
    const now = T0 + 3n * HOUR_NS;
    const batches = Array.from({ length: 40 }, (_, i) => buildProfilesRequest([profileFor(r, 31, now - 60n * SEC + BigInt(i) * SEC, 500)]));

    let retentionDone = false;
    let ingestedDuringRetention = 0;
    const latenciesMs: number[] = [];
    const retention = store.applyRetention(now).finally(() => (retentionDone = true));
    for (const b of batches) {
      const t0 = performance.now();
      await store.ingestProfiles(b);
      latenciesMs.push(performance.now() - t0);
      if (!retentionDone) ingestedDuringRetention++;
      await new Promise((res) => setImmediate(res));
    }
    const { deletedRows } = await retention;
    const maxMs = Math.max(...latenciesMs);
    latenciesMs.sort((a, b) => a - b);
    console.log(
      `ingest during retention: ${ingestedDuringRetention} of ${batches.length} batches overlapped; ` +
        `latency p50 ${latenciesMs[20]!.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms; retention deleted ${deletedRows} rows`,
    );
    expect(deletedRows).toBeGreaterThanOrEqual(200_000);
    expect(ingestedDuringRetention).toBeGreaterThan(0);
    // Bounded: measured p50 ~30 ms, max 0.8–1.9 s with 2 cores at load 10; the bound is generous.
    expect(maxMs).toBeLessThan(5000);
    expect((await store.mergeProfile({ pid: 31 })).totalCount).toBe(40n * 500n);
    expect((await store.mergeProfile({ pid: 30 })).totalCount).toBe(0n);
  });
});
