/**
 * The significance tests the diff uses. Both work on sample counts, because sampling
 * noise is a property of counts: 30 samples moving is noise at 3 000 samples, not at 30.
 *
 * - Share of CPU: two-proportion z-test. Under "no change", a frame's share p is the same
 *   on both sides; with pooled p̂ = (x₁+x₂)/(n₁+n₂), z = (x₂/n₂ − x₁/n₁) / √(p̂(1−p̂)(1/n₁+1/n₂)).
 * - CPU seconds per second: Poisson rate test, conditioned on the total — under equal
 *   rates, x₂ ~ Binomial(x₁+x₂, t₂/(t₁+t₂)).
 */

/** Two-sided 0.001 — 3.29 standard errors. */
export const DEFAULT_ALPHA = 0.001;
/** Minimum share change worth reporting: half a percentage point (as a fraction of 1). */
export const DEFAULT_MIN_SHARE_DELTA = 0.005;
/** Minimum CPU-rate change worth reporting: 0.005 CPU-seconds per second (half a percent of a core). */
export const DEFAULT_MIN_RATE_DELTA = 0.005;

/** Two-proportion z statistic for x1 of n1 vs x2 of n2 (positive when side 2 is larger). */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 0;
  const p = (x1 + x2) / (n1 + n2);
  const variance = p * (1 - p) * (1 / n1 + 1 / n2);
  if (variance <= 0) return 0;
  return (x2 / n2 - x1 / n1) / Math.sqrt(variance);
}

/** Poisson rate z statistic: x1 events in t1 vs x2 events in t2 (any time unit). */
export function poissonRateZ(x1: number, t1: number, x2: number, t2: number): number {
  const n = x1 + x2;
  if (n <= 0 || t1 <= 0 || t2 <= 0) return 0;
  const q = t2 / (t1 + t2);
  return (x2 - n * q) / Math.sqrt(n * q * (1 - q));
}

/**
 * |z| threshold for a two-sided test at `alpha`: the inverse normal CDF, by Acklam's
 * rational approximation (relative error < 1.2e-9) — enough for a threshold.
 */
export function zForAlpha(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}; fix: e.g. 0.001`);
  return -inverseNormal(alpha / 2);
}

function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -inverseNormal(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}
