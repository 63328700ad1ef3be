export { parseDurationMs } from './duration.js';
export { resolveAgentConfig, parseUiPort, DEFAULT_DATA_DIR, type AgentConfig } from './agent-config.js';
export { parseIntegerOption } from './numbers.js';
