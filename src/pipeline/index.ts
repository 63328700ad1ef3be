/**
 * The node's sample flow: samples → optional span join → per-process windows → sinks, plus the
 * network side that produces the spans. agent/ constructs the sinks and calls start/stop.
 */
export { startNodePipeline, type NodePipeline, type NodePipelineOptions } from './node-pipeline.js';
export { SampleFlow, type SampleFlowOptions, type SampleFlowStats, type SampleJoin, type WindowSink } from './sample-flow.js';
export { JOIN_MAX_DELAY_MS } from './network-spans.js';
export { deployReportSink, type DeployReportSinkOptions } from './deploy-reports.js';
