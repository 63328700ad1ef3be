/**
 * Low-cardinality route from a request path, for span names and metric attributes: segments that
 * look like identifiers (all digits, UUIDs, long hex strings) become `{id}`, so `/users/42` and
 * `/users/43` share one route. Only structure is guessed, never a framework's route table.
 */

const NUMERIC = /^-?\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 16+ hex chars: object ids (24), hashes (32/40/64), trace ids. Needs a digit to spare words. */
const LONG_HEX = /^(?=.*\d)[0-9a-f]{16,}$/i;

/** Longest route kept; longer paths are cut so a hostile path cannot blow up label storage. */
const MAX_ROUTE_CHARS = 256;

export function splitPathQuery(target: string): { path: string; query?: string } {
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  const end = hash === -1 ? target.length : hash;
  if (q === -1 || q > end) return { path: target.slice(0, end) };
  return { path: target.slice(0, q), query: target.slice(q + 1, end) };
}

/** Path for a record: query dropped unless `keepQuery`; absolute-form targets reduced to the path. */
export function recordPath(target: string, keepQuery: boolean): string {
  // Origin-form without query or fragment, the common case: nothing to strip.
  if (target.charCodeAt(0) === 0x2f && target.indexOf('?') < 0 && target.indexOf('#') < 0) return target;
  let t = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (scheme) t = t.slice(scheme[0].length) || '/';
  const { path, query } = splitPathQuery(t);
  return keepQuery && query !== undefined ? `${path}?${query}` : path;
}

/**
 * Paths repeat: routes are cached, least recently used first out, bounded in bytes (a remote
 * client choosing paths must not grow it: long or unique paths only cost misses).
 */
export const MAX_ROUTE_CACHE_BYTES = 1024 * 1024;
/** Paths longer than this are never cached (computed each time): they are rarely repeated. */
export const MAX_CACHED_PATH_CHARS = 512;
/** Retained bytes per cache entry besides its two strings (Map entry, string headers). */
const ROUTE_ENTRY_OVERHEAD_BYTES = 64;

const routeCache = new Map<string, string>();
let routeCacheBytes = 0;
let routeCacheEvictions = 0;

export interface RouteCacheStats {
  entries: number;
  /** Bytes the cache retains by its accounting (strings + per-entry overhead). */
  bytes: number;
  maxBytes: number;
  /** Entries dropped because the cache was full (the bound was hit). */
  evictions: number;
}

export function routeCacheStats(): RouteCacheStats {
  return { entries: routeCache.size, bytes: routeCacheBytes, maxBytes: MAX_ROUTE_CACHE_BYTES, evictions: routeCacheEvictions };
}

const entryBytes = (path: string, route: string): number => path.length + route.length + ROUTE_ENTRY_OVERHEAD_BYTES;

export function routeOf(target: string): string {
  const hit = routeCache.get(target);
  if (hit !== undefined) {
    // Map keeps insertion order: re-inserting makes this the most recently used.
    routeCache.delete(target);
    routeCache.set(target, hit);
    return hit;
  }
  const route = computeRoute(target);
  if (target.length > MAX_CACHED_PATH_CHARS) return route;
  routeCache.set(target, route);
  routeCacheBytes += entryBytes(target, route);
  while (routeCacheBytes > MAX_ROUTE_CACHE_BYTES) {
    const [oldPath, oldRoute] = routeCache.entries().next().value as [string, string];
    routeCache.delete(oldPath);
    routeCacheBytes -= entryBytes(oldPath, oldRoute);
    routeCacheEvictions++;
  }
  return route;
}

function computeRoute(target: string): string {
  const { path } = splitPathQuery(target);
  if (path === '*' || path === '') return path || '/';
  const route = path
    .split('/')
    .map((seg) => (NUMERIC.test(seg) || UUID.test(seg) || LONG_HEX.test(seg) ? '{id}' : seg))
    .join('/');
  return route.length > MAX_ROUTE_CHARS ? route.slice(0, MAX_ROUTE_CHARS) : route;
}
