/** OTLP logs → log rows. Pure; malformed records are counted and skipped. */

import type { ExportLogsServiceRequestObject } from '../otlp/index.js';
import {
  anyValueToPlain,
  countMalformed,
  idToHex,
  keyValuesToRecord,
  resourceColumns,
  toBigInt,
  type MalformedCounts,
  type ResourceColumns,
} from './attributes.js';

export interface LogRowIn {
  timeUnixNs: bigint;
  observedUnixNs: bigint;
  severityNumber: number;
  severityText: string;
  body: string;
  traceId: string | null;
  spanId: string | null;
  resource: ResourceColumns;
  attributesJson: string;
}

export function decodeLogs(req: ExportLogsServiceRequestObject): { logs: LogRowIn[]; malformed: MalformedCounts } {
  const malformed: MalformedCounts = {};
  const logs: LogRowIn[] = [];
  for (const rl of req?.resourceLogs ?? []) {
    const resource = resourceColumns(keyValuesToRecord(rl?.resource?.attributes));
    for (const sl of rl?.scopeLogs ?? []) {
      for (const r of sl?.logRecords ?? []) {
        const time = toBigInt(r?.timeUnixNano);
        const observed = toBigInt(r?.observedTimeUnixNano) ?? 0n;
        if (time === null) {
          countMalformed(malformed, 'logs: record time is not an integer');
          continue;
        }
        const body = anyValueToPlain(r.body);
        logs.push({
          // The spec lets time be 0 ("unknown"); the observed time is then the best we have.
          timeUnixNs: time !== 0n ? time : observed,
          observedUnixNs: observed,
          severityNumber: r.severityNumber ?? 0,
          severityText: r.severityText ?? '',
          body: typeof body === 'string' ? body : JSON.stringify(body),
          traceId: idToHex(r.traceId),
          spanId: idToHex(r.spanId),
          resource,
          attributesJson: JSON.stringify(keyValuesToRecord(r.attributes)),
        });
      }
    }
  }
  return { logs, malformed };
}
