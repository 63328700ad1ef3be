// `hotspan spans --slowest 20 [--service S] [--since 15m]`: the slowest recent SERVER spans in
// the local store, with the CPU time sampled while each request was handled.
import { Command } from 'commander';
import { DEFAULT_DATA_DIR, parseDurationMs, parseIntegerOption } from '../../src/config/index.js';
import { stripControl } from '../../src/api/text.js';
import type { SpanRow } from '../../src/store/index.js';
import { runAction } from './common.js';
import { agentFor, openStore } from './store-access.js';

interface SpansCliOptions {
  slowest: string;
  service?: string;
  since: string;
  dataDir?: string;
  json?: boolean;
}

const ms = (ns: bigint) => Number(ns) / 1e6;
/** OTel SpanKind SERVER: the spans that carry the CPU join. */
const SPAN_KIND_SERVER = 2;

/** One line per span: duration, CPU, CPU share of the duration, name, service, ids. */
export function formatSpanTable(rows: readonly SpanRow[]): string {
  const head = ['DURATION', 'CPU', 'CPU%', 'NAME', 'SERVICE', 'TRACE ID', 'SPAN ID'];
  const lines = rows.map((r) => {
    const cpuMs = r.cpuTimeS === null ? undefined : r.cpuTimeS * 1000;
    const durMs = ms(r.durationNs);
    return [
      `${durMs.toFixed(1)}ms`,
      cpuMs === undefined ? '-' : `${cpuMs.toFixed(1)}ms`,
      cpuMs === undefined || durMs === 0 ? '-' : `${Math.round((100 * cpuMs) / durMs)}%`,
      // Span names are `{method}` (semconv); the route, framework's or inferred, goes beside it here.
      stripControl(r.httpRoute && !r.name.includes(' ') && !r.name.includes('/') ? `${r.name} ${r.httpRoute}` : r.name),
      stripControl(r.service) || '-',
      r.traceId,
      r.spanId,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** SERVER spans only: a traced client's span of the same request would list it twice. */
async function slowestServerSpans(dataDir: string | undefined, q: { limit: number; sinceUnixNs: bigint; service?: string }): Promise<SpanRow[]> {
  const agent = await agentFor(dataDir);
  if (agent) {
    const r = await agent.getJson<{ spans: Record<string, unknown>[] }>('/api/v1/spans', {
      limit: String(q.limit),
      since: q.sinceUnixNs.toString(),
      service: q.service,
    });
    // Same rows, same key order as the store's; the three ns times come back as bigints.
    return r.spans.map(
      (s) =>
        ({
          ...s,
          startUnixNs: BigInt(s.startUnixNs as string),
          endUnixNs: BigInt(s.endUnixNs as string),
          durationNs: BigInt(s.durationNs as string),
        }) as unknown as SpanRow,
    );
  }
  const store = await openStore(dataDir);
  try {
    return await store.slowestSpans({ ...q, kind: SPAN_KIND_SERVER });
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  program
    .command('spans')
    .description('list the slowest recent spans from the local store, with the CPU time sampled during each')
    .option('--slowest <n>', 'how many spans', '20')
    .option('--service <name>', 'only spans of this service (service.name)')
    .option('--since <duration>', 'how far back, e.g. 15m, 2h', '15m')
    .option('--data-dir <dir>', `the agent's data directory (default ${DEFAULT_DATA_DIR})`)
    .option('--json', 'one JSON object per line instead of a table')
    .action(
      runAction('spans', async (opts: SpansCliOptions) => {
        const limit = parseIntegerOption('--slowest', opts.slowest, 1, 10_000);
        const sinceMs = parseDurationMs(opts.since);
        const sinceUnixNs = BigInt(Date.now() - sinceMs) * 1_000_000n;
        const rows = await slowestServerSpans(opts.dataDir, { limit, sinceUnixNs, ...(opts.service !== undefined && { service: opts.service }) });
        if (opts.json) {
          // JSON escapes control characters itself (\u001b), so --json needs no stripping.
          for (const r of rows) process.stdout.write(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
        } else if (rows.length === 0) {
          process.stderr.write(stripControl(`hotspan spans: no spans in the last ${opts.since}${opts.service ? ` for service ${opts.service}` : ''}\n`));
        } else {
          process.stdout.write(formatSpanTable(rows));
        }
      }),
    );
}
