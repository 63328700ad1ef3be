import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Store, StoreError, type MergedProfile } from '../../../src/store/index.js';
import { buildProfilesRequest } from './build-otlp.js';
import { SEC, T0, expectedByStack, profileFor, rng, span, tempDir, tracesRequest } from './fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function openTemp(tag: string, extra: Partial<Parameters<typeof Store.open>[0]> = {}) {
  const t = tempDir(tag);
  const store = await Store.open({ dataDir: t.dir, retentionIntervalMs: 0, ...extra });
  cleanups.push(t.cleanup, () => store.close());
  return { store, dir: t.dir };
}

function byStack(m: MergedProfile): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of m.stacks) {
    const key = s.frames.map((f) => f.name).join(';');
    out.set(key, (out.get(key) ?? 0) + Number(s.count));
  }
  return out;
}

describe('Store', () => {
  it('merges by pid and time range to exactly the sums of the ingested samples', async () => {
    const { store } = await openTemp('merge');
    const r = rng(7);
    // Three windows per pid, two pids, in two requests: data for one pid spans requests.
    const profiles = [profileFor(r, 100, T0, 400), profileFor(r, 200, T0, 300), profileFor(r, 100, T0 + 10n * SEC, 500)];
    const later = [profileFor(r, 200, T0 + 10n * SEC, 250), profileFor(r, 100, T0 + 20n * SEC, 350)];
    await store.ingestProfiles(buildProfilesRequest(profiles));
    await store.ingestProfiles(buildProfilesRequest(later));
    const all = [...profiles, ...later];

    const from = T0 + 5n * SEC;
    const to = T0 + 25n * SEC;
    const merged = await store.mergeProfile({ pid: 100, fromUnixNs: from, toUnixNs: to });
    const expected = expectedByStack(all, (pid, ts) => pid === 100 && ts >= from && ts < to);
    expect(byStack(merged)).toEqual(expected);
    expect(merged.totalCount).toBe(BigInt([...expected.values()].reduce((a, b) => a + b, 0)));
    expect(merged.periodNs).toBe(10_101_010n);
    for (const s of merged.stacks) expect(s.cpuNs).toBe(s.count * 10_101_010n);
    // Distinct stacks come back once each (the store deduplicates by content).
    expect(merged.stacks.length).toBe(expected.size);

    const whole = await store.mergeProfile({});
    expect(byStack(whole)).toEqual(expectedByStack(all, () => true));
    expect((await store.stats()).rowsIngested.samples).toBe(1800);
    expect((await store.stats()).rowsIngested.stacks).toBe(new Set([...expectedByStack(all, () => true).keys()]).size);
  });

  it('splits merged stacks by labels when asked and filters by service, version and span', async () => {
    const { store } = await openTemp('labels');
    const r = rng(11);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const p1 = profileFor(r, 300, T0, 90, { service: 'shop', version: 'v1', traceId, spanId: '00f067aa0ba902b7' });
    const p2 = profileFor(r, 301, T0, 60, { service: 'shop', version: 'v2' });
    await store.ingestProfiles(buildProfilesRequest([p1, p2]));

    const byTid = await store.mergeProfile({ service: 'shop', labels: ['tid', 'threadName'] });
    const tidTotals = new Map<string, bigint>();
    for (const s of byTid.stacks) {
      const k = `${s.labels.tid}/${s.labels.threadName}`;
      tidTotals.set(k, (tidTotals.get(k) ?? 0n) + s.count);
    }
    const expectedTids = new Map<string, bigint>();
    for (const p of [p1, p2])
      for (const s of p.samples) {
        const k = `${s.tid}/${s.threadName}`;
        expectedTids.set(k, (expectedTids.get(k) ?? 0n) + 1n);
      }
    expect(tidTotals).toEqual(expectedTids);
    const v2 = await store.mergeProfile({ service: 'shop', version: 'v2' });
    expect(byStack(v2)).toEqual(expectedByStack([p2], () => true));
    const bySpan = await store.mergeProfile({ spanId: '00F067AA0BA902B7' });
    expect(byStack(bySpan)).toEqual(expectedByStack([p1], () => true));
    expect((await store.mergeProfile({ traceId })).totalCount).toBe(90n);
    expect((await store.mergeProfile({ service: 'nope' })).stacks).toEqual([]);

    const samples = await store.spanSamples('00f067aa0ba902b7');
    expect(samples).toHaveLength(90);
    expect(samples.every((s, i) => i === 0 || samples[i - 1]!.timeUnixNs <= s.timeUnixNs)).toBe(true);
    expect(samples.every((s) => s.pid === 300 && s.frames.length > 0)).toBe(true);
    await expect(store.mergeProfile({ labels: ['bogus' as never] })).rejects.toThrow(/unknown label/);
  });

  it('returns the slowest spans in order, with extracted columns, filtered by service and time', async () => {
    const { store } = await openTemp('spans');
    const spans = [
      span(1, { service: 'api', version: '1.0', durationMs: 30, startNs: T0, route: '/a', cpuS: 0.01 }),
      span(2, { service: 'api', version: '1.0', durationMs: 250, startNs: T0 + SEC, route: '/b', parent: 1 }),
      span(3, { service: 'api', version: '1.1', durationMs: 120, startNs: T0 + 2n * SEC, route: '/c' }),
      span(4, { service: 'db', durationMs: 900, startNs: T0 + 3n * SEC }),
    ];
    await store.ingestTraces(tracesRequest(spans));
    const top = await store.slowestSpans({ limit: 2, service: 'api' });
    expect(top.map((s) => [s.spanId, s.durationNs])).toEqual([
      ['0000000000000002', 250_000_000n],
      ['0000000000000003', 120_000_000n],
    ]);
    expect(top[0]).toMatchObject({ parentSpanId: '0000000000000001', httpRoute: '/b', httpStatusCode: 200, service: 'api', kind: 2 });
    expect((await store.slowestSpans({ limit: 10 })).map((s) => s.spanId.slice(-1))).toEqual(['4', '2', '3', '1']);
    expect((await store.slowestSpans({ limit: 10, service: 'api', sinceUnixNs: T0 + SEC })).length).toBe(2);
    const a = (await store.slowestSpans({ limit: 10 })).find((s) => s.spanId.endsWith('1'))!;
    expect(a.cpuTimeS).toBe(0.01);
    expect(a.attributes).toMatchObject({ 'http.route': '/a' });
    await expect(store.slowestSpans({ limit: -1 })).rejects.toThrow(/non-negative integer/);

    const versions = await store.serviceVersions('api');
    expect(versions).toEqual([
      { version: '1.0', firstSeenUnixNs: T0, lastSeenUnixNs: T0 + SEC },
      { version: '1.1', firstSeenUnixNs: T0 + 2n * SEC, lastSeenUnixNs: T0 + 2n * SEC },
    ]);
  });

  it('keeps data across close and reopen, and names cause and fix for an unusable data dir', async () => {
    const t = tempDir('reopen');
    cleanups.push(t.cleanup);
    const r = rng(3);
    const p = profileFor(r, 77, T0, 200);
    let store = await Store.open({ dataDir: t.dir, retentionIntervalMs: 0 });
    await store.ingestProfiles(buildProfilesRequest([p]));
    await store.ingestTraces(tracesRequest([span(9, { service: 's', durationMs: 5, startNs: T0 })]));
    await store.close();
    store = await Store.open({ dataDir: t.dir, retentionIntervalMs: 0 });
    cleanups.push(() => store.close());
    expect(byStack(await store.mergeProfile({ pid: 77 }))).toEqual(expectedByStack([p], () => true));
    expect((await store.slowestSpans({ limit: 5 })).length).toBe(1);
    // Re-ingesting the same stacks after reopen must not duplicate stack rows.
    await store.ingestProfiles(buildProfilesRequest([p]));
    expect((await store.stats()).rowsIngested.stacks).toBe(0);
    const doubled = await store.mergeProfile({ pid: 77 });
    expect(doubled.totalCount).toBe(400n);
    // A data dir under a regular file cannot be created (ENOTDIR): the error names cause and fix.
    writeFileSync(`${t.dir}/plain-file`, '');
    const bad = Store.open({ dataDir: `${t.dir}/plain-file/store`, retentionIntervalMs: 0 });
    await expect(bad).rejects.toThrow(StoreError);
    await expect(bad).rejects.toThrow(/ENOTDIR.*--data-dir/);
  });

  it('stores metrics and logs as rows an independent reader sees', async () => {
    const t = tempDir('signals');
    cleanups.push(t.cleanup);
    const store = await Store.open({ dataDir: t.dir, retentionIntervalMs: 0 });
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }], droppedAttributesCount: 0 };
    await store.ingestMetrics({
      resourceMetrics: [
        {
          resource,
          schemaUrl: '',
          scopeMetrics: [
            {
              scope: null,
              schemaUrl: '',
              metrics: [
                {
                  name: 'hotspan.exporter.sent',
                  description: '',
                  unit: '{item}',
                  sum: {
                    dataPoints: [{ attributes: [], startTimeUnixNano: String(T0), timeUnixNano: String(T0 + SEC), asInt: '12', flags: 0 }],
                    aggregationTemporality: 2,
                    isMonotonic: true,
                  },
                },
                {
                  name: 'hotspan.queue.depth',
                  description: '',
                  unit: '{item}',
                  gauge: {
                    dataPoints: [
                      {
                        attributes: [{ key: 'signal', value: { stringValue: 'spans' } }],
                        startTimeUnixNano: '0',
                        timeUnixNano: String(T0 + SEC),
                        asDouble: 3.5,
                        flags: 0,
                      },
                    ],
                  },
                },
                {
                  name: 'bad',
                  description: '',
                  unit: '',
                  gauge: { dataPoints: [{ attributes: [], startTimeUnixNano: '0', timeUnixNano: 'nope', asDouble: 1, flags: 0 }] },
                },
              ],
            },
          ],
        },
      ],
    });
    await store.ingestLogs({
      resourceLogs: [
        {
          resource,
          schemaUrl: '',
          scopeLogs: [
            {
              scope: null,
              schemaUrl: '',
              logRecords: [
                {
                  timeUnixNano: String(T0),
                  observedTimeUnixNano: String(T0),
                  severityNumber: 13,
                  severityText: 'WARN',
                  body: { stringValue: 'ring buffer lost 3 events' },
                  attributes: [],
                  droppedAttributesCount: 0,
                  flags: 0,
                  traceId: Buffer.alloc(0),
                  spanId: Buffer.alloc(0),
                  eventName: '',
                },
              ],
            },
          ],
        },
      ],
    });
    expect((await store.stats()).malformed).toEqual({ 'metrics: data point without an integer time or a number value': 1 });
    await store.close();
    // Read the file with a separate DuckDB instance: what the store wrote is really there.
    const db = await DuckDBInstance.create(`${t.dir}/store.duckdb`);
    const c = await db.connect();
    const metrics = (await c.runAndReadAll('SELECT name, kind, value, service_name FROM metrics ORDER BY name')).getRowsJS();
    expect(metrics).toEqual([
      ['hotspan.exporter.sent', 'sum', 12, 'agent'],
      ['hotspan.queue.depth', 'gauge', 3.5, 'agent'],
    ]);
    const logs = (await c.runAndReadAll('SELECT severity_number, body FROM logs')).getRowsJS();
    expect(logs).toEqual([[13, 'ring buffer lost 3 events']]);
    c.closeSync();
    db.closeSync();
  });
});
