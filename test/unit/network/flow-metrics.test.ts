import { describe, expect, it } from 'vitest';
import { createFlowMetrics, type FlowRecord } from '../../../src/network/kernel/index.js';

function flow(over: Partial<FlowRecord>): FlowRecord {
  return {
    connId: 1n,
    pid: 10,
    process: 'nginx',
    fd: 5,
    family: 4,
    role: 'server',
    local: { address: '10.0.0.1', port: 80 },
    remote: { address: '10.0.0.9', port: 51000 },
    openMonoNs: 0n,
    closeMonoNs: 1n,
    bytesSent: 0n,
    bytesReceived: 0n,
    retransmits: 0,
    outcome: 'closed',
    preexisting: false,
    ...over,
  };
}

const value = (points: ReturnType<ReturnType<typeof createFlowMetrics>['collect']>, name: string, attrs: Record<string, unknown>) =>
  points.filter((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((a, p) => a + p.value, 0);

describe('flow metrics', () => {
  it('sums bytes, connections by outcome and retransmits; client ports never become attributes', () => {
    const m = createFlowMetrics();
    // 100 server flows from 100 different client ports: one series per metric, not 100.
    for (let i = 0; i < 100; i++) {
      m.record(
        flow({
          connId: BigInt(i),
          remote: { address: `10.0.1.${i}`, port: 40000 + i },
          bytesSent: 1000n,
          bytesReceived: 200n,
          retransmits: i % 10 === 0 ? 2 : 0,
          outcome: i < 90 ? 'closed' : 'reset',
        }),
      );
    }
    m.record(
      flow({ role: 'client', process: 'curl', local: { address: '10.0.0.1', port: 45555 }, remote: { address: '10.0.0.2', port: 5432 }, outcome: 'refused' }),
    );
    const pts = m.collect();
    const server = { 'hotspan.network.flow.role': 'server', 'server.port': 80 };
    expect(value(pts, 'hotspan.network.flow.connections', { ...server, 'hotspan.network.flow.outcome': 'closed' })).toBe(90);
    expect(value(pts, 'hotspan.network.flow.connections', { ...server, 'hotspan.network.flow.outcome': 'reset' })).toBe(10);
    expect(value(pts, 'hotspan.network.flow.bytes', { ...server, 'network.io.direction': 'transmit' })).toBe(100_000);
    expect(value(pts, 'hotspan.network.flow.bytes', { ...server, 'network.io.direction': 'receive' })).toBe(20_000);
    expect(value(pts, 'hotspan.network.flow.retransmits', server)).toBe(20);
    expect(
      value(pts, 'hotspan.network.flow.connections', {
        'server.address': '10.0.0.2',
        'server.port': 5432,
        'hotspan.network.flow.outcome': 'refused',
        'process.executable.name': 'curl',
      }),
    ).toBe(1);
    for (const p of pts) {
      expect(Object.values(p.attributes)).not.toContain(45555);
      expect(p.attributes['client.address']).toBeUndefined();
      expect(Object.keys(p.attributes).some((k) => k.includes('client'))).toBe(false);
    }
    // 2 connection outcomes + 2 byte directions + 1 retransmit series per attribute set.
    expect(pts.filter((p) => p.attributes['hotspan.network.flow.role'] === 'server').length).toBe(5);
    expect(pts.every((p) => p.unit === (p.name.endsWith('bytes') ? 'By' : p.name.endsWith('connections') ? '{connection}' : '{segment}'))).toBe(true);
  });

  it('caps series: flows beyond the cap fold into one overflow series, totals preserved', () => {
    const m = createFlowMetrics({ maxSeries: 8 });
    for (let i = 0; i < 50; i++) m.record(flow({ local: { address: '10.0.0.1', port: 1000 + i }, bytesReceived: 7n }));
    const pts = m.collect();
    expect(pts.length).toBeLessThanOrEqual(8 + 4);
    expect(m.overflowedFlows).toBe(48);
    expect(value(pts, 'hotspan.network.flow.bytes', { 'network.io.direction': 'receive' })).toBe(350);
    expect(value(pts, 'hotspan.network.flow.connections', { 'otel.metric.overflow': true })).toBe(48);
  });
});
