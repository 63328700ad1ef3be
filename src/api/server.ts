/**
 * The agent's HTTP server: /api/v1 (JSON, optional bearer token) and the web UI at /. Loopback by
 * default; the Host header must name this server (a web page elsewhere cannot reach it through
 * DNS rebinding), and only GET/HEAD are served.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './params.js';
import { JSON_TYPE, toJson, type Body } from './body.js';
import { ROUTES, type RouteDeps } from './routes.js';
import { loadAssets, SECURITY_HEADERS, type Asset } from './static.js';

export interface ApiServerOptions {
  host: string;
  port: number;
  /** When set, /api/ requests must send `Authorization: Bearer <token>`. */
  token?: string;
  deps: RouteDeps;
  log: (msg: string) => void;
  /** ui/ directory override (tests). */
  assets?: Map<string, Asset>;
}

export interface ApiServer {
  port: number;
  host: string;
  url: string;
  close(): Promise<void>;
}

/** bigint → decimal string: JSON has no 64-bit integers, and ids and ns times need all their digits. */
function send(res: ServerResponse, status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, JSON_TYPE, toJson({ error: { code, message } }));
}

function hostAllowed(hostHeader: string | undefined, bindHost: string): boolean {
  if (!hostHeader) return false;
  const name = hostHeader
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (name === 'localhost' || name === '127.0.0.1' || name === '::1') return true;
  // Bound to a non-loopback address on purpose: the operator chose who may connect.
  return !['127.0.0.1', '::1', 'localhost'].includes(bindHost);
}

function tokenOk(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const assets = opts.assets ?? loadAssets();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'METHOD', 'only GET is served');
    if (!hostAllowed(req.headers.host, opts.host)) return sendError(res, 421, 'HOST', 'Host header must name this server (localhost)');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, 400, 'BAD_REQUEST', 'unparseable request URL');
    }
    if (!url.pathname.startsWith('/api/')) {
      const asset = assets.get(url.pathname);
      if (asset) return send(res, 200, asset.type, asset.body);
      if (url.pathname === '/') return sendError(res, 404, 'NO_UI', 'the UI files (ui/) are not installed next to this hotspan');
      return sendError(res, 404, 'NOT_FOUND', 'no such page');
    }
    if (opts.token !== undefined && !tokenOk(req, opts.token)) {
      return send(res, 401, JSON_TYPE, toJson({ error: { code: 'UNAUTHORIZED', message: 'send Authorization: Bearer <token> (HOTSPAN_UI_TOKEN)' } }), {
        'www-authenticate': 'Bearer',
      });
    }
    for (const r of ROUTES) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      const out = await r.handler(opts.deps, url.searchParams, decodeURIComponent(m[1] ?? ''));
      if (out && typeof out === 'object' && 'body' in out && 'type' in out) {
        const b = out as Body;
        return send(res, 200, b.type, b.body, b.filename ? { 'content-disposition': `attachment; filename="${b.filename}"` } : {});
      }
      return send(res, 200, JSON_TYPE, toJson(out));
    }
    return sendError(res, 404, 'NOT_FOUND', `no endpoint ${url.pathname.slice(0, 100)}; see /api/v1/status and the README's API section`);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof ApiError) return sendError(res, e.status, e.code, e.message);
      if (e instanceof URIError) return sendError(res, 400, 'BAD_REQUEST', 'malformed percent-encoding in the path');
      opts.log(`api: ${req.url?.slice(0, 200)} failed: ${(e as Error).message}`);
      sendError(res, 500, 'INTERNAL', (e as Error).message);
    });
  });
  // Idle clients must not hold sockets forever; a slow query must not cut its own answer off
  // (requestTimeout would, on a loaded node), so there is no whole-request limit.
  // A busy agent (a loaded node) can take long to read a request head: answer a 408 only after 2 min.
  server.requestTimeout = 0;
  server.headersTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    port,
    host: opts.host,
    url: `http://${hostInUrl}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
