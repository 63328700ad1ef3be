/**
 * Honest bounds for tests that count chance events (issue: a measuring test must hold on a loaded
 * host without becoming unable to fail).
 */

/**
 * The smallest k with P(X > k) ≤ `tail` for X ~ Binomial(n, p): how many of n independent trials
 * may land past a bound that each trial crosses with probability p, before the count itself is
 * evidence that something is wrong (and not chance) at the `tail` level.
 */
export function binomialUpperBound(n: number, p: number, tail: number): number {
  if (!(n >= 0) || !(p >= 0 && p <= 1) || !(tail > 0 && tail < 1)) throw new RangeError(`binomialUpperBound(${n}, ${p}, ${tail})`);
  if (p === 0) return 0;
  if (p === 1) return n;
  // P(X = k) in log space: lgamma-free, by the ratio of consecutive terms.
  let logPk = n * Math.log1p(-p);
  let cdf = Math.exp(logPk);
  for (let k = 0; k < n; k++) {
    if (1 - cdf <= tail) return k;
    logPk += Math.log((n - k) / (k + 1)) + Math.log(p) - Math.log1p(-p);
    cdf += Math.exp(logPk);
  }
  return n;
}
