export { DEFAULT_HEALTH_PORT, startHealthServer } from './health-server.js';
export type { HealthServer, HealthServerOptions } from './health-server.js';
