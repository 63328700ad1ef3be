import { describe, expect, it } from 'vitest';
import { binomialUpperBound } from '../../integration/support/stats.js';

describe('binomialUpperBound (the chance-count bound measuring tests use)', () => {
  it('matches exact binomial tails', () => {
    // Binomial(10, 0.5): P(X > 5) = 0.377, P(X > 4) = 0.623.
    expect(binomialUpperBound(10, 0.5, 0.5)).toBe(5);
    expect(binomialUpperBound(10, 0.5, 0.4)).toBe(5);
    expect(binomialUpperBound(10, 0.5, 0.3)).toBe(6);
    // Binomial(54, 0.1): mean 5.4; P(X > 13) ≈ 0.0007, P(X > 12) ≈ 0.0021.
    expect(binomialUpperBound(54, 0.1, 0.001)).toBe(13);
    expect(binomialUpperBound(20, 0, 0.001)).toBe(0);
    expect(binomialUpperBound(20, 1, 0.001)).toBe(20);
  });

  it('rejects what is not a probability', () => {
    expect(() => binomialUpperBound(10, 1.5, 0.01)).toThrow(RangeError);
    expect(() => binomialUpperBound(10, 0.5, 0)).toThrow(RangeError);
  });
});
