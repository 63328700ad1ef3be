/**
 * OTLP metrics → metric rows: one row per data point. Gauges and sums carry `value`; histograms
 * carry count/sum/buckets. Pure; malformed points are counted and skipped.
 */

import type { ExportMetricsServiceRequestObject, KeyValueObject, MetricObject } from '../otlp/index.js';
import { countMalformed, keyValuesToRecord, resourceColumns, toBigInt, type MalformedCounts, type ResourceColumns } from './attributes.js';

export interface MetricRowIn {
  timeUnixNs: bigint;
  startUnixNs: bigint;
  name: string;
  unit: string;
  kind: 'gauge' | 'sum' | 'histogram';
  value: number | null;
  histCount: bigint | null;
  histSum: number | null;
  bucketCounts: bigint[] | null;
  explicitBounds: number[] | null;
  resource: ResourceColumns;
  attributesJson: string;
}

/** The histogram shape protobufjs produces; src/otlp does not type it because hotspan never sends one. */
interface HistogramPointObject {
  attributes: KeyValueObject[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
}
type MetricWithHistogram = MetricObject & { histogram?: { dataPoints: HistogramPointObject[] } };

export function decodeMetrics(req: ExportMetricsServiceRequestObject): { metrics: MetricRowIn[]; malformed: MalformedCounts } {
  const malformed: MalformedCounts = {};
  const metrics: MetricRowIn[] = [];
  for (const rm of req?.resourceMetrics ?? []) {
    const resource = resourceColumns(keyValuesToRecord(rm?.resource?.attributes));
    for (const sm of rm?.scopeMetrics ?? []) {
      for (const m of (sm?.metrics ?? []) as MetricWithHistogram[]) {
        const common = { name: m?.name ?? '', unit: m?.unit ?? '', resource };
        const numberPoints = m?.gauge?.dataPoints ?? m?.sum?.dataPoints;
        if (numberPoints) {
          const kind = m.gauge ? 'gauge' : 'sum';
          for (const p of numberPoints) {
            const time = toBigInt(p?.timeUnixNano);
            const value = p?.asInt !== undefined && p.asInt !== null ? Number(p.asInt) : p?.asDouble;
            if (time === null || typeof value !== 'number' || Number.isNaN(value)) {
              countMalformed(malformed, 'metrics: data point without an integer time or a number value');
              continue;
            }
            metrics.push({
              ...common,
              kind,
              timeUnixNs: time,
              startUnixNs: toBigInt(p.startTimeUnixNano) ?? 0n,
              value,
              histCount: null,
              histSum: null,
              bucketCounts: null,
              explicitBounds: null,
              attributesJson: JSON.stringify(keyValuesToRecord(p.attributes)),
            });
          }
        } else if (m?.histogram) {
          for (const p of m.histogram.dataPoints ?? []) {
            const time = toBigInt(p?.timeUnixNano);
            const count = toBigInt(p?.count);
            const buckets = (p?.bucketCounts ?? []).map(toBigInt);
            if (time === null || count === null || buckets.some((b) => b === null)) {
              countMalformed(malformed, 'metrics: histogram point with a non-integer time, count or bucket');
              continue;
            }
            metrics.push({
              ...common,
              kind: 'histogram',
              timeUnixNs: time,
              startUnixNs: toBigInt(p.startTimeUnixNano) ?? 0n,
              value: null,
              histCount: count,
              histSum: typeof p.sum === 'number' ? p.sum : null,
              bucketCounts: buckets as bigint[],
              explicitBounds: p.explicitBounds ?? [],
              attributesJson: JSON.stringify(keyValuesToRecord(p.attributes)),
            });
          }
        } else {
          // Exponential histograms and summaries: not stored yet; counted so the gap is visible.
          countMalformed(malformed, 'metrics: unsupported metric type (only gauge, sum, histogram are stored)');
        }
      }
    }
  }
  return { metrics, malformed };
}
