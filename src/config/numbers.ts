/** Parses an integer command-line/env value, naming the option when it is not one. */
export function parseIntegerOption(option: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`${option} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return n;
}
