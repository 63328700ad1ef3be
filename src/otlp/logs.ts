/**
 * Logs, the one place a log record becomes OTLP: hotspan's events (deploy diff reports) → LogRecord
 * → ExportLogsServiceRequest objects. A record that cannot be encoded is skipped and counted.
 */
import { anyValue, groupByResource, idBytes, keyValues, MalformedRecordError, nanos, tryEach, type Converted } from './attributes.js';
import { SeverityNumber } from './enums.js';
import { hotspanScope } from './scope.js';
import type { ExportLogsServiceRequestObject, LogRecord, LogRecordObject } from './types.js';

/** What a deploy diff report (src/flamegraph's DeployDiffReport) carries into its log record. */
export interface DeployReportFields {
  service: string;
  fromVersion: string;
  toVersion: string;
  deployedAtUnixNs: bigint;
  /** Biggest regression first. */
  regressions: ReadonlyArray<{ name: string; deltaSelfShare: number }>;
  improvements: ReadonlyArray<unknown>;
  /** The rendered report: the record's body. */
  text: string;
}

/**
 * The report as an OTLP log record (severity INFO, or WARN when something regressed), with
 * the top regression in attributes so backends can alert on it without parsing the body.
 * `resource` adds attributes (host, cluster) but never renames the service: the record is
 * about the deployed service and files under it, as that service's profiles do.
 */
export function deployReportToLogRecord(r: DeployReportFields, resource: Record<string, string | number | boolean> = {}): LogRecord {
  const top = r.regressions[0];
  const attributes: Record<string, string | number | boolean> = {
    'event.name': 'hotspan.deploy.diff',
    'service.name': r.service,
    'hotspan.deploy.from_version': r.fromVersion,
    'hotspan.deploy.to_version': r.toVersion,
    'hotspan.deploy.regressions': r.regressions.length,
    'hotspan.deploy.improvements': r.improvements.length,
  };
  if (top) {
    attributes['hotspan.deploy.top_regression.function'] = top.name;
    attributes['hotspan.deploy.top_regression.delta_self_share'] = top.deltaSelfShare;
  }
  return {
    timeUnixNs: r.deployedAtUnixNs,
    severityNumber: r.regressions.length > 0 ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: r.regressions.length > 0 ? 'WARN' : 'INFO',
    body: r.text,
    attributes,
    resource: { ...resource, 'service.name': r.service },
  };
}

export function logObject(r: LogRecord): LogRecordObject {
  if (!Number.isInteger(r.severityNumber) || r.severityNumber < 0 || r.severityNumber > 24) {
    throw new MalformedRecordError(`log severityNumber ${r.severityNumber} is outside 0..24`);
  }
  return {
    timeUnixNano: nanos(r.timeUnixNs, 'timeUnixNs'),
    observedTimeUnixNano: nanos(r.observedUnixNs ?? r.timeUnixNs, 'observedUnixNs'),
    severityNumber: r.severityNumber,
    severityText: r.severityText ?? '',
    body: anyValue(r.body),
    attributes: keyValues(r.attributes),
    droppedAttributesCount: 0,
    flags: 0,
    traceId: idBytes(r.traceId, 16, 'traceId'),
    spanId: idBytes(r.spanId, 8, 'spanId'),
    eventName: '',
  };
}

export function logsToOtlp(records: LogRecord[]): Converted<ExportLogsServiceRequestObject> {
  const errors: string[] = [];
  const resourceLogs = [...groupByResource(records).values()].map((g) => ({
    resource: { attributes: keyValues(g.resource), droppedAttributesCount: 0 },
    scopeLogs: [{ scope: hotspanScope(), logRecords: tryEach(g.items, logObject, errors), schemaUrl: '' }],
    schemaUrl: '',
  }));
  return { request: { resourceLogs }, malformed: errors.length, firstError: errors[0] };
}
