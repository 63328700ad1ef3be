/**
 * W3C Trace Context `traceparent` / `tracestate` validation (https://www.w3.org/TR/trace-context/).
 * Version 00 must be exactly 55 chars; a higher version (01..fe) may be longer, its first four
 * fields are parsed as for 00 and anything after must start with '-' (spec 4.3 "versioning").
 * Version ff, non-hex or uppercase hex, and all-zero trace or parent ids are invalid.
 */
import type { TraceParent } from './types.js';

const HEX_LOWER = /^[0-9a-f]+$/;

export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (v.length < 55) return undefined;
  const version = v.slice(0, 2);
  if (!HEX_LOWER.test(version) || version === 'ff') return undefined;
  if (version === '00' && v.length !== 55) return undefined;
  if (v.length > 55 && v[55] !== '-') return undefined;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!HEX_LOWER.test(traceId) || !HEX_LOWER.test(parentId) || !HEX_LOWER.test(flags)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { version, traceId, parentId, flags, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** Longest tracestate the spec requires keeping: 32 members of at most 256 chars each (3.3.1.1). */
const MAX_TRACESTATE_MEMBERS = 32;
const KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Validate tracestate; returns the normalized header (empty members dropped) or undefined when
 * invalid. The spec says an invalid tracestate is discarded, not repaired.
 */
export function parseTracestate(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const members = header
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  const keys = new Set<string>();
  for (const m of members) {
    const eq = m.indexOf('=');
    if (eq <= 0) return undefined;
    const key = m.slice(0, eq);
    const value = m.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value) || keys.has(key)) return undefined;
    keys.add(key);
  }
  return members.join(',');
}
