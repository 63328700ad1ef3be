export { parseDurationMs } from './duration.js';
export { resolveAgentConfig, parseUiPort, parseUnwindMode, DEFAULT_DATA_DIR, type AgentConfig, type UnwindMode } from './agent-config.js';
export { parseIntegerOption } from './numbers.js';
