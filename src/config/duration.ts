import { ConfigError } from './errors.js';

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/** Parses "250ms", "10s", "15m", "1h", "2d" (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new ConfigError(`invalid duration "${text}" (expected e.g. 500ms, 10s, 15m, 1h)`);
  const ms = Number(m[1]) * UNITS_MS[m[2] ?? 's']!;
  if (!(ms > 0)) throw new ConfigError(`duration must be positive (got "${text}")`);
  return ms;
}

/**
 * A point in time as the CLI takes it: an ISO time (`2026-11-22T10:00:00Z`), or a duration back
 * from `nowMs` in parseDurationMs's syntax (`90s`, `30m`, `2h`, `1d`) → Unix nanoseconds.
 */
export function parseTimeUnixNs(text: string, nowMs = Date.now()): bigint {
  if (DURATION.test(text)) return BigInt(Math.round(nowMs - parseDurationMs(text))) * 1_000_000n;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ConfigError(`expected an ISO time or a duration like 2h, got "${text}"`);
  return BigInt(ms) * 1_000_000n;
}
