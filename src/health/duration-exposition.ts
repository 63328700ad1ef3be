/**
 * The request-duration histograms (src/tracing/metrics.ts) in Prometheus text 0.0.4 and in
 * OpenMetrics 1.0 text, the latter with exemplars (`# {trace_id="…",span_id="…"} value timestamp`)
 * so a scraper that asks for OpenMetrics can go from a slow bucket to the request's trace.
 * Naming follows the OTel → Prometheus rules: dots become underscores, the unit `s` becomes the
 * `_seconds` suffix; the resource's service.name is a `service_name` label.
 * Written here rather than through prom-client because these histograms are aggregated by the
 * tracing code already (per process, slowest exemplar per bucket); prom-client's registry still
 * renders the agent's own metrics.
 */
import type { HistogramPoint } from '../tracing/types.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export interface ProcessHistograms {
  resource: Record<string, unknown>;
  points: HistogramPoint[];
}

const metricName = (otelName: string) => `${otelName.replace(/[^a-zA-Z0-9_:]/g, '_')}_seconds`;
const labelName = (key: string) => {
  const n = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(n) ? `_${n}` : n;
};
/** Label value escaping shared by both formats: backslash, double quote, newline. */
const escapeValue = (v: unknown) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (x: number) => (Number.isFinite(x) ? String(x) : x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN');

function labels(pairs: Array<[string, unknown]>): string {
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}` : '';
}

/** Renders every histogram; in OpenMetrics without the final `# EOF` (the caller ends the exposition). */
export function renderDurationHistograms(processes: readonly ProcessHistograms[], format: ExpositionFormat): string {
  const byName = new Map<string, Array<{ resource: Record<string, unknown>; p: HistogramPoint }>>();
  for (const { resource, points } of processes) {
    for (const p of points) {
      const list = byName.get(p.name) ?? [];
      list.push({ resource, p });
      byName.set(p.name, list);
    }
  }
  const out: string[] = [];
  for (const [otelName, list] of byName) {
    const name = metricName(otelName);
    out.push(`# HELP ${name} ${otelName} (OTel HTTP semantic conventions), measured by hotspan on the socket.`);
    out.push(`# TYPE ${name} histogram`);
    if (format === 'openmetrics') out.push(`# UNIT ${name} seconds`);
    for (const { resource, p } of list) {
      const base: Array<[string, unknown]> = Object.entries(p.attributes).map(([k, v]) => [labelName(k), v]);
      if (resource['service.name'] !== undefined) base.push(['service_name', resource['service.name']]);
      if (resource['process.pid'] !== undefined) base.push(['process_pid', resource['process.pid']]);
      let cumulative = 0;
      for (let i = 0; i <= p.boundsS.length; i++) {
        cumulative += p.bucketCounts[i] ?? 0;
        const le = i < p.boundsS.length ? num(p.boundsS[i]!) : '+Inf';
        let line = `${name}_bucket${labels([...base, ['le', le]])} ${cumulative}`;
        const ex = format === 'openmetrics' ? p.exemplars.find((e) => e.bucket === i) : undefined;
        if (ex) {
          const ts = (Number(ex.timeUnixNs / 1_000_000n) / 1000).toFixed(3);
          line += ` # ${labels([
            ['trace_id', ex.traceId],
            ['span_id', ex.spanId],
          ])} ${num(ex.valueS)} ${ts}`;
        }
        out.push(line);
      }
      out.push(`${name}_count${labels(base)} ${p.count}`);
      out.push(`${name}_sum${labels(base)} ${num(p.sumS)}`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** OpenMetrics when the scraper lists application/openmetrics-text in Accept (as Prometheus does), else 0.0.4. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};
