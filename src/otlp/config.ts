/**
 * Exporter configuration, resolved in one place (OTel JS style) from, highest first:
 *   1. CLI overrides: per-signal, then general;
 *   2. environment: OTEL_EXPORTER_OTLP_<SIGNAL>_<X>, then OTEL_EXPORTER_OTLP_<X>;
 *   3. config file: per-signal, then general;
 *   4. defaults (10 s timeout, no compression, protocol grpc at http://localhost:4317, or
 *      http/protobuf at http://localhost:4318/v1/<signal>).
 * Each setting is resolved independently, so a per-signal endpoint does not discard general headers.
 *
 * Protocol (OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL): `grpc` or
 * `http/protobuf`. The spec's SDK default is http/protobuf "unless SDKs have good reasons to choose
 * grpc (e.g. backward compatibility)": hotspan shipped gRPC first, so grpc stays the default.
 *
 * URL rules (OTLP exporter spec): for http/protobuf a GENERAL endpoint gets `v1/<signal>` appended to
 * its path (profiles: `v1development/profiles`, the path the Collector's otlpreceiver serves); a
 * PER-SIGNAL endpoint is used as is. For gRPC no path is ever appended.
 * Endpoint scheme decides transport security: http:// → insecure, https:// → TLS; with no scheme
 * the `insecure` setting (OTEL_EXPORTER_OTLP_INSECURE) decides, default TLS.
 */
import type { Signal } from './types.js';
import { SIGNALS } from './types.js';

export type Compression = 'gzip' | 'none';
export type Protocol = 'grpc' | 'http/protobuf';

/** URL path per signal for OTLP/HTTP (profiles: receiver/otlpreceiver factory.go defaultProfilesURLPath). */
export const HTTP_SIGNAL_PATH: Record<Signal, string> = {
  traces: 'v1/traces',
  metrics: 'v1/metrics',
  logs: 'v1/logs',
  profiles: 'v1development/profiles',
};

/** Settings a user can give for all signals or for one. */
export interface ExporterSettings {
  endpoint?: string;
  protocol?: Protocol;
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
  protocol: Protocol;
  /** gRPC target host:port. */
  target: string;
  /** OTLP/HTTP: the full URL requests are POSTed to (per-signal path applied). */
  url: string;
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
  const protocol = get('PROTOCOL');
  const s: ExporterSettings = {
    endpoint: get('ENDPOINT'),
    protocol: protocol === undefined ? undefined : parseProtocol(protocol, varName('PROTOCOL')),
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

export function parseProtocol(v: string, name: string): Protocol {
  const p = v.toLowerCase();
  if (p === 'grpc' || p === 'http/protobuf') return p;
  if (p === 'http/json') throw new OtlpConfigError(`${name}="${v}": http/json is not supported; fix: use http/protobuf or grpc`);
  throw new OtlpConfigError(`${name}="${v}" is not an OTLP protocol; fix: use grpc or http/protobuf`);
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

function parseEndpoint(
  endpoint: string,
  insecureSetting: boolean | undefined,
  source: string,
  defaultPort: string,
): { target: string; insecure: boolean; url: URL } {
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
    return { target: `${url.hostname}:${port}`, insecure: scheme === 'http', url };
  }
  if (!/^[^\s/]+(:\d+)?$/.test(endpoint)) {
    throw new OtlpConfigError(`${source} endpoint "${endpoint}" is not host:port or a URL; fix: use e.g. http://localhost:4317`);
  }
  const target = /:\d+$/.test(endpoint) ? endpoint : `${endpoint}:${defaultPort}`;
  const insecure = insecureSetting ?? false;
  return { target, insecure, url: new URL(`${insecure ? 'http' : 'https'}://${target}`) };
}

/** OTLP/HTTP URL of one signal: general endpoint + `v1/<signal>` (path joined with one slash); per-signal as is. */
export function signalUrl(base: URL, signal: Signal, perSignal: boolean): string {
  if (perSignal) return base.toString();
  const u = new URL(base.toString());
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${HTTP_SIGNAL_PATH[signal]}`;
  return u.toString();
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
    // Third element: whether the layer is per-signal (its endpoint is used as is for OTLP/HTTP).
    const layers: Array<[SignalExporterConfig['endpointSource'], ExporterSettings, boolean]> = [
      ['cli', cliOverrides[signal] ?? {}, true],
      ['cli', cliOverrides, false],
      ['env', perSignal, true],
      ['env', general, false],
      ['file', fileConfig[signal] ?? {}, true],
      ['file', fileConfig, false],
    ];
    const pickLayer = <K extends keyof ExporterSettings>(key: K): [ExporterSettings[K], SignalExporterConfig['endpointSource'], boolean] => {
      for (const [source, layer, own] of layers) if (layer[key] !== undefined) return [layer[key], source, own];
      return [undefined, 'default', false];
    };
    const pick = <K extends keyof ExporterSettings>(key: K): [ExporterSettings[K], SignalExporterConfig['endpointSource']] => {
      const [v, source] = pickLayer(key);
      return [v, source];
    };
    const [protocolRaw, protocolSource] = pick('protocol');
    const protocol: Protocol = protocolRaw === undefined ? 'grpc' : parseProtocol(String(protocolRaw), `${signal} protocol (${protocolSource})`);
    const [endpointRaw, endpointSource, endpointPerSignal] = pickLayer('endpoint');
    const endpoint = endpointRaw ?? (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318');
    const [insecureSetting] = pick('insecure');
    const parsed = parseEndpoint(endpoint, insecureSetting, `${signal}`, protocol === 'grpc' ? '4317' : '4318');
    const { target, insecure } = parsed;
    const url = signalUrl(parsed.url, signal, endpointPerSignal);
    const [headersRaw] = pick('headers');
    const [timeoutMs] = pick('timeoutMs');
    const [compression] = pick('compression');
    const q = QUEUE_DEFAULTS[signal];
    const cfg: SignalExporterConfig = {
      signal,
      endpoint,
      endpointSource,
      protocol,
      target,
      url,
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
