/**
 * Sends one already-encoded OTLP export request over OTLP/HTTP (binary protobuf, POST to the
 * signal's URL) and classifies the outcome the way the OTLP/HTTP spec says:
 *  - 2xx: success; the body is the Export<Signal>ServiceResponse (partial success), possibly empty;
 *  - 429, 502, 503, 504: retryable, honouring Retry-After (delay-seconds or HTTP-date);
 *  - any other status: permanent failure (message from the google.rpc.Status body when present);
 *  - no response (refused, reset, timeout): retryable.
 * Serialization lives in proto-root/convert-*; this file is transport only (node http/https/zlib).
 */
import http from 'node:http';
import https from 'node:https';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { signalProto } from './proto-root.js';
import type { ExportResult } from './retry.js';
import { OtlpConfigError, type SignalExporterConfig } from './config.js';
import type { Transport } from './grpc-transport.js';

const gzipAsync = promisify(gzip);

/** HTTP statuses the OTLP/HTTP spec lets a client retry. */
export const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);
/** A response body larger than this is not read (an OTLP response is a few bytes). */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Largest Retry-After honoured (the default backoff's cap is 30 s; a retry window is 5 min). */
export const MAX_RETRY_AFTER_MS = 60_000;

const statusRoot = protobuf.Root.fromJSON({
  nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } },
});
const StatusType = statusRoot.lookupType('Status');

/** Retry-After as milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined if absent/invalid. */
export function parseRetryAfter(v: string | undefined, nowMs = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  // Capped: a server's hint must not park a queue for hours.
  if (/^\d+$/.test(t)) return Math.min(MAX_RETRY_AFTER_MS, Number(t) * 1000);
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - nowMs));
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new OtlpConfigError(`cannot read ${what} ${file}: ${(err as Error).message}; fix: point it at a readable PEM file`);
  }
}

function errorMessage(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  if (contentType?.includes('protobuf')) {
    try {
      return String((StatusType.toObject(StatusType.decode(body)) as { message?: string }).message ?? '');
    } catch {
      /* fall through to text */
    }
  }
  return body
    .toString('utf8', 0, Math.min(body.length, 512))
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .trim();
}

export function createHttpTransport(cfg: SignalExporterConfig): Transport {
  const proto = signalProto(cfg.signal);
  const url = new URL(cfg.url);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        ca: readPem(cfg.certificateFile, 'certificate'),
        key: readPem(cfg.clientKeyFile, 'client key'),
        cert: readPem(cfg.clientCertificateFile, 'client certificate'),
      })
    : new http.Agent({ keepAlive: true });
  const requestFn = secure ? https.request : http.request;

  return {
    async send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult> {
      const payload = cfg.compression === 'gzip' ? await gzipAsync(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const headers: Record<string, string | number> = {
        ...cfg.headers,
        'content-type': 'application/x-protobuf',
        'content-length': payload.byteLength,
        ...(cfg.compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
      };
      const deadlineMs = Math.min(cfg.timeoutMs, timeoutMs ?? Infinity);
      return new Promise<ExportResult>((resolve) => {
        let settled = false;
        const done = (r: ExportResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(r);
        };
        const req = requestFn(url, { method: 'POST', agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
          });
          res.on('error', (err) => done({ kind: 'retryable', code: 0, message: `response: ${err.message}` }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const buf = Buffer.concat(chunks);
            if (status >= 200 && status < 300) {
              let rejected = 0;
              let msg = '';
              if (buf.length > 0 && size <= MAX_RESPONSE_BYTES) {
                try {
                  const r = proto.response.toObject(proto.response.decode(buf), { longs: Number, defaults: true }) as Record<string, unknown>;
                  const partial = (r['partialSuccess'] ?? null) as Record<string, unknown> | null;
                  rejected = partial ? Number(partial[proto.rejectedField] ?? 0) : 0;
                  msg = partial ? String(partial['errorMessage'] ?? '') : '';
                } catch {
                  /* a 2xx with an unreadable body is still a success */
                }
              }
              done({ kind: 'success', rejected, errorMessage: msg });
              return;
            }
            const message = `HTTP ${status}${errorMessage(buf, res.headers['content-type']) ? `: ${errorMessage(buf, res.headers['content-type'])}` : ''}`;
            if (RETRYABLE_HTTP.has(status)) {
              const ra = res.headers['retry-after'];
              done({ kind: 'retryable', code: status, message, retryAfterMs: parseRetryAfter(Array.isArray(ra) ? ra[0] : ra) });
            } else done({ kind: 'failure', code: status, message });
          });
        });
        const timer = setTimeout(() => {
          req.destroy(new Error(`no response within ${deadlineMs} ms`));
        }, deadlineMs);
        req.on('error', (err) => done({ kind: 'retryable', code: 0, message: `${url.host}: ${err.message}` }));
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
