/**
 * The agent's JSON API (/api/v1) and web UI (/), reading the live embedded store in-process.
 * The agent constructs it with startApi and stops it with close(); CLI commands use findAgent
 * to read through it while the agent holds the store. Endpoints: README.md, "API and UI".
 */
import type { Store } from '../store/index.js';
import { removeAgentFile, writeAgentFile } from './agent-file.js';
import { DeployLog } from './deploys.js';
import { startApiServer, type ApiServer } from './server.js';

export { DeployLog } from './deploys.js';
export { findAgent, makeClient, AgentApiError, type AgentClient } from './client.js';
export { readAgentFile, AGENT_FILE, type AgentFile } from './agent-file.js';
export { toJson } from './body.js';
export { STORE_PROCEDURES_MODULE } from './store-procedures.js';
export { ApiError, Params, parseTime } from './params.js';
export { profileView, diffView, type ProfileView, type DiffView } from './profile-view.js';
export { stripControl } from './text.js';
export { selectionProfile, modelFromJson, modelToJson, fromNamed, type ModelJson } from './selection.js';

export const DEFAULT_UI_PORT = 7071;
export const DEFAULT_UI_HOST = '127.0.0.1';

export interface ApiOptions {
  host: string;
  port: number;
  token?: string;
  /** The embedded store; undefined when signals go to a remote backend. */
  store: Store | undefined;
  deploys: DeployLog;
  dataDir: string;
  log: (msg: string) => void;
  /** Extra fields for /api/v1/status (sample counts…). */
  status?: () => Record<string, unknown>;
}

export type Api = ApiServer;

export async function startApi(opts: ApiOptions): Promise<Api> {
  // One DuckDB connection runs one query at a time: queue reads instead of interleaving them.
  let tail: Promise<unknown> = Promise.resolve();
  const read = <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const run = tail.then(() => fn(opts.store!));
    tail = run.catch(() => undefined);
    return run;
  };
  const startedUnixMs = Date.now();
  const server = await startApiServer({
    host: opts.host,
    port: opts.port,
    ...(opts.token !== undefined && { token: opts.token }),
    log: opts.log,
    deps: {
      store: opts.store,
      deploys: opts.deploys,
      read,
      now: () => Date.now(),
      status: () => ({ pid: process.pid, startedUnixMs, embeddedStore: opts.store !== undefined, ...(opts.status?.() ?? {}) }),
    },
  });
  try {
    writeAgentFile(opts.dataDir, { pid: process.pid, url: server.url, startedUnixMs });
  } catch (e) {
    opts.log(`api: cannot write ${opts.dataDir}/agent.json (${(e as Error).message}); CLI commands will not find this agent`);
  }
  return {
    ...server,
    async close() {
      removeAgentFile(opts.dataDir, process.pid);
      await server.close();
    },
  };
}
