/**
 * OTel proto enums used by hotspan, by name (opentelemetry-proto trace/v1/trace.proto). The
 * numbers are the wire values; nothing else in the tree spells them.
 */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** Status.StatusCode. */
export const StatusCode = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
} as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/** AggregationTemporality (metrics.proto): hotspan's sums and histograms are cumulative. */
export const AggregationTemporality = {
  UNSPECIFIED: 0,
  DELTA: 1,
  CUMULATIVE: 2,
} as const;
export type AggregationTemporality = (typeof AggregationTemporality)[keyof typeof AggregationTemporality];

/** SeverityNumber (logs.proto), the levels hotspan emits. */
export const SeverityNumber = {
  INFO: 9,
  WARN: 13,
  ERROR: 17,
} as const;
