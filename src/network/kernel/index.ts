/** Kernel side of the network domain: BPF capture, /proc discovery, L4 flow records. */
export { NetCapture, selectNetPrograms, toDataChunk, type NetCaptureOptions, type NetCaptureCounters, type NetEventSink } from './capture.js';
export { FlowTable, outcomeOf, type FlowRecord, type FlowOutcome, type FlowTableOptions } from './flows.js';
export { discoverConnections, socketInodesOf, type PreexistingConn, type DiscoveryResult } from './discovery.js';
export { parseProcNetTcp, TcpState, type ProcTcpSocket, type ProcTcpParse } from './proc-net.js';
export {
  createFlowMetrics,
  flowAttributes,
  type FlowMetrics,
  type FlowMetricsOptions,
  type FlowMetricPoint,
  type FlowMetricName,
  type FlowAttributes,
} from './flow-metrics.js';
