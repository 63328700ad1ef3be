/**
 * OTLP: conversions of hotspan data to OTLP messages (opentelemetry-proto v1.10, profiles
 * v1development), the gRPC and file exporters, the embedded receiver, resource detection.
 */
export type * from './types.js';
export { SIGNALS } from './types.js';
export { SpanKind, StatusCode, AggregationTemporality, SeverityNumber } from './enums.js';
export { spanRecordOf, spansToOtlp } from './traces.js';
export { flowMetricPoints, durationMetricPoints, metricsToOtlp } from './metrics.js';
export { deployReportToLogRecord, logsToOtlp } from './logs.js';
export { resolveExporterConfig, parseHeaders, OtlpConfigError } from './config.js';
export type { ExporterConfigInput, ExporterSettings, SignalExporterConfig, Compression } from './config.js';
export { createOtlpExporter } from './exporter.js';
export type { OtlpExporter, ExporterOptions } from './exporter.js';
export type { SignalStats } from './pipeline.js';
export type { BackoffPolicy } from './retry.js';
export { createFileExporter, signalFile } from './file-exporter.js';
export { startOtlpReceiver } from './receiver.js';
export type { OtlpReceiver, ReceiverOptions, ReceiverStats } from './receiver.js';
export { processResourceAttributes, commandName } from './process-attributes.js';
export { profilesToOtlp, ATTR_SPAN_NAME, ATTR_SPAN_ATTRIBUTION, ATTR_SPAN_CANDIDATES } from './convert-profiles.js';
export type { ProfilesToOtlpOptions } from './convert-profiles.js';
export { validateProfilesData } from './validate-profiles.js';
export { htlHashOfFile, htlHashOfMapping } from './htlhash.js';
export { attributesOf } from './attributes.js';
export { selfMetricPoints, startSelfMetrics } from './self-metrics.js';
export { encodeRequest, decodeRequest } from './proto-root.js';
export { createInProcessExporter } from './in-process-exporter.js';
