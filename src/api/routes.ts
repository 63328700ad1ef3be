/**
 * The /api/v1 endpoints. Each handler validates its parameters (Params), runs store queries
 * through `read` (one at a time on the store's read connection) and returns a JSON-able value,
 * or a Body already encoded (the profile and diff views, built next to the store).
 */
import { parseSelector, selectorToQuery } from '../flamegraph/index.js';
import type { MergeLabel, MergeQuery, Store } from '../store/index.js';
import type { DeployLog } from './deploys.js';
import { ApiError, badRequest, checkSpanId, notFound, Params } from './params.js';
import { DEFAULT_TOP_LIMIT, diffView } from './profile-view.js';
import { runNextToStore } from './store-procedures.js';

export interface RouteDeps {
  /** The agent's embedded store; undefined when every signal goes to a remote backend. */
  store: Store | undefined;
  deploys: DeployLog;
  /** Runs store reads one at a time. */
  read<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  status(): Record<string, unknown>;
  now(): number;
}

type Handler = (deps: RouteDeps, q: URLSearchParams, arg: string) => Promise<unknown>;

const DEFAULT_RANGE = '15m';
const MAX_LIMIT = 10_000;

function range(p: Params, now: number, fromKey = 'from', toKey = 'to', dflt = DEFAULT_RANGE): { fromUnixNs: bigint; toUnixNs: bigint } {
  const fromUnixNs = p.time(fromKey, now) ?? BigInt(now - parseMs(dflt)) * 1_000_000n;
  const toUnixNs = p.time(toKey, now) ?? BigInt(now + 1000) * 1_000_000n;
  if (toUnixNs <= fromUnixNs) throw badRequest(`"${toKey}" must be after "${fromKey}"`);
  return { fromUnixNs, toUnixNs };
}

const parseMs = (d: string) => ({ m: 60_000, h: 3_600_000 })[d.slice(-1) as 'm' | 'h'] * Number(d.slice(0, -1));

function needStore(deps: RouteDeps): Store {
  if (!deps.store) {
    throw new ApiError(503, 'NO_LOCAL_STORE', 'this agent sends its data to a remote OTLP backend and keeps no local store; query that backend');
  }
  return deps.store;
}

const services: Handler = async (deps, q) => {
  const p = new Params(q, ['from', 'to', 'since']);
  needStore(deps);
  const r = range(p, deps.now(), q.has('since') ? 'since' : 'from');
  const rows = await deps.read((s) => s.serviceSummaries(r));
  return { from: r.fromUnixNs, to: r.toUnixNs, services: rows };
};

const spans: Handler = async (deps, q) => {
  const p = new Params(q, ['service', 'since', 'until', 'limit', 'status', 'route']);
  needStore(deps);
  const now = deps.now();
  const sinceUnixNs = p.time('since', now) ?? BigInt(now - parseMs(DEFAULT_RANGE)) * 1_000_000n;
  const untilUnixNs = p.time('until', now);
  const status = p.oneOf('status', ['error', 'ok', 'any'] as const, 'any');
  const query = {
    limit: p.int('limit', 1, MAX_LIMIT, 20)!,
    sinceUnixNs,
    ...(untilUnixNs !== undefined && { untilUnixNs }),
    ...(p.text('service') !== undefined && { service: p.text('service')! }),
    ...(p.text('route') !== undefined && { route: p.text('route')! }),
    ...(status !== 'any' && { status }),
  };
  const rows = await deps.read((s) => s.listSpans(query));
  return { spans: rows };
};

const span: Handler = async (deps, q, arg) => {
  new Params(q, []);
  needStore(deps);
  const id = checkSpanId(arg);
  const found = await deps.read((s) => s.spanById(id));
  const one = found[0];
  if (!one) throw notFound(`no span ${id} in this node's store (older than retention, or not seen here)`);
  const trace = await deps.read((s) => s.traceSpans(one.traceId));
  return { span: one, trace };
};

/** The store query a profile request stands for; span/trace selections carry span labels in pprof. */
function profileQuery(p: Params, now: number): { query: MergeQuery; labels: MergeLabel[] } {
  const spanId = p.spanId('span_id');
  const traceId = p.traceId('trace_id');
  const query: MergeQuery = {};
  const service = p.text('service');
  const version = p.text('version');
  const pid = p.int('pid', 1, 2 ** 22);
  if (service !== undefined) query.service = service;
  if (version !== undefined) query.version = version;
  if (pid !== undefined) query.pid = pid;
  if (spanId !== undefined) query.spanId = spanId;
  if (traceId !== undefined) query.traceId = traceId;
  const from = p.time('from', now);
  const to = p.time('to', now);
  if (from !== undefined) query.fromUnixNs = from;
  if (to !== undefined) query.toUnixNs = to;
  // A span or trace selects itself; anything else is bounded in time (default: the last 15 min).
  if (spanId === undefined && traceId === undefined && from === undefined) query.fromUnixNs = BigInt(now - parseMs(DEFAULT_RANGE)) * 1_000_000n;
  if (query.fromUnixNs !== undefined && query.toUnixNs !== undefined && query.toUnixNs <= query.fromUnixNs) throw badRequest('"to" must be after "from"');
  const labels: MergeLabel[] = spanId !== undefined || traceId !== undefined ? ['traceId', 'spanId', 'spanName'] : [];
  return { query, labels };
}

/** Samples of a span lie inside its time; a margin covers clock rounding between the two sources. */
const SPAN_MARGIN_NS = 2_000_000_000n;

/**
 * A span or trace selection without a time range gets the range of its spans: same samples, but
 * the store's zone maps then skip everything else instead of scanning every sample's span id.
 */
async function boundBySpans(deps: RouteDeps, query: MergeQuery): Promise<void> {
  if (query.fromUnixNs !== undefined || query.toUnixNs !== undefined) return;
  if (query.spanId === undefined && query.traceId === undefined) return;
  const spans = await deps.read((s) => (query.spanId !== undefined ? s.spanById(query.spanId) : s.traceSpans(query.traceId!, 100_000)));
  if (spans.length === 0) return; // samples without a stored span: scan (rare, and still correct)
  let from = spans[0]!.startUnixNs;
  let to = spans[0]!.endUnixNs;
  for (const s of spans) {
    if (s.startUnixNs < from) from = s.startUnixNs;
    if (s.endUnixNs > to) to = s.endUnixNs;
  }
  query.fromUnixNs = from - SPAN_MARGIN_NS;
  query.toUnixNs = to + SPAN_MARGIN_NS;
}

const profile: Handler = async (deps, q) => {
  const p = new Params(q, ['service', 'version', 'pid', 'from', 'to', 'span_id', 'trace_id', 'format', 'min_share', 'top']);
  needStore(deps);
  const format = p.oneOf('format', ['json', 'folded', 'pprof', 'model'] as const, 'json')!;
  const minShare = Number(p.text('min_share') ?? '0.0001');
  if (!(minShare >= 0 && minShare <= 1)) throw badRequest(`parameter "min_share" must be a fraction from 0 to 1`);
  const topLimit = p.int('top', 1, 1_000_000, DEFAULT_TOP_LIMIT)!;
  const { query, labels } = profileQuery(p, deps.now());
  await boundBySpans(deps, query);
  const name = query.spanId ? `span-${query.spanId}` : query.traceId ? `trace-${query.traceId}` : `profile-${Date.now()}`;
  return deps.read((s) => runNextToStore(s, 'profile', { query, format, labels, minShare, topLimit, name }));
};

/** A diff side: a selector (`service=checkout,version=2`, as `hotspan diff` takes) over a range. */
function side(name: string, selector: string | undefined, r: { fromUnixNs?: bigint; toUnixNs?: bigint }): MergeQuery {
  if (selector === undefined) throw badRequest(`parameter "${name}" is required: a selector such as service=checkout,version=1.4.2`);
  try {
    return selectorToQuery(parseSelector(selector), r);
  } catch (e) {
    throw badRequest(`parameter "${name}": ${(e as Error).message}`);
  }
}

const diffRoute: Handler = async (deps, q) => {
  const p = new Params(q, ['base', 'head', 'from', 'to', 'base_from', 'base_to', 'head_from', 'head_to', 'alpha', 'top']);
  needStore(deps);
  const now = deps.now();
  const alpha = Number(p.text('alpha') ?? '0.001');
  if (!(alpha > 0 && alpha < 1)) throw badRequest('parameter "alpha" must be between 0 and 1');
  const top = p.int('top', 1, 1000, 20)!;
  const rangeOf = (prefix: string) => {
    const from = p.time(`${prefix}_from`, now) ?? p.time('from', now) ?? BigInt(now - parseMs('1h')) * 1_000_000n;
    const to = p.time(`${prefix}_to`, now) ?? p.time('to', now);
    return to === undefined ? { fromUnixNs: from } : { fromUnixNs: from, toUnixNs: to };
  };
  const base = side('base', p.text('base'), rangeOf('base'));
  const head = side('head', p.text('head'), rangeOf('head'));
  return deps.read((s) => runNextToStore(s, 'profileDiff', { base, head, alpha, top }));
};

const deploys: Handler = async (deps, q) => {
  new Params(q, []);
  return {
    deploys: deps.deploys.list().map(({ id, report: r }) => ({
      id,
      service: r.service,
      fromVersion: r.fromVersion,
      toVersion: r.toVersion,
      deployedAtUnixNs: r.deployedAtUnixNs,
      baseSamples: r.diff.base.samples,
      headSamples: r.diff.head.samples,
      regressions: r.regressions,
      improvements: r.improvements,
      text: r.text,
    })),
  };
};

const deploy: Handler = async (deps, q, arg) => {
  new Params(q, []);
  const e = deps.deploys.get(arg);
  if (!e) throw notFound(`no deploy ${arg.slice(0, 40)} (the agent keeps the newest 50; text reports of all are in <data-dir>/reports)`);
  const r = e.report;
  return {
    id: e.id,
    service: r.service,
    fromVersion: r.fromVersion,
    toVersion: r.toVersion,
    deployedAtUnixNs: r.deployedAtUnixNs,
    ...diffView(r.base, r.head, r.regressions.length || 20, 1e-4, r.diff),
    regressions: r.regressions,
    improvements: r.improvements,
  };
};

const flows: Handler = async (deps, q) => {
  const p = new Params(q, ['since', 'until']);
  needStore(deps);
  const r = range(p, deps.now(), 'since', 'until');
  const series = await deps.read((s) => s.flowSummary(r));
  const sum = (pred: (x: (typeof series)[number]) => boolean) => series.filter(pred);
  return {
    from: r.fromUnixNs,
    to: r.toUnixNs,
    // Bytes per process and peer (both directions), connections that did not open cleanly, retransmits.
    talkers: sum((x) => x.metric === 'hotspan.network.flow.bytes').slice(0, 200),
    failedConnects: sum((x) => x.metric === 'hotspan.network.flow.connections' && ['refused', 'timed_out', 'reset', 'error'].includes(x.outcome)).slice(0, 200),
    connections: sum((x) => x.metric === 'hotspan.network.flow.connections').slice(0, 200),
    retransmits: sum((x) => x.metric === 'hotspan.network.flow.retransmits').slice(0, 200),
  };
};

const status: Handler = async (deps, q) => {
  new Params(q, []);
  return deps.status();
};

/** Path → handler; `:arg` is one path segment handed to the handler. */
export const ROUTES: { pattern: RegExp; handler: Handler }[] = [
  { pattern: /^\/api\/v1\/status$/, handler: status },
  { pattern: /^\/api\/v1\/services$/, handler: services },
  { pattern: /^\/api\/v1\/spans$/, handler: spans },
  { pattern: /^\/api\/v1\/spans\/([^/]+)$/, handler: span },
  { pattern: /^\/api\/v1\/profile$/, handler: profile },
  { pattern: /^\/api\/v1\/diff$/, handler: diffRoute },
  { pattern: /^\/api\/v1\/deploys$/, handler: deploys },
  { pattern: /^\/api\/v1\/deploys\/([^/]+)$/, handler: deploy },
  { pattern: /^\/api\/v1\/flows$/, handler: flows },
];
