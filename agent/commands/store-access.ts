// Read-side commands reach the store one of two ways, with the same answers: through the running
// agent's API when an agent holds the data directory (DuckDB lets one process open the file), or
// by opening the store directly when none does.
// Module by module, not src/api/index.js: that one loads the server and DuckDB.
import { findAgent, type AgentClient } from '../../src/api/client.js';
import { modelFromJson, selectionProfile, type ModelJson } from '../../src/api/selection.js';
import { stripControl } from '../../src/api/text.js';
import { InputError, loadInput, parseInput, selectorToQuery, type LoadOptions, type Profile } from '../../src/flamegraph/index.js';
import type { MergeQuery, Store } from '../../src/store/index.js';
import { dataDirOf, storeDir } from './common.js';

/** The agent serving `dataDir`, if one runs and its API answers. */
export function agentFor(dataDir: string | undefined): Promise<AgentClient | undefined> {
  return findAgent(dataDirOf(dataDir));
}

/** Opens the store directly; a lock held by an agent whose API is off gets an error saying so. */
export async function openStore(dataDir: string | undefined): Promise<Store> {
  const { Store, StoreError } = await import('../../src/store/index.js'); // DuckDB: only when needed
  try {
    return await Store.open({ dataDir: storeDir(dataDir), retentionIntervalMs: 0 });
  } catch (e) {
    if (e instanceof StoreError && e.code === 'STORE_LOCKED') {
      throw new Error(
        `${e.message}. A running agent normally answers through its API (see \`hotspan ui\`); this one does not ` +
          `(started with --ui-port 0, an older version, or a token: set HOTSPAN_UI_TOKEN)`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** MergeQuery → the API's profile parameters. */
export function queryParams(q: MergeQuery): Record<string, string | undefined> {
  return {
    service: q.service,
    version: q.version,
    pid: q.pid?.toString(),
    span_id: q.spanId,
    trace_id: q.traceId,
    from: q.fromUnixNs?.toString(),
    to: q.toUnixNs?.toString(),
  };
}

/**
 * One CLI profile input: a file, or a selector run against the store (through the agent when one
 * holds it). Both store paths build the profile with selectionProfile, so they agree exactly.
 */
export async function loadCliInput(arg: string, opts: LoadOptions & { dataDir?: string }, agent: AgentClient | undefined): Promise<Profile> {
  const spec = parseInput(arg);
  if (spec.kind === 'file') return loadInput(arg, opts);
  const range: { fromUnixNs?: bigint; toUnixNs?: bigint } = {};
  if (opts.fromUnixNs !== undefined) range.fromUnixNs = opts.fromUnixNs;
  if (opts.toUnixNs !== undefined) range.toUnixNs = opts.toUnixNs;
  let query: MergeQuery;
  try {
    query = selectorToQuery(spec.selector, range);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  // Without a range the API would default to its last 15 minutes; the store path has no default: ask for all.
  const params = queryParams(query);
  if (params.from === undefined) params.from = '0';
  let p: Profile;
  if (agent) {
    p = modelFromJson(await agent.getJson<ModelJson>('/api/v1/profile', { ...params, format: 'model' }));
  } else {
    const store = await openStore(opts.dataDir);
    try {
      p = await selectionProfile(store, query);
    } finally {
      await store.close();
    }
  }
  if (p.stacks.length === 0) {
    throw new InputError(
      `selector "${stripControl(arg)}" matched no CPU samples in ${storeDir(opts.dataDir)}; fix: check the service/version names and --since/--until, or that the agent ran`,
    );
  }
  return p;
}
