export { runChecks, firstBlocker, effectiveCapabilities, kernelVersion, type CheckResult, type PreflightOptions } from './checks.js';
