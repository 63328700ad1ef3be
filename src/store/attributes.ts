/** Helpers turning decoded OTLP values (protobufjs toObject shape) into plain JS. Pure. */

import { createHash } from 'node:crypto';
import type { AnyValueObject, KeyValueObject } from '../otlp/index.js';

export type PlainValue = string | number | boolean | null | PlainValue[] | { [k: string]: PlainValue };

/** AnyValue → JSON-friendly value. 64-bit ints stay exact: within 2^53 as number, else as string. */
export function anyValueToPlain(v: AnyValueObject | null | undefined): PlainValue {
  if (!v) return null;
  // protobufjs with `defaults: true` fills every oneof member with its default; the oneof name
  // (`value`) is only present with `oneofs: true`. Prefer the member that differs from its default.
  if (v.stringValue !== undefined && v.stringValue !== '') return v.stringValue;
  if (v.intValue !== undefined && v.intValue !== '0' && v.intValue !== null) return intToPlain(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== 0) return v.doubleValue;
  if (v.boolValue === true) return true;
  if (v.arrayValue && v.arrayValue.values?.length) return v.arrayValue.values.map(anyValueToPlain);
  if (v.kvlistValue && v.kvlistValue.values?.length) return keyValuesToRecord(v.kvlistValue.values);
  if (v.bytesValue && v.bytesValue.length) return Buffer.from(v.bytesValue).toString('base64');
  // All members at their defaults: the value really was a default, which one is unknowable
  // without `oneofs`; the most common case in practice is an empty string or zero.
  if (v.intValue !== undefined && v.intValue !== null) return 0;
  if (v.boolValue === false) return false;
  if (v.stringValue !== undefined) return '';
  return null;
}

function intToPlain(s: string | number): number | string {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : String(s);
}

export function keyValuesToRecord(kvs: readonly KeyValueObject[] | null | undefined): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const kv of kvs ?? []) {
    if (kv && typeof kv.key === 'string') out[kv.key] = anyValueToPlain(kv.value);
  }
  return out;
}

export function stringAttr(attrs: Record<string, PlainValue>, key: string): string | null {
  const v = attrs[key];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function intAttr(attrs: Record<string, PlainValue>, key: string): number | null {
  const v = attrs[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

export function numberAttr(attrs: Record<string, PlainValue>, key: string): number | null {
  const v = attrs[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** Trace/span id bytes → lowercase hex; null for absent or all-zero ids (the spec's "no id"). */
export function idToHex(id: Uint8Array | string | null | undefined): string | null {
  if (id === null || id === undefined) return null;
  if (typeof id === 'string') {
    // Hand-built objects may carry hex already (the JSON mapping uses hex ids).
    return /^[0-9a-fA-F]+$/.test(id) && /[1-9a-fA-F]/.test(id) ? id.toLowerCase() : null;
  }
  if (id.length === 0) return null;
  const hex = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
  return /[1-9a-f]/.test(hex) ? hex : null;
}

/** Decimal int64 string (or number) → bigint; null when it is not an integer. */
export function toBigInt(v: string | number | bigint | null | undefined): bigint | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (!/^-?\d+$/.test(v)) return null;
  return BigInt(v);
}

/** The resource columns every signal table carries. */
export interface ResourceColumns {
  serviceName: string;
  serviceVersion: string;
  hostName: string;
  processName: string;
  containerId: string;
  pid: number | null;
  /** Content hash of the resource; the attributes are stored once in the `resources` table. */
  resourceId: bigint;
  /** All resource attributes as JSON text. */
  resourceJson: string;
}

export function resourceColumns(attrs: Record<string, PlainValue>): ResourceColumns {
  const resourceJson = JSON.stringify(attrs);
  return {
    serviceName: stringAttr(attrs, 'service.name') ?? '',
    serviceVersion: stringAttr(attrs, 'service.version') ?? '',
    hostName: stringAttr(attrs, 'host.name') ?? '',
    processName: stringAttr(attrs, 'process.executable.name') ?? '',
    containerId: stringAttr(attrs, 'container.id') ?? '',
    pid: intAttr(attrs, 'process.pid'),
    resourceId: createHash('sha256').update(resourceJson).digest().readBigInt64BE(0),
    resourceJson,
  };
}

/** Counts malformed items by reason; decoders fill it and the store sums it into its stats. */
export type MalformedCounts = Record<string, number>;

export function countMalformed(m: MalformedCounts, reason: string, n = 1): void {
  m[reason] = (m[reason] ?? 0) + n;
}
