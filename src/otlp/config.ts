/**
 * Exporter configuration, resolved in one place (OTel JS style) from, highest first:
 *   1. CLI overrides: per-signal, then general;
 *   2. environment: OTEL_EXPORTER_OTLP_<SIGNAL>_<X>, then OTEL_EXPORTER_OTLP_<X>;
 *   3. config file: per-signal, then general;
 *   4. defaults (OTLP spec: http://localhost:4317, 10 s timeout, no compression).
 * Each setting is resolved independently, so a per-signal endpoint does not discard general headers.
 *
 * Endpoint scheme decides transport security: http:// → insecure, https:// → TLS; with no scheme
 * the `insecure` setting (OTEL_EXPORTER_OTLP_INSECURE) decides, default TLS. For gRPC the per-signal
 * endpoint is used as is (no path is appended).
 */
import type { Signal } from './types.js';
import { SIGNALS } from './types.js';

export type Compression = 'gzip' | 'none';

/** Settings a user can give for all signals or for one. */
export interface ExporterSettings {
  endpoint?: string;
  /** `k=v,k2=v2` (W3C baggage style, values percent-decoded) or a map. */
  headers?: string | Record<string, string>;
  timeoutMs?: number;
  compression?: Compression;
  insecure?: boolean;
  /** PEM file of the CA (or self-signed server cert) to trust for TLS. */
  certificateFile?: string;
  clientKeyFile?: string;
  clientCertificateFile?: string;
  /** Queue and batching (per signal; OTEL_BSP_* for traces, OTEL_BLRP_* for logs). */
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMs?: number;
  /** Export requests in flight at once; more hides network round trips. */
  maxConcurrentExports?: number;
  /**
   * Profiles only: cap on queued profile bytes. Windows are encoded to OTLP as soon as they are
   * queued (~50× smaller than the objects), so this bounds memory, not maxQueueSize.
   */
  maxQueueBytes?: number;
}

export interface ExporterConfigInput extends ExporterSettings {
  traces?: ExporterSettings;
  metrics?: ExporterSettings;
  logs?: ExporterSettings;
  profiles?: ExporterSettings;
}

export interface SignalExporterConfig {
  signal: Signal;
  /** The endpoint as configured, e.g. http://collector:4317. */
  endpoint: string;
  /** Where the endpoint came from; 'default' means nothing was configured (agent may use its embedded receiver). */
  endpointSource: 'cli' | 'env' | 'file' | 'default';
  /** gRPC target host:port. */
  target: string;
  insecure: boolean;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: Compression;
  certificateFile?: string;
  clientKeyFile?: string;
  clientCertificateFile?: string;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  maxConcurrentExports: number;
  maxQueueBytes: number;
}

export class OtlpConfigError extends Error {
  readonly code = 'OTLP_CONFIG';
}

const ENV_SIGNAL: Record<Signal, string> = { traces: 'TRACES', metrics: 'METRICS', logs: 'LOGS', profiles: 'PROFILES' };

/** Queue defaults: spans and logs follow the OTel SDK batch processors; profiles windows are big, so fewer. */
const QUEUE_DEFAULTS: Record<Signal, { maxQueueSize: number; maxExportBatchSize: number; scheduledDelayMs: number }> = {
  traces: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 5000 },
  logs: { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 1000 },
  metrics: { maxQueueSize: 4096, maxExportBatchSize: 1024, scheduledDelayMs: 1000 },
  // Profiles: maxExportBatchSize is windows per request; maxQueueSize counts queued requests.
  profiles: { maxQueueSize: 1024, maxExportBatchSize: 16, scheduledDelayMs: 1000 },
};

const QUEUE_ENV: Partial<Record<Signal, string>> = { traces: 'OTEL_BSP', logs: 'OTEL_BLRP' };

type Env = Record<string, string | undefined>;

function envSettings(env: Env, prefix: string, signal?: Signal): ExporterSettings {
  const get = (name: string) => {
    const v = env[`${prefix}${name}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const varName = (name: string) => `${prefix}${name}`;
  const s: ExporterSettings = {
    endpoint: get('ENDPOINT'),
    headers: get('HEADERS'),
    certificateFile: get('CERTIFICATE'),
    clientKeyFile: get('CLIENT_KEY'),
    clientCertificateFile: get('CLIENT_CERTIFICATE'),
  };
  const timeout = get('TIMEOUT');
  if (timeout !== undefined) s.timeoutMs = parsePositiveInt(timeout, varName('TIMEOUT'), 'milliseconds, e.g. 10000');
  const compression = get('COMPRESSION');
  if (compression !== undefined) s.compression = parseCompression(compression, varName('COMPRESSION'));
  const insecure = get('INSECURE');
  if (insecure !== undefined) s.insecure = parseBool(insecure, varName('INSECURE'));
  if (signal && QUEUE_ENV[signal] && prefix === 'OTEL_EXPORTER_OTLP_' + ENV_SIGNAL[signal] + '_') {
    const q = QUEUE_ENV[signal]!;
    const num = (name: string, what: string) => {
      const v = env[`${q}_${name}`];
      return v === undefined || v.trim() === '' ? undefined : parsePositiveInt(v.trim(), `${q}_${name}`, what);
    };
    s.maxQueueSize = num('MAX_QUEUE_SIZE', 'an item count, e.g. 2048');
    s.maxExportBatchSize = num('MAX_EXPORT_BATCH_SIZE', 'an item count, e.g. 512');
    s.scheduledDelayMs = num('SCHEDULE_DELAY', 'milliseconds, e.g. 5000');
  }
  return s;
}

function parsePositiveInt(v: string, name: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new OtlpConfigError(`${name}="${v}" is not a positive integer; fix: set it to ${what}`);
  return n;
}

function parseCompression(v: string, name: string): Compression {
  const c = v.toLowerCase();
  if (c === 'gzip' || c === 'none') return c;
  throw new OtlpConfigError(`${name}="${v}" is not a supported compression; fix: use gzip or none`);
}

function parseBool(v: string, name: string): boolean {
  const b = v.toLowerCase();
  if (b === 'true') return true;
  if (b === 'false') return false;
  throw new OtlpConfigError(`${name}="${v}" is not a boolean; fix: use true or false`);
}

/** Parses `k=v,k2=v2` (values percent-decoded) as OTEL_EXPORTER_OTLP_HEADERS defines it. */
export function parseHeaders(v: string | Record<string, string>, name = 'headers'): Record<string, string> {
  if (typeof v !== 'string') return { ...v };
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new OtlpConfigError(`${name}: "${part}" is not key=value; fix: use k1=v1,k2=v2 (percent-encode "," and "=")`);
    const key = decodeURIComponent(part.slice(0, eq).trim()).toLowerCase();
    out[key] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function parseEndpoint(endpoint: string, insecureSetting: boolean | undefined, source: string): { target: string; insecure: boolean } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(endpoint);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
      throw new OtlpConfigError(`${source} endpoint "${endpoint}": unsupported scheme ${scheme}; fix: use http://host:port or https://host:port`);
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new OtlpConfigError(`${source} endpoint "${endpoint}" is not a valid URL; fix: use http(s)://host:port`);
    }
    const port = url.port || (scheme === 'https' ? '443' : '80');
    return { target: `${url.hostname}:${port}`, insecure: scheme === 'http' };
  }
  if (!/^[^\s/]+(:\d+)?$/.test(endpoint)) {
    throw new OtlpConfigError(`${source} endpoint "${endpoint}" is not host:port or a URL; fix: use e.g. http://localhost:4317`);
  }
  const target = /:\d+$/.test(endpoint) ? endpoint : `${endpoint}:4317`;
  return { target, insecure: insecureSetting ?? false };
}

/** Resolves the exporter configuration of every signal. Throws OtlpConfigError naming the bad setting. */
export function resolveExporterConfig(
  env: Env = process.env,
  cliOverrides: ExporterConfigInput = {},
  fileConfig: ExporterConfigInput = {},
): Record<Signal, SignalExporterConfig> {
  const general = envSettings(env, 'OTEL_EXPORTER_OTLP_');
  const out = {} as Record<Signal, SignalExporterConfig>;
  for (const signal of SIGNALS) {
    const perSignal = envSettings(env, `OTEL_EXPORTER_OTLP_${ENV_SIGNAL[signal]}_`, signal);
    const layers: Array<[SignalExporterConfig['endpointSource'], ExporterSettings]> = [
      ['cli', cliOverrides[signal] ?? {}],
      ['cli', cliOverrides],
      ['env', perSignal],
      ['env', general],
      ['file', fileConfig[signal] ?? {}],
      ['file', fileConfig],
    ];
    const pick = <K extends keyof ExporterSettings>(key: K): [ExporterSettings[K], SignalExporterConfig['endpointSource']] => {
      for (const [source, layer] of layers) if (layer[key] !== undefined) return [layer[key], source];
      return [undefined, 'default'];
    };
    const [endpointRaw, endpointSource] = pick('endpoint');
    const endpoint = endpointRaw ?? 'http://localhost:4317';
    const [insecureSetting] = pick('insecure');
    const { target, insecure } = parseEndpoint(endpoint, insecureSetting, `${signal}`);
    const [headersRaw] = pick('headers');
    const [timeoutMs] = pick('timeoutMs');
    const [compression] = pick('compression');
    const q = QUEUE_DEFAULTS[signal];
    const cfg: SignalExporterConfig = {
      signal,
      endpoint,
      endpointSource,
      target,
      insecure,
      headers: headersRaw === undefined ? {} : parseHeaders(headersRaw, `${signal} headers`),
      timeoutMs: timeoutMs ?? 10_000,
      compression: compression ?? 'none',
      certificateFile: pick('certificateFile')[0],
      clientKeyFile: pick('clientKeyFile')[0],
      clientCertificateFile: pick('clientCertificateFile')[0],
      maxQueueSize: pick('maxQueueSize')[0] ?? q.maxQueueSize,
      maxExportBatchSize: pick('maxExportBatchSize')[0] ?? q.maxExportBatchSize,
      scheduledDelayMs: pick('scheduledDelayMs')[0] ?? q.scheduledDelayMs,
      maxConcurrentExports: pick('maxConcurrentExports')[0] ?? 2,
      // 8 MiB of encoded profiles ≈ 450 windows of 2000 samples; the outage budget is 20 MB.
      maxQueueBytes: pick('maxQueueBytes')[0] ?? 8 * 1024 * 1024,
    };
    if (cfg.maxExportBatchSize > cfg.maxQueueSize) cfg.maxExportBatchSize = cfg.maxQueueSize;
    if (!Number.isInteger(cfg.timeoutMs) || cfg.timeoutMs <= 0) {
      throw new OtlpConfigError(`${signal} timeoutMs=${cfg.timeoutMs} is not a positive integer; fix: give milliseconds, e.g. 10000`);
    }
    out[signal] = cfg;
  }
  return out;
}
