/** Helpers shared by the internal → OTLP conversions: attributes, ids, times. */
import type { AnyValueObject, Attributes, AttributeValue, KeyValueObject } from './types.js';

/** OTLP AnyValue for one scalar attribute; integers go to intValue, other numbers to doubleValue. */
export function anyValue(value: AttributeValue): AnyValueObject {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Number.isInteger(value)) return { intValue: String(value) };
  return { doubleValue: value };
}

/** Attributes as OTLP KeyValue list, keys sorted so equal attribute sets encode identically. */
export function keyValues(attributes: Attributes): KeyValueObject[] {
  return Object.keys(attributes)
    .sort()
    .map((key) => ({ key, value: anyValue(attributes[key]!) }));
}

/** Inverse of keyValues for scalar values (used by tests, the file exporter and the store). */
export function attributesOf(list: KeyValueObject[]): Attributes {
  const out: Attributes = {};
  for (const kv of list) {
    const v = kv.value;
    if (!v) continue;
    if (v.stringValue !== undefined) out[kv.key] = v.stringValue;
    else if (v.boolValue !== undefined) out[kv.key] = v.boolValue;
    else if (v.intValue !== undefined) out[kv.key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) out[kv.key] = v.doubleValue;
  }
  return out;
}

/** Thrown for a record that cannot be encoded; the exporter counts it as malformed and skips it. */
export class MalformedRecordError extends Error {
  readonly code = 'OTLP_MALFORMED_RECORD';
}

const HEX = /^[0-9a-f]*$/;

/** Lowercase hex id → bytes. `byteLength` is 16 for trace ids, 8 for span ids. */
export function idBytes(hex: string | undefined, byteLength: number, what: string): Buffer {
  if (hex === undefined || hex === '') return Buffer.alloc(0);
  if (hex.length !== byteLength * 2 || !HEX.test(hex)) {
    throw new MalformedRecordError(`${what} "${hex}" is not ${byteLength * 2} lowercase hex characters; fix the producer of this record`);
  }
  return Buffer.from(hex, 'hex');
}

/** bigint Unix ns → the decimal string protobufjs takes for fixed64/uint64. */
export function nanos(value: bigint | undefined, what: string): string {
  if (value === undefined) return '0';
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw new MalformedRecordError(`${what} must be a non-negative bigint of nanoseconds, got ${String(value)}`);
  }
  return value.toString();
}

/** Canonical key of a resource object; producers reuse one object per process, so cache by identity. */
const resourceKeys = new WeakMap<Attributes, string>();
function resourceKey(resource: Attributes): string {
  let key = resourceKeys.get(resource);
  if (key === undefined) {
    key = JSON.stringify(keyValues(resource));
    resourceKeys.set(resource, key);
  }
  return key;
}

/** Groups items by their resource attributes (one ResourceX per distinct resource). */
export function groupByResource<T extends { resource: Attributes }>(items: T[]): Map<string, { resource: Attributes; items: T[] }> {
  const groups = new Map<string, { resource: Attributes; items: T[] }>();
  for (const item of items) {
    const key = resourceKey(item.resource);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { resource: item.resource, items: [] }));
    g.items.push(item);
  }
  return groups;
}

/** A conversion's request and what it had to skip. */
export interface Converted<T> {
  request: T;
  /** Records skipped because they could not be encoded. */
  malformed: number;
  /** Message of the first malformed record, for one log line per batch. */
  firstError?: string;
}

export function tryEach<I, O>(items: I[], fn: (item: I) => O, errors: string[]): O[] {
  const out: O[] = [];
  for (const item of items) {
    try {
      out.push(fn(item));
    } catch (err) {
      if (!(err instanceof MalformedRecordError)) throw err;
      errors.push(err.message);
    }
  }
  return out;
}
