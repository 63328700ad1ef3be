export { parseDurationMs, parseTimeUnixNs } from './duration.js';
export { resolveAgentConfig, parseUiPort, parseUnwindMode, DEFAULT_DATA_DIR, type AgentConfig, type UnwindMode } from './agent-config.js';
export { parseIntegerOption, parseFrequencyHz, MIN_FREQUENCY_HZ, MAX_FREQUENCY_HZ } from './numbers.js';
export { ConfigError } from './errors.js';
