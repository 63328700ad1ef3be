import { describe, expect, it } from 'vitest';
import { Metadata, status } from '@grpc/grpc-js';
import { backoffDelayMs, classifyError, DEFAULT_BACKOFF, retryDelayFromMetadata, retryInfoDetails } from '../../../src/otlp/retry.js';

describe('OTLP retry policy', () => {
  it('retries the codes the OTLP spec lists as retryable, never permanent ones', () => {
    for (const code of [status.CANCELLED, status.DEADLINE_EXCEEDED, status.ABORTED, status.OUT_OF_RANGE, status.UNAVAILABLE, status.DATA_LOSS]) {
      expect(classifyError(code, '').kind).toBe('retryable');
    }
    for (const code of [status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.UNIMPLEMENTED, status.INTERNAL]) {
      expect(classifyError(code, '').kind).toBe('failure');
    }
  });

  it('retries RESOURCE_EXHAUSTED only with RetryInfo, honouring its delay', () => {
    expect(classifyError(status.RESOURCE_EXHAUSTED, 'full').kind).toBe('failure');
    const md = new Metadata();
    md.set('grpc-status-details-bin', retryInfoDetails(status.RESOURCE_EXHAUSTED, 'slow down', 2500));
    expect(retryDelayFromMetadata(md)).toBe(2500);
    expect(classifyError(status.RESOURCE_EXHAUSTED, 'slow down', md)).toEqual({
      kind: 'retryable',
      code: status.RESOURCE_EXHAUSTED,
      message: 'slow down',
      retryAfterMs: 2500,
    });
    expect(backoffDelayMs(DEFAULT_BACKOFF, 7, 2500)).toBe(2500);
  });

  it('ignores malformed status details', () => {
    const md = new Metadata();
    md.set('grpc-status-details-bin', Buffer.from([0xff, 0xff, 0xff]));
    expect(retryDelayFromMetadata(md)).toBeUndefined();
  });

  it('backs off exponentially, capped, with jitter within ±50 %', () => {
    const p = { initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, maxElapsedMs: 10_000 };
    expect(backoffDelayMs(p, 1, undefined, () => 0.5)).toBe(100);
    expect(backoffDelayMs(p, 3, undefined, () => 0.5)).toBe(400);
    expect(backoffDelayMs(p, 10, undefined, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(p, 3, undefined, () => 0)).toBe(200);
    expect(backoffDelayMs(p, 3, undefined, () => 0.999)).toBeLessThanOrEqual(600);
  });
});
