import type { Frame } from '../symbols/types.js';

/** A CPU sample after decoding and symbolization. */
export interface CpuSample {
  /** Wall-clock time of the sample, Unix epoch nanoseconds. */
  timeUnixNs: bigint;
  /** CLOCK_MONOTONIC time of the sample as the kernel took it (joins with network events). */
  timeMonoNs: bigint;
  pid: number;
  tid: number;
  cpu: number;
  threadName: string;
  processName: string;
  /** Frames leaf first: kernel frames (if any) then user frames. */
  frames: Frame[];
  /** Set when the sample ran on behalf of a traced request (span ↔ profile join). */
  traceId?: string;
  spanId?: string;
  spanName?: string;
  /** 'ambiguous' when more than one request was in flight on the thread. */
  spanAttribution?: 'exact' | 'ambiguous';
  spanCandidates?: number;
}

/** What is known about the process a window belongs to. */
export interface ProcessInfo {
  pid: number;
  /** Executable basename. */
  name: string;
  /** Executable path, as the process sees it. */
  executablePath?: string;
  /** argv[0] as the process set it (OTel process.command). */
  command?: string;
  /**
   * The whole argv. Arguments often carry secrets (passwords, tokens): exported only when the
   * operator opts in (HOTSPAN_EXPORT_COMMAND_ARGS), never by default.
   */
  commandArgs?: string[];
  /** GNU build id of the main executable, when it has one. */
  buildId?: string;
  containerId?: string;
  serviceName?: string;
  serviceVersion?: string;
  /** OTEL_SERVICE_NAME from the process's own environment: it names itself. */
  otelServiceName?: string;
  /** OTEL_RESOURCE_ATTRIBUTES from the process's own environment (W3C baggage format). */
  otelResourceAttributes?: string;
}

/** All samples of one process in one time window (default 10 s). */
export interface ProfileWindow {
  startUnixNs: bigint;
  endUnixNs: bigint;
  /** Sampling period in nanoseconds (1e9 / frequency). */
  periodNs: bigint;
  process: ProcessInfo;
  samples: CpuSample[];
}
