import { describe, expect, it } from 'vitest';
import { hostClock, measureMonoToUnixOffsetNs, MonotonicClock } from '../../../src/clock/index.js';
import { createL7Engine, type RequestRecord } from '../../../src/network/index.js';

const MS = 1_000_000n;
const abs = (n: bigint) => (n < 0n ? -n : n);

describe('the agent clock (CLOCK_MONOTONIC → Unix ns)', () => {
  it('puts now on the wall clock to within a few ms of Date.now()', () => {
    const c = new MonotonicClock();
    const wallNs = BigInt(Date.now()) * MS;
    expect(abs(c.toUnixNs(c.nowMonoNs()) - wallNs)).toBeLessThan(5n * MS);
  });

  it('resync re-measures the offset (the same to within a few ms while the wall clock is not stepped)', () => {
    const c = new MonotonicClock();
    const before = c.offsetNs;
    c.resync();
    expect(abs(c.offsetNs - before)).toBeLessThan(5n * MS);
    expect(abs(measureMonoToUnixOffsetNs() - hostClock.offsetNs)).toBeLessThan(5n * MS);
  });

  it("the L7 engine's fallback (a chunk without timeUnixNs) is the agent's clock, not off by the host's uptime", () => {
    const records: RequestRecord[] = [];
    const engine = createL7Engine({ onRequest: (r) => records.push(r) });
    const key = { pid: 4242, fd: 7, connCookie: 1n };
    const t = process.hrtime.bigint();
    engine.onConnOpen({ ...key, tid: 1, role: 'server', timeMonoNs: t });
    const req = Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    engine.onChunk({ ...key, tid: 1, direction: 'ingress', seqBytes: 0, bytesTotal: req.length, data: req, timeMonoNs: t + 1n * MS });
    engine.onChunk({ ...key, tid: 1, direction: 'egress', seqBytes: 0, bytesTotal: res.length, data: res, timeMonoNs: t + 2n * MS });
    expect(records.length).toBe(1);
    const wallNs = BigInt(Date.now()) * MS;
    // Within a second of now (the old formula was off by the host's uptime, hours to days).
    expect(abs(records[0]!.startUnixNs - wallNs)).toBeLessThan(1_000n * MS);
    expect(records[0]!.startUnixNs).toBe(t + 1n * MS + hostClock.offsetNs);
  });
});
