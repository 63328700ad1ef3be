/** Seeded randomness and case counts for the fuzzers: the same seed gives the same cases in every run. */

/** mulberry32: small, fast, good enough to drive mutations reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FUZZ_SEED = Number(process.env.HOTSPAN_FUZZ_SEED ?? 0x5eed);

/** Cases per fuzzer: `ciCases` by default, HOTSPAN_FUZZ_CASES (e.g. 1000000) on demand. */
export function caseCount(ciCases: number): number {
  const n = Number(process.env.HOTSPAN_FUZZ_CASES ?? '');
  return Number.isInteger(n) && n > 0 ? n : ciCases;
}

export function int(r: () => number, below: number): number {
  return Math.floor(r() * below);
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[int(r, xs.length)]!;
}
