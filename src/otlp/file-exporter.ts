/**
 * File exporter: the same pipelines as the gRPC exporter, but each batch is appended as one line
 * of OTLP JSON (protobuf JSON mapping: camelCase names, 64-bit integers as strings, enums as
 * integers, trace/span/profile ids as lowercase hex, other bytes base64) to <dir>/<signal>.jsonl.
 * For debugging and offline analysis; `collector --config file` style tools read this format.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { buildExporter, type ExporterOptions, type OtlpExporter } from './exporter.js';
import { resolveExporterConfig } from './config.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Signal } from './types.js';

// OTLP/JSON writes trace, span (and, as the Collector's pdata does, profile) ids as hex.
const HEX_ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId', 'profileId']);

/** Request object → OTLP JSON value (see header). */
export function toOtlpJson(value: unknown, key = ''): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return HEX_ID_KEYS.has(key) ? b.toString('hex') : b.toString('base64');
  }
  if (Array.isArray(value)) return value.map((v) => toOtlpJson(v, key));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) out[k] = toOtlpJson(v, k);
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function signalFile(dir: string, signal: Signal): string {
  return path.join(dir, `${signal}.jsonl`);
}

export function createFileExporter(dir: string, options: ExporterOptions = {}): OtlpExporter {
  // Queue/batch sizes are the same defaults as the network exporter; env does not point it elsewhere.
  const configs = resolveExporterConfig({});
  let ready: Promise<unknown> | undefined;
  const encoder = new TextEncoder();
  return buildExporter(
    configs,
    { encode: (_signal, request) => encoder.encode(`${JSON.stringify(toOtlpJson(request))}\n`) },
    (signal) => ({
      async send(body) {
        try {
          ready ??= mkdir(dir, { recursive: true });
          await ready;
          await appendFile(signalFile(dir, signal), body);
          return { kind: 'success', rejected: 0, errorMessage: '' };
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          // A full disk may clear; a missing permission will not.
          if (e.code === 'ENOSPC' || e.code === 'EAGAIN') return { kind: 'retryable', code: GrpcStatus.UNAVAILABLE, message: e.message };
          return { kind: 'failure', code: GrpcStatus.PERMISSION_DENIED, message: `${e.message}; fix: make ${dir} writable` };
        }
      },
      close() {},
    }),
    options,
  );
}
