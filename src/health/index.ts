export { DEFAULT_HEALTH_PORT, startHealthServer } from './health-server.js';
export type { HealthServer, HealthServerOptions } from './health-server.js';
export { renderDurationHistograms, negotiateFormat, CONTENT_TYPES } from './duration-exposition.js';
export type { ExpositionFormat, ProcessHistograms } from './duration-exposition.js';
