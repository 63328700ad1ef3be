/**
 * The CLI side of the API: find the agent that holds a data directory's store and read through it,
 * so `hotspan spans/profile/flamegraph/diff` work while the agent runs (DuckDB lets one process
 * hold the file).
 */
import { pidAlive, readAgentFile } from './agent-file.js';

export class AgentApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AgentClient {
  url: string;
  pid: number;
  get(path: string, params?: Record<string, string | undefined>): Promise<Buffer>;
  getJson<T>(path: string, params?: Record<string, string | undefined>): Promise<T>;
}

const TIMEOUT_MS = 60_000;

/** The running agent of `dataDir`, when its agent.json names a live process whose API answers. */
export async function findAgent(dataDir: string, token = process.env.HOTSPAN_UI_TOKEN): Promise<AgentClient | undefined> {
  const f = readAgentFile(dataDir);
  if (!f || !pidAlive(f.pid)) return undefined;
  const client = makeClient(f.url, f.pid, token);
  try {
    const s = await client.getJson<{ pid?: number }>('/api/v1/status');
    return s.pid === f.pid ? client : undefined;
  } catch (e) {
    if (e instanceof AgentApiError && e.status === 401) {
      throw new Error(`the agent at ${f.url} wants a token; fix: set HOTSPAN_UI_TOKEN to the agent's token`, { cause: e });
    }
    return undefined;
  }
}

export function makeClient(url: string, pid: number, token?: string): AgentClient {
  const get = async (path: string, params: Record<string, string | undefined> = {}) => {
    const u = new URL(path, url);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    const res = await fetch(u, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = Buffer.from(await res.arrayBuffer());
    if (!res.ok) {
      let msg = body.toString('utf8');
      try {
        msg = (JSON.parse(msg) as { error: { message: string } }).error.message;
      } catch {
        // not our JSON error: keep the text
      }
      throw new AgentApiError(res.status, `agent API ${u.pathname}: ${res.status} ${msg}`);
    }
    return body;
  };
  return {
    url,
    pid,
    get,
    getJson: async <T>(path: string, params?: Record<string, string | undefined>) => JSON.parse((await get(path, params)).toString('utf8')) as T,
  };
}
