/**
 * OTLP: conversions of hotspan data to OTLP messages (opentelemetry-proto v1.10, profiles
 * v1development), the gRPC and file exporters, the embedded receiver, resource detection.
 */
export type * from './types.js';
export { SIGNALS } from './types.js';
export { resolveExporterConfig, parseHeaders, OtlpConfigError } from './config.js';
export type { ExporterConfigInput, ExporterSettings, SignalExporterConfig, Compression } from './config.js';
export { createOtlpExporter } from './exporter.js';
export type { OtlpExporter, ExporterOptions } from './exporter.js';
export type { SignalStats } from './pipeline.js';
export type { BackoffPolicy } from './retry.js';
export { createFileExporter, signalFile } from './file-exporter.js';
export { startOtlpReceiver } from './receiver.js';
export type { OtlpReceiver, ReceiverOptions, ReceiverStats } from './receiver.js';
export { detectResource, detectHostResource, mergeResource, parseResourceAttributes } from './resource.js';
export { profilesToOtlp, ATTR_SPAN_NAME, ATTR_SPAN_ATTRIBUTION, ATTR_SPAN_CANDIDATES } from './convert-profiles.js';
export type { ProfilesToOtlpOptions } from './convert-profiles.js';
export { spansToOtlp, metricsToOtlp, logsToOtlp } from './convert-signals.js';
export { validateProfilesData } from './validate-profiles.js';
export { htlHashOfFile, htlHashOfMapping } from './htlhash.js';
export { attributesOf } from './attributes.js';
export { selfMetricPoints, startSelfMetrics } from './self-metrics.js';
export { encodeRequest, decodeRequest } from './proto-root.js';
export { createInProcessExporter } from './in-process-exporter.js';
