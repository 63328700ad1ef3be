import { describe, expect, it } from 'vitest';
import { resolveExporterConfig, OtlpConfigError } from '../../../src/otlp/index.js';

describe('resolveExporterConfig precedence', () => {
  it('uses the OTLP spec defaults when nothing is configured', () => {
    const c = resolveExporterConfig({});
    for (const s of ['traces', 'metrics', 'logs', 'profiles'] as const) {
      expect(c[s].endpoint).toBe('http://localhost:4317');
      expect(c[s].endpointSource).toBe('default');
      expect(c[s].target).toBe('localhost:4317');
      expect(c[s].insecure).toBe(true);
      expect(c[s].timeoutMs).toBe(10_000);
      expect(c[s].compression).toBe('none');
      expect(c[s].headers).toEqual({});
    }
  });

  it('per-signal env beats general env beats default, setting by setting', () => {
    const c = resolveExporterConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://general:4317',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=t1',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4317',
      OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: 'pyroscope:4040',
      OTEL_EXPORTER_OTLP_PROFILES_INSECURE: 'true',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-tenant=logs',
    });
    expect(c.traces).toMatchObject({
      endpoint: 'http://tempo:4317',
      target: 'tempo:4317',
      insecure: true,
      timeoutMs: 5000,
      compression: 'gzip',
      endpointSource: 'env',
    });
    expect(c.traces.headers).toEqual({ authorization: 'Bearer abc', 'x-tenant': 't1' });
    expect(c.metrics).toMatchObject({ target: 'general:4317', insecure: false, timeoutMs: 700, compression: 'gzip' });
    expect(c.logs).toMatchObject({ target: 'general:4317', compression: 'none' });
    // Per-signal headers replace general headers as a whole (the env var is one setting).
    expect(c.logs.headers).toEqual({ 'x-tenant': 'logs' });
    // No scheme: the INSECURE setting decides.
    expect(c.profiles).toMatchObject({ target: 'pyroscope:4040', insecure: true });
  });

  it('CLI beats env beats config file; per-signal beats general within each layer', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4317', OTEL_EXPORTER_OTLP_TIMEOUT: '3000' };
    const file = { endpoint: 'http://file:4317', timeoutMs: 1000, compression: 'gzip' as const, traces: { timeoutMs: 1500 } };
    const cli = { profiles: { endpoint: 'http://cli-profiles:4317' } };
    const c = resolveExporterConfig(env, cli, file);
    expect(c.profiles).toMatchObject({ target: 'cli-profiles:4317', endpointSource: 'cli', timeoutMs: 3000, compression: 'gzip' });
    expect(c.traces).toMatchObject({ target: 'env:4317', endpointSource: 'env', timeoutMs: 3000 });
    const noEnv = resolveExporterConfig({}, {}, file);
    expect(noEnv.traces).toMatchObject({ target: 'file:4317', endpointSource: 'file', timeoutMs: 1500 });
    expect(noEnv.metrics.timeoutMs).toBe(1000);
  });

  it('reads batch processor env vars for traces (OTEL_BSP_*) and logs (OTEL_BLRP_*)', () => {
    const c = resolveExporterConfig({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_BLRP_SCHEDULE_DELAY: '50' });
    expect(c.traces).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 10 });
    expect(c.logs.scheduledDelayMs).toBe(50);
    expect(c.metrics.maxQueueSize).toBe(4096);
  });

  it('names the variable and the fix for bad values', () => {
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="soon".*fix/);
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })).toThrow(/OTEL_EXPORTER_OTLP_COMPRESSION.*gzip or none/);
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_INSECURE: 'yes' })).toThrow(OtlpConfigError);
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x:1' })).toThrow(/unsupported scheme ftp/);
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' })).toThrow(/key=value/);
  });
});

describe('OTLP protocol selection and per-signal URL rules', () => {
  it('http/protobuf: default endpoint is localhost:4318 with /v1/<signal> (profiles: /v1development/profiles)', () => {
    const c = resolveExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(c.traces).toMatchObject({ protocol: 'http/protobuf', url: 'http://localhost:4318/v1/traces', endpointSource: 'default' });
    expect(c.metrics.url).toBe('http://localhost:4318/v1/metrics');
    expect(c.logs.url).toBe('http://localhost:4318/v1/logs');
    expect(c.profiles.url).toBe('http://localhost:4318/v1development/profiles');
  });

  it('grpc stays the default (backward compatibility, allowed by the spec) and appends no path', () => {
    const c = resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/ignored' });
    expect(c.traces).toMatchObject({ protocol: 'grpc', target: 'collector:4317' });
  });

  it('general endpoint gets v1/<signal> appended to its path; a per-signal endpoint is used as is', () => {
    const c = resolveExporterConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example:4443/otlp/',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom/traces',
      OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: 'http://pyroscope:4040',
    });
    expect(c.metrics.url).toBe('https://gw.example:4443/otlp/v1/metrics');
    expect(c.logs.url).toBe('https://gw.example:4443/otlp/v1/logs');
    expect(c.traces.url).toBe('http://tempo:4318/custom/traces');
    // As is: the spec says a per-signal URL without a path is POSTed to "/".
    expect(c.profiles.url).toBe('http://pyroscope:4040/');
  });

  it('per-signal protocol beats the general one', () => {
    const c = resolveExporterConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:9999',
    });
    expect(c.traces).toMatchObject({ protocol: 'http/protobuf', url: 'http://c:9999/v1/traces' });
    expect(c.profiles).toMatchObject({ protocol: 'grpc', target: 'c:9999' });
  });

  it('scheme-less endpoints default to the protocol port', () => {
    const c = resolveExporterConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector',
      OTEL_EXPORTER_OTLP_INSECURE: 'true',
    });
    expect(c.traces.url).toBe('http://collector:4318/v1/traces');
  });

  it('names the variable and the fix for an unknown or unsupported protocol', () => {
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL="http\/json": http\/json is not supported; fix: use http\/protobuf or grpc/,
    );
    expect(() => resolveExporterConfig({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'udp' })).toThrow(OtlpConfigError);
    expect(() => resolveExporterConfig({}, {}, { protocol: 'thrift' as never })).toThrow(/protocol \(file\).*fix: use grpc or http\/protobuf/);
  });
});
