/** OTLP traces → span rows. Pure; malformed spans are counted and skipped. */

import type { ExportTraceServiceRequestObject } from '../otlp/index.js';
import {
  countMalformed,
  idToHex,
  intAttr,
  keyValuesToRecord,
  numberAttr,
  resourceColumns,
  stringAttr,
  toBigInt,
  type MalformedCounts,
  type ResourceColumns,
} from './attributes.js';

export interface SpanRowIn {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startUnixNs: bigint;
  endUnixNs: bigint;
  statusCode: number;
  statusMessage: string;
  resource: ResourceColumns;
  httpRoute: string | null;
  httpMethod: string | null;
  httpStatusCode: number | null;
  cpuTimeS: number | null;
  profileId: string | null;
  attributesJson: string;
}

export function decodeTraces(req: ExportTraceServiceRequestObject): { spans: SpanRowIn[]; malformed: MalformedCounts } {
  const malformed: MalformedCounts = {};
  const spans: SpanRowIn[] = [];
  for (const rs of req?.resourceSpans ?? []) {
    const resource = resourceColumns(keyValuesToRecord(rs?.resource?.attributes));
    for (const ss of rs?.scopeSpans ?? []) {
      for (const s of ss?.spans ?? []) {
        const traceId = idToHex(s?.traceId);
        const spanId = idToHex(s?.spanId);
        const start = toBigInt(s?.startTimeUnixNano);
        const end = toBigInt(s?.endTimeUnixNano);
        if (!traceId || !spanId) {
          countMalformed(malformed, 'traces: span without trace or span id');
          continue;
        }
        if (start === null || end === null) {
          countMalformed(malformed, 'traces: span time is not an integer');
          continue;
        }
        const attrs = keyValuesToRecord(s.attributes);
        spans.push({
          traceId,
          spanId,
          parentSpanId: idToHex(s.parentSpanId) ?? '',
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startUnixNs: start,
          endUnixNs: end,
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? '',
          resource,
          // A framework's route when one was sent, else the route hotspan inferred (spans.ts ATTR_ROUTE_INFERRED).
          httpRoute: stringAttr(attrs, 'http.route') ?? stringAttr(attrs, 'hotspan.http.route_inferred'),
          httpMethod: stringAttr(attrs, 'http.request.method') ?? stringAttr(attrs, 'http.method'),
          httpStatusCode: intAttr(attrs, 'http.response.status_code') ?? intAttr(attrs, 'http.status_code'),
          cpuTimeS: numberAttr(attrs, 'hotspan.cpu.time'),
          profileId: stringAttr(attrs, 'pyroscope.profile.id'),
          attributesJson: JSON.stringify(attrs),
        });
      }
    }
  }
  return { spans, malformed };
}
