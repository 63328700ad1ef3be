/**
 * Flow metrics: cumulative counters over finished L4 flows (bytes each way, connections by
 * outcome, retransmits), with low-cardinality attributes only. The client's ephemeral port and
 * the peer's address of server-side flows never become attributes (one series per client would
 * grow without bound); what identifies a series is the process, the role, the server port and how
 * the connection ended. Series are capped; overflow goes to one `otel.metric.overflow` series.
 */
import type { FlowOutcome, FlowRecord } from './flows.js';

export type FlowMetricName =
  /** Payload bytes moved through the traced syscalls, by `network.io.direction`. */
  | 'hotspan.network.flow.bytes'
  /** Finished connections, by `hotspan.network.flow.outcome`. */
  | 'hotspan.network.flow.connections'
  /** TCP retransmitted segments of finished connections. */
  | 'hotspan.network.flow.retransmits';

export type FlowAttributes = Record<string, string | number | boolean>;

/** One monotonic cumulative sum for one attribute set. */
export interface FlowMetricPoint {
  name: FlowMetricName;
  unit: 'By' | '{connection}' | '{segment}';
  attributes: FlowAttributes;
  value: number;
}

export interface FlowMetrics {
  /** Adds one finished flow (FlowTable returns it when the socket reaches TCP_CLOSE). */
  record(flow: FlowRecord): void;
  /** Current cumulative points, one per metric and attribute set. */
  collect(): FlowMetricPoint[];
  /** Flows folded into the overflow series because `maxSeries` was reached. */
  readonly overflowedFlows: number;
}

export interface FlowMetricsOptions {
  /** Most distinct attribute sets kept (all metrics together); default 2000. */
  maxSeries?: number;
}

/**
 * The attributes a flow contributes to every flow metric: `process.executable.name` (the
 * kernel's comm), `network.type`, `hotspan.network.flow.role`, `server.port` (the listening side's
 * port: local for a server, remote for a client), `server.address` for clients only (the services
 * a host calls are few; the clients calling it are not).
 */
export function flowAttributes(flow: FlowRecord): FlowAttributes {
  const a: FlowAttributes = {
    'process.executable.name': flow.process,
    'network.transport': 'tcp',
    'network.type': flow.family === 6 ? 'ipv6' : 'ipv4',
    'hotspan.network.flow.role': flow.role,
  };
  if (flow.role === 'server') a['server.port'] = flow.local.port;
  else if (flow.role === 'client') {
    a['server.address'] = flow.remote.address;
    a['server.port'] = flow.remote.port;
  }
  return a;
}

const UNITS: Record<FlowMetricName, FlowMetricPoint['unit']> = {
  'hotspan.network.flow.bytes': 'By',
  'hotspan.network.flow.connections': '{connection}',
  'hotspan.network.flow.retransmits': '{segment}',
};

export function createFlowMetrics(opts: FlowMetricsOptions = {}): FlowMetrics {
  const maxSeries = opts.maxSeries ?? 2000;
  const series = new Map<string, FlowMetricPoint>();
  let overflowedFlows = 0;

  function add(name: FlowMetricName, base: FlowAttributes, extra: FlowAttributes, value: number, overflow: boolean): void {
    const attributes = overflow ? { 'otel.metric.overflow': true, ...extra } : { ...base, ...extra };
    const key = name + JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
    let p = series.get(key);
    if (!p) series.set(key, (p = { name, unit: UNITS[name], attributes, value: 0 }));
    p.value += value;
  }

  return {
    get overflowedFlows() {
      return overflowedFlows;
    },
    record(flow) {
      const base = flowAttributes(flow);
      const outcome: FlowOutcome = flow.outcome;
      // A flow adds up to 4 series; decide overflow once per flow so its metrics stay together.
      const probe =
        'hotspan.network.flow.connections' +
        JSON.stringify(Object.entries({ ...base, 'hotspan.network.flow.outcome': outcome }).sort(([a], [b]) => (a < b ? -1 : 1)));
      const overflow = !series.has(probe) && series.size + 4 > maxSeries;
      if (overflow) overflowedFlows++;
      add('hotspan.network.flow.connections', base, { 'hotspan.network.flow.outcome': outcome }, 1, overflow);
      add('hotspan.network.flow.bytes', base, { 'network.io.direction': 'transmit' }, Number(flow.bytesSent), overflow);
      add('hotspan.network.flow.bytes', base, { 'network.io.direction': 'receive' }, Number(flow.bytesReceived), overflow);
      add('hotspan.network.flow.retransmits', base, {}, flow.retransmits, overflow);
    },
    collect() {
      return [...series.values()].map((p) => ({ ...p, attributes: { ...p.attributes } }));
    },
  };
}
