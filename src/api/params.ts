/**
 * Request parameter parsing for the API: every value is checked, and a bad one is a 400 whose
 * message names the parameter, what was given and what is accepted.
 */
import { parseDurationMs } from '../config/index.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new ApiError(400, 'BAD_REQUEST', message);
export const notFound = (message: string) => new ApiError(404, 'NOT_FOUND', message);

const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
/** Names and routes are free text, but bounded: the store has no use for a megabyte filter. */
const MAX_TEXT = 1024;

export class Params {
  private readonly known: Set<string>;
  constructor(
    private readonly q: URLSearchParams,
    allowed: readonly string[],
  ) {
    this.known = new Set(allowed);
    for (const k of q.keys()) {
      if (!this.known.has(k)) throw badRequest(`unknown parameter "${k}"; this endpoint takes ${[...this.known].join(', ') || 'none'}`);
    }
    for (const k of this.known) if (q.getAll(k).length > 1) throw badRequest(`parameter "${k}" given more than once`);
  }

  text(name: string): string | undefined {
    const v = this.q.get(name);
    if (v === null || v === '') return undefined;
    if (v.length > MAX_TEXT) throw badRequest(`parameter "${name}" is longer than ${MAX_TEXT} characters`);
    return v;
  }

  int(name: string, min: number, max: number, dflt?: number): number | undefined {
    const v = this.text(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw badRequest(`parameter "${name}" must be an integer from ${min} to ${max}, got "${clip(v)}"`);
    }
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[], dflt?: T): T | undefined {
    const v = this.text(name);
    if (v === undefined) return dflt;
    if (!(values as readonly string[]).includes(v)) throw badRequest(`parameter "${name}" must be one of ${values.join(', ')}, got "${clip(v)}"`);
    return v as T;
  }

  spanId(name: string): string | undefined {
    const v = this.text(name)?.toLowerCase();
    if (v !== undefined && !SPAN_ID.test(v)) throw badRequest(`parameter "${name}" must be a span id of 16 hex digits, got "${clip(v)}"`);
    return v;
  }

  traceId(name: string): string | undefined {
    const v = this.text(name)?.toLowerCase();
    if (v !== undefined && !TRACE_ID.test(v)) throw badRequest(`parameter "${name}" must be a trace id of 32 hex digits, got "${clip(v)}"`);
    return v;
  }

  /** A time: Unix ms or ns digits, an ISO date, or a duration back from now (`15m`, `2h`). */
  time(name: string, nowMs: number): bigint | undefined {
    const v = this.text(name);
    return v === undefined ? undefined : parseTime(name, v, nowMs);
  }
}

export function parseTime(name: string, v: string, nowMs: number): bigint {
  if (/^\d+$/.test(v)) {
    // Digits: Unix ms up to year 5138, else ns.
    const n = BigInt(v);
    return n < 100_000_000_000_000n ? n * 1_000_000n : n;
  }
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(v)) {
    let ms: number;
    try {
      ms = parseDurationMs(v);
    } catch {
      throw badRequest(`parameter "${name}": cannot read "${clip(v)}" as a duration`);
    }
    return BigInt(Math.round(nowMs - ms)) * 1_000_000n;
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    throw badRequest(`parameter "${name}" must be Unix ms, an ISO time or a duration back from now such as 15m, got "${clip(v)}"`);
  }
  return BigInt(ms) * 1_000_000n;
}

export function checkSpanId(v: string): string {
  const s = v.toLowerCase();
  if (!SPAN_ID.test(s)) throw badRequest(`span id must be 16 hex digits, got "${clip(v)}"`);
  return s;
}

function clip(v: string): string {
  return v.length > 80 ? `${v.slice(0, 80)}…` : v;
}
