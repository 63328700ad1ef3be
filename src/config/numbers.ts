import { ConfigError } from './errors.js';

/** Parses an integer command-line/env value, naming the option when it is not one. */
export function parseIntegerOption(option: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${option} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return n;
}

/** perf_event sampling rate bounds: above 10 kHz per CPU the sampler costs more than it tells. */
export const MIN_FREQUENCY_HZ = 1;
export const MAX_FREQUENCY_HZ = 10_000;

/**
 * The sampling frequency, from a flag, HOTSPAN_FREQUENCY or the config file: the one check
 * and the one message, whichever way it came in.
 */
export function parseFrequencyHz(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < MIN_FREQUENCY_HZ || n > MAX_FREQUENCY_HZ) {
    throw new ConfigError(`frequency must be an integer between ${MIN_FREQUENCY_HZ} and ${MAX_FREQUENCY_HZ} Hz (got ${JSON.stringify(value)})`);
  }
  return n;
}
