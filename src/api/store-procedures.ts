/**
 * The API's heavy reads, run next to the store: in the store's worker thread when the agent runs
 * it there (openStoreWorker's `procedures`), in this thread when a CLI opened the store itself.
 * Merging a 10-minute selection, building its tree and top table, folding, pprof encoding and
 * serialising the JSON all take hundreds of milliseconds on a big profile; on the agent's event
 * loop that would stall sampling, span joins and /healthz. Each returns an encoded Body, so only
 * bytes cross the thread boundary.
 */
import { diff, toFolded } from '../flamegraph/index.js';
import { isStoreWorker, toPprof, type MergeLabel, type MergeQuery, type Store } from '../store/index.js';
import { jsonBody, type Body } from './body.js';
import { diffView, profileView } from './profile-view.js';
import { modelToJson, selectionProfile } from './selection.js';

export type ProfileFormat = 'json' | 'folded' | 'pprof' | 'model';

export interface ProfileRequest {
  query: MergeQuery;
  format: ProfileFormat;
  /** Labels kept in pprof output (span selections keep their span labels). */
  labels: MergeLabel[];
  minShare: number;
  /** Rows of the top-functions table each way (profileView). */
  topLimit: number;
  name: string;
}

export interface DiffRequest {
  base: MergeQuery;
  head: MergeQuery;
  alpha: number;
  top: number;
}

async function profile(store: Store, r: ProfileRequest): Promise<Body> {
  if (r.format === 'pprof') {
    // Exactly what `hotspan profile` writes: the store's own pprof encoding, span labels included.
    const merged = await store.mergeProfile({ ...r.query, labels: r.labels });
    return { type: 'application/octet-stream', body: toPprof(merged), filename: `${r.name}.pb.gz` };
  }
  const prof = await selectionProfile(store, r.query);
  if (r.format === 'model') return jsonBody(modelToJson(prof));
  if (r.format === 'folded') return { type: 'text/plain; charset=utf-8', body: Buffer.from(toFolded(prof)) };
  return jsonBody({ query: r.query, ...profileView(prof, r.minShare, r.topLimit) });
}

async function profileDiff(store: Store, r: DiffRequest): Promise<Body> {
  const base = await selectionProfile(store, r.base);
  const head = await selectionProfile(store, r.head);
  return jsonBody(diffView(base, head, r.top, 1e-4, diff(base, head, { alpha: r.alpha })));
}

/** What the store worker serves besides the Store's own methods (it calls each with its store first). */
export const storeProcedures = { profile, profileDiff };

/** For openStoreWorker: the module the worker loads `storeProcedures` from (this file, .ts or .js). */
export const STORE_PROCEDURES_MODULE = import.meta.url;

/** Runs a procedure in the store's thread when the store lives in a worker, else in this one. */
export function runNextToStore<K extends keyof typeof storeProcedures>(store: Store, name: K, arg: Parameters<(typeof storeProcedures)[K]>[1]): Promise<Body> {
  if (isStoreWorker(store)) return (store as unknown as Record<K, (a: typeof arg) => Promise<Body>>)[name](arg);
  return (storeProcedures[name] as (s: Store, a: typeof arg) => Promise<Body>)(store, arg);
}
