const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "10s", "15m", "1h", "2d" (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 10s, 15m, 1h)`);
  const ms = Number(m[1]) * UNITS_MS[m[2] ?? 's'];
  if (!(ms > 0)) throw new Error(`duration must be positive (got "${text}")`);
  return ms;
}
