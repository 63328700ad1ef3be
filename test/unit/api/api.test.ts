/**
 * The JSON API against a real embedded store filled with known data: every answer is checked
 * against the inputs (computed here, not by the store), and bad parameters get 400s that say why.
 */
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Profile as PprofProfile } from 'pprof-format';
import { DeployLog, modelFromJson, startApi, STORE_PROCEDURES_MODULE, stripControl, type Api, type ModelJson } from '../../../src/api/index.js';
import { isStoreWorker, openStoreWorker, Store } from '../../../src/store/index.js';
import { buildProfilesRequest, type TProfile } from '../store/build-otlp.js';
import { expectedByStack, profileFor, rng, SEC, span, tempDir, tracesRequest } from '../store/fixtures.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const START = NOW_NS - 60n * SEC;
const SPAN_A = '00000000000001a1';
const TRACE = '0af7651916cd43dd8448eb211c80319c';
let store: Store;
let api: Api;
let cleanup: () => void;
let profiles: TProfile[];
const durations = [120, 30, 75, 5, 250, 60];

beforeAll(async () => {
  const t = tempDir('api');
  cleanup = t.cleanup;
  store = await Store.open({ dataDir: t.dir, retentionIntervalMs: 0 });
  const r = rng(7);
  profiles = [
    profileFor(r, 100, START, 400, { service: 'checkout' }),
    profileFor(r, 100, START + 10n * SEC, 50, { service: 'checkout', traceId: TRACE, spanId: SPAN_A }),
    profileFor(r, 200, START, 300, { service: 'cart' }),
  ];
  await store.ingestProfiles(buildProfilesRequest(profiles));
  const hostile = span(0xa2, { service: 'checkout', durationMs: 1, startNs: START, route: '/<script>alert(1)</script>\u001b[31m' });
  await store.ingestTraces(
    tracesRequest([
      ...durations.map((d, i) => span(0x100 + i, { service: 'checkout', durationMs: d, startNs: START + BigInt(i) * SEC, route: i % 2 ? '/fast' : '/slow' })),
      hostile,
      // The span whose samples profileFor spread over [START+10 s, START+20 s).
      span(0x1a1, { service: 'checkout', durationMs: 12_000, startNs: START + 9n * SEC, route: '/slow' }),
    ]),
  );
  api = await startApi({ host: '127.0.0.1', port: 0, store, deploys: new DeployLog(), dataDir: t.dir, log: () => {} });
});

afterAll(async () => {
  await api?.close();
  await store?.close();
  cleanup?.();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, api.url), { headers });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    csp: res.headers.get('content-security-policy'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}
const json = async (path: string) => {
  const r = await get(path);
  expect(r.status, r.body.toString()).toBe(200);
  return JSON.parse(r.body.toString()) as Record<string, any>;
};

describe('api /api/v1', () => {
  it('spans: SERVER spans slowest first, filtered by route, with their attributes', async () => {
    const all = await json('/api/v1/spans?since=1h&limit=100');
    const want = [...durations, 1, 12_000].sort((a, b) => b - a).map((d) => d * 1e6);
    expect(all.spans.map((s: any) => Number(s.durationNs))).toEqual(want);
    const slow = await json('/api/v1/spans?since=1h&route=/slow&limit=2');
    expect(slow.spans.map((s: any) => Number(s.durationNs) / 1e6)).toEqual([12_000, 250]);
    expect((await json('/api/v1/spans?since=1h&status=error')).spans).toEqual([]);
    expect((await json('/api/v1/spans?since=1h&service=nope')).spans).toEqual([]);
  });

  it('spans/{id}: one span and its trace', async () => {
    const r = await json(`/api/v1/spans/${SPAN_A}`);
    expect(r.span.spanId).toBe(SPAN_A);
    expect(r.span.attributes['http.route']).toBe('/slow');
    expect(r.trace.length).toBe(durations.length + 2); // the fixture puts every span in one trace
    expect((await get('/api/v1/spans/00000000000000ff')).status).toBe(404);
  });

  it('profile: folded and model equal the ingested samples; pprof decodes to the same total', async () => {
    const keep = (pid: number) => pid === 100;
    const want = expectedByStack(profiles, keep);
    const folded = (await get('/api/v1/profile?service=checkout&from=1h&format=folded')).body.toString();
    const got = new Map<string, number>();
    for (const line of folded.trim().split('\n')) {
      const cut = line.lastIndexOf(' ');
      // Folded is root first; expectedByStack joins leaf first.
      got.set(line.slice(0, cut).split(';').reverse().join(';'), Number(line.slice(cut + 1)));
    }
    expect(got).toEqual(want);
    const model = modelFromJson((await json('/api/v1/profile?service=checkout&from=1h&format=model')) as ModelJson);
    expect(model.stacks.reduce((a, s) => a + s.samples, 0)).toBe(450);
    const view = await json('/api/v1/profile?service=checkout&from=1h');
    expect(view.totalSamples).toBe(450);
    expect(view.root[3]).toBe(450);
    // Top table: self sums to the total; a leaf's self is what the inputs say.
    expect(view.top.reduce((a: number, t: any) => a + t.selfSamples, 0)).toBe(450);
    const span = await json(`/api/v1/profile?span_id=${SPAN_A}`);
    expect(span.totalSamples).toBe(50);
    const pb = await get(`/api/v1/profile?span_id=${SPAN_A}&format=pprof`);
    expect(pb.type).toBe('application/octet-stream');
    const p = PprofProfile.decode(gunzipSync(pb.body));
    expect(p.sample.reduce((a, s) => a + Number(s.value[0]), 0)).toBe(50);
  });

  it('profile: a selection with no samples (a span still being joined) is an empty profile, not an error', async () => {
    const r = await get('/api/v1/profile?span_id=00000000000000ff');
    expect(r.status, r.body.toString()).toBe(200);
    expect(JSON.parse(r.body.toString()).totalSamples).toBe(0);
    const folded = await get('/api/v1/profile?span_id=00000000000000ff&format=folded');
    expect(folded.status).toBe(200);
    expect(folded.body.toString().trim()).toBe('');
  });

  it('services: requests and percentiles from the spans, CPU from the samples', async () => {
    const r = await json('/api/v1/services?from=1h');
    const checkout = r.services.find((s: any) => s.service === 'checkout');
    expect(checkout.requests).toBe(durations.length + 2);
    expect(checkout.samples).toBe(450);
    expect(checkout.errors).toBe(0);
    const sorted = [...durations, 1, 12_000].sort((a, b) => a - b);
    // quantile_cont: linear interpolation between the two middle values of eight.
    expect(checkout.p50Ms).toBeCloseTo((sorted[3]! + sorted[4]!) / 2, 6);
    expect(r.services.find((s: any) => s.service === 'cart').samples).toBe(300);
  });

  it('rejects bad parameters with 400 and a JSON message naming them', async () => {
    for (const [path, word] of [
      ['/api/v1/spans?limit=0', 'limit'],
      ['/api/v1/spans?limit=1e3', 'limit'],
      ['/api/v1/spans?since=yesterday', 'since'],
      ['/api/v1/spans?status=bad', 'status'],
      ['/api/v1/spans?bogus=1', 'bogus'],
      ['/api/v1/spans/xyz', 'span id'],
      ['/api/v1/profile?span_id=123', 'span_id'],
      ['/api/v1/profile?trace_id=zz', 'trace_id'],
      ['/api/v1/profile?format=svg', 'format'],
      ['/api/v1/profile?from=1h&to=2h', 'after'],
      ['/api/v1/diff?head=service=a', 'base'],
      ['/api/v1/diff?base=nokey&head=service=a', 'base'],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.type).toMatch(/application\/json/);
      expect(JSON.parse(r.body.toString()).error.message, path).toContain(word);
    }
    expect((await get('/api/v1/nothing')).status).toBe(404);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(api.url);
      request({ host: u.hostname, port: u.port, path: '/api/v1/status', headers: { host: 'evil.example:7071' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(421);
  });

  it('diff: a selection against itself has no significant change', async () => {
    const d = await json('/api/v1/diff?base=service=checkout&head=service=checkout&from=1h');
    expect(d.baseSamples).toBe(450);
    expect(d.regressions).toEqual([]);
  });
});

describe('api token and terminal text', () => {
  it('asks for the bearer token on /api/ when one is set', async () => {
    const t = tempDir('api-token');
    const a = await startApi({ host: '127.0.0.1', port: 0, token: 's3cret', store, deploys: new DeployLog(), dataDir: t.dir, log: () => {} });
    try {
      expect((await fetch(`${a.url}api/v1/status`)).status).toBe(401);
      expect((await fetch(`${a.url}api/v1/status`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      expect((await fetch(`${a.url}api/v1/status`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    } finally {
      await a.close();
      t.cleanup();
    }
  });

  it('stripControl shows escapes instead of sending them', () => {
    expect(stripControl('GET /a\u001b[31mred\u001b]0;title\u0007\u009b')).toBe('GET /a\\x1b[31mred\\x1b]0;title\\x07\\x9b');
    expect(stripControl('tab\tnewline\n')).toBe('tab\tnewline\n');
  });
});

describe('the api on a store in its own thread (as the agent runs it)', () => {
  it('builds the profile and diff views in the store worker, with the same answers as in-thread', async () => {
    const t = tempDir('api-worker');
    const remote = await openStoreWorker({ dataDir: t.dir, retentionIntervalMs: 0 }, { procedures: STORE_PROCEDURES_MODULE });
    const a = await startApi({ host: '127.0.0.1', port: 0, store: remote, deploys: new DeployLog(), dataDir: t.dir, log: () => {} });
    try {
      expect(isStoreWorker(remote)).toBe(true);
      await remote.ingestProfiles(buildProfilesRequest(profiles));
      const from = Number((START - 3600n * SEC) / 1_000_000n); // absolute: both servers answer the same selection
      const paths = [
        `/api/v1/profile?service=checkout&from=${from}`,
        `/api/v1/profile?service=checkout&from=${from}&format=folded`,
        `/api/v1/profile?service=checkout&from=${from}&format=model`,
        `/api/v1/profile?span_id=${SPAN_A}&from=${from}`,
        `/api/v1/diff?base=service=cart&head=service=checkout&from=${from}`,
      ];
      for (const path of paths) {
        const here = await get(path);
        const there = await fetch(new URL(path, a.url));
        expect(there.status, path).toBe(200);
        expect(there.headers.get('content-type'), path).toBe(here.type);
        expect(Buffer.from(await there.arrayBuffer()).toString(), path).toBe(here.body.toString());
      }
      const pprof = await fetch(new URL('/api/v1/profile?service=checkout&from=1h&format=pprof', a.url));
      const decoded = PprofProfile.decode(gunzipSync(Buffer.from(await pprof.arrayBuffer())));
      expect(decoded.sample.reduce((n, s) => n + Number(s.value[0]), 0)).toBe(450);
    } finally {
      await a.close();
      await remote.close();
      t.cleanup();
    }
  });
});
