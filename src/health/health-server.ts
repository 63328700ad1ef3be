import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTENT_TYPES, negotiateFormat } from './duration-exposition.js';

/**
 * The agent's HTTP endpoints for the kubelet and Prometheus:
 *   GET /healthz  liveness: 200 while the event loop answers and `live()` holds
 *   GET /readyz   readiness: 200 once BPF programs are attached and the exporter works, else 503
 *   GET /metrics  Prometheus text exposition format 0.0.4, or OpenMetrics 1.0 text (with exemplars)
 *                 when the scraper's Accept asks for application/openmetrics-text
 *
 * Port 7070 by default (documented in deploy/README.md): outside the ranges of the
 * Prometheus exporters (9100–9999), the OTLP ports (4317/4318) and the kubelet (10250+).
 */
export const DEFAULT_HEALTH_PORT = 7070;

export interface HealthServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Address to bind; 0.0.0.0 in a pod so the kubelet can reach it. */
  host?: string;
  ready: () => boolean;
  /** Liveness beyond "the event loop answers"; defaults to always live. */
  live?: () => boolean;
  /**
   * Prometheus text exposition, e.g. `() => registry.metrics()` of a prom-client Registry
   * (the well-kept client: escaping, types and default process metrics come with it).
   */
  metrics: () => string | Promise<string>;
  /** OpenMetrics 1.0 text (ending in `# EOF`), served when the scraper asks for it; else `metrics`. */
  openMetrics?: () => string | Promise<string>;
}

export interface HealthServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the endpoint server; rejects with a message naming the port when it is taken. */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => void handle(opts, req, res));
  // A probe that hangs is worse than one that fails: the kubelet's timeout is 1 s by default.
  server.requestTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`health server: port ${opts.port} is already in use; pick another with --health-port or stop the process holding it`)
          : err,
      );
    });
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

async function handle(opts: HealthServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
  }
  try {
    switch (path) {
      case '/healthz': {
        const live = opts.live?.() ?? true;
        return send(res, live ? 200 : 503, 'text/plain; charset=utf-8', live ? 'ok\n' : 'not live\n');
      }
      case '/readyz': {
        const ready = opts.ready();
        return send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n');
      }
      case '/metrics':
        if (opts.openMetrics && negotiateFormat(req.headers.accept) === 'openmetrics') {
          return send(res, 200, CONTENT_TYPES.openmetrics, await opts.openMetrics());
        }
        return send(res, 200, CONTENT_TYPES.prometheus, await opts.metrics());
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found; endpoints: /healthz /readyz /metrics\n');
    }
  } catch (err) {
    // A throwing callback is a bug in the agent, but the probe must still get an answer.
    return send(res, 500, 'text/plain; charset=utf-8', `error: ${(err as Error).message}\n`);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
