/**
 * Loads the pinned OTLP .proto files (see proto/README.md) once and exposes the message types the
 * exporter encodes and the receiver decodes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Signal } from './types.js';

/**
 * tsc does not copy .proto files into dist/, so resolve them from the source tree: this module runs
 * either as src/otlp/proto-root.ts (tsx, vitest) or dist/src/otlp/proto-root.js.
 */
export function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, 'proto'), // src/otlp/proto-root.ts
    path.resolve(here, '../../../src/otlp/proto'), // dist/src/otlp/proto-root.js
  ];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'opentelemetry/proto/common/v1/common.proto')));
  if (found) return found;
  throw new Error(
    `otlp: cannot find the OTLP .proto files (looked in ${candidates.join(', ')}); ` +
      'fix: run from a checkout that has src/otlp/proto/ (the files are not copied into dist/)',
  );
}

const SERVICE_FILES: Record<Signal, string> = {
  traces: 'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  metrics: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  logs: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  profiles: 'opentelemetry/proto/collector/profiles/v1development/profiles_service.proto',
};

const SERVICE_NAMES: Record<Signal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
  profiles: 'opentelemetry.proto.collector.profiles.v1development.ProfilesService',
};

export interface SignalProto {
  /** Fully qualified gRPC service name, e.g. opentelemetry.proto.collector.trace.v1.TraceService. */
  serviceName: string;
  /** gRPC method path: /<service>/Export. */
  exportPath: string;
  request: protobuf.Type;
  response: protobuf.Type;
  /** Name of the partial-success rejected counter in the response (rejectedSpans, ...). */
  rejectedField: string;
}

/** Options that give the receiver → sink object shape documented in types.ts. */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  bytes: Buffer,
  enums: Number,
  defaults: true,
  arrays: true,
};

let cached: { root: protobuf.Root; signals: Record<Signal, SignalProto> } | undefined;

function load(): { root: protobuf.Root; signals: Record<Signal, SignalProto> } {
  if (cached) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(dir, target);
  root.loadSync(Object.values(SERVICE_FILES));
  root.resolveAll();
  const rejected: Record<Signal, string> = {
    traces: 'rejectedSpans',
    metrics: 'rejectedDataPoints',
    logs: 'rejectedLogRecords',
    profiles: 'rejectedProfiles',
  };
  const signals = {} as Record<Signal, SignalProto>;
  for (const signal of Object.keys(SERVICE_FILES) as Signal[]) {
    const service = root.lookupService(SERVICE_NAMES[signal]);
    const method = service.methods['Export']!;
    method.resolve();
    signals[signal] = {
      serviceName: SERVICE_NAMES[signal],
      exportPath: `/${SERVICE_NAMES[signal]}/Export`,
      request: method.resolvedRequestType!,
      response: method.resolvedResponseType!,
      rejectedField: rejected[signal],
    };
  }
  cached = { root, signals };
  return cached;
}

/** The request/response types and gRPC path of one signal's Export service. */
export function signalProto(signal: Signal): SignalProto {
  return load().signals[signal];
}

/** Any message type by its fully qualified name (e.g. opentelemetry.proto.profiles.v1development.ProfilesData). */
export function lookupType(name: string): protobuf.Type {
  return load().root.lookupType(name);
}

/**
 * Encodes a request object (protobufjs object shape: camelCase, 64-bit as decimal string, bytes as
 * Buffer). The converters build exactly that shape, so it is encoded directly; fromObject (which
 * also accepts base64 strings for bytes, enum names, …) costs ~20 % more and is used only for
 * objects from elsewhere (`normalize: true`).
 */
export function encodeRequest(signal: Signal, request: object, opts: { normalize?: boolean } = {}): Uint8Array {
  const type = signalProto(signal).request;
  return type.encode(opts.normalize ? type.fromObject(request) : (request as protobuf.Message)).finish();
}

/** Decodes wire bytes into the plain-object shape of types.ts. Throws on malformed bytes. */
export function decodeRequest<T>(signal: Signal, bytes: Uint8Array): T {
  const type = signalProto(signal).request;
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as T;
}
