/**
 * L7 end to end on this kernel: a Node HTTP/1.1 server and a Node client in two child processes
 * on loopback, captured by net.bpf.o and parsed by the L7 engine, against tshark decoding a pcap
 * of the same traffic. Method/path/status counts must agree 100%; every request that carried a
 * traceparent must come back with that trace id and parent id.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createL7Engine, type RequestRecord } from '../../src/network/index.js';
import { NetCapture } from '../../src/network/kernel/index.js';
import { firstLine } from './support/agent.js';
import { requireRoot } from './support/env.js';
import { startTshark } from './support/tshark.js';

const canRun = requireRoot('network L7 capture');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-l7-'));
const children: ChildProcess[] = [];

const SERVER = `
const http = require('node:http');
const srv = http.createServer((req, res) => {
  let body = 0;
  req.on('data', (d) => (body += d.length));
  req.on('end', () => {
    const m = /^\\/status\\/(\\d{3})\\/\\d+$/.exec(req.url);
    res.statusCode = m ? Number(m[1]) : req.method === 'POST' ? 201 : 200;
    res.end('x'.repeat(body || 10));
  });
});
srv.keepAliveTimeout = 30000;
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

/** Sequential keep-alive requests from a plan given as JSON: [method, path, traceparent|null][]. */
const CLIENT = `
const http = require('node:http');
const [port, plan] = [Number(process.argv[1]), JSON.parse(process.argv[2])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
(async () => {
  for (const [method, path, tp] of plan) {
    await new Promise((resolve, reject) => {
      const headers = tp ? { traceparent: tp } : {};
      const req = http.request({ port, host: '127.0.0.1', method, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(method === 'POST' ? 'p'.repeat(300) : undefined);
    });
  }
  agent.destroy();
  console.log('done');
})();
`;

function countsOf(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('network kernel side → L7 engine, against tshark', () => {
  it('HTTP/1.1 keep-alive: method/path/status counts agree with tshark; traceparent kept', async () => {
    if (!canRun) return;
    const records: RequestRecord[] = [];
    const engine = createL7Engine({ onRequest: (r) => records.push(r) });
    const capture = NetCapture.start({
      onConnOpen: (o) => engine.onConnOpen(o),
      onConnClose: (c) => engine.onConnClose(c),
      onChunk: (c) => engine.onChunk(c),
    });
    try {
      const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(server);
      const port = Number(await firstLine(server));
      const pcap = join(tmp, 'h1.pcapng');
      const tshark = await startTshark(port, pcap);
      children.push(tshark.proc);

      const plan: [string, string, string | null][] = [];
      const traceparents = new Map<string, { traceId: string; parentId: string }>();
      for (let i = 0; i < 60; i++) {
        const method = i % 5 === 0 ? 'POST' : i % 7 === 0 ? 'DELETE' : 'GET';
        const path = i % 4 === 0 ? `/status/${[404, 500, 204][i % 3]}/${i}` : `/users/${1000 + i}`;
        let tp: string | null = null;
        if (i % 2 === 0) {
          const traceId = (i + 1).toString(16).padStart(32, 'a');
          const parentId = (i + 1).toString(16).padStart(16, 'b');
          tp = `00-${traceId}-${parentId}-01`;
          traceparents.set(`${method} ${path}`, { traceId, parentId });
        }
        plan.push([method, path, tp]);
      }
      const client = spawn(process.execPath, ['-e', CLIENT, String(port), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(client);
      expect(await firstLine(client)).toBe('done');

      const deadline = Date.now() + 10_000;
      while (records.filter((r) => r.role === 'server').length < plan.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await tshark.stop();
      server.kill();

      const fields = (filter: string, ...f: string[]) =>
        execFileSync('tshark', ['-r', pcap, '-Y', filter, '-T', 'fields', ...f.flatMap((x) => ['-e', x])], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean);
      const tsRequests = fields('http.request', 'http.request.method', 'http.request.uri').map((l) => l.replace('\t', ' '));
      const tsStatuses = fields('http.response', 'http.response.code');
      expect(tsRequests.length).toBe(plan.length);

      const server1 = records.filter((r) => r.role === 'server' && r.local?.port === port);
      expect(countsOf(server1.map((r) => `${r.method} ${r.path}`))).toEqual(countsOf(tsRequests));
      expect(countsOf(server1.map((r) => String(r.status)))).toEqual(countsOf(tsStatuses));
      expect(server1.every((r) => r.protocol === 'http1' && r.httpVersion === '1.1')).toBe(true);

      const withTp = server1.filter((r) => traceparents.has(`${r.method} ${r.path}`));
      expect(withTp.length).toBe(traceparents.size);
      for (const r of withTp) {
        expect(r.traceparent).toMatchObject(traceparents.get(`${r.method} ${r.path}`)!);
      }
      // The client side of the same exchanges is seen too (role from connect()).
      const clientSide = records.filter((r) => r.role === 'client' && r.remote?.port === port);
      expect(countsOf(clientSide.map((r) => `${r.method} ${r.path} ${r.status}`))).toEqual(countsOf(server1.map((r) => `${r.method} ${r.path} ${r.status}`)));
      expect(capture.counters().dataDropped).toBe(0n);
    } finally {
      capture.close();
    }
  });
});
