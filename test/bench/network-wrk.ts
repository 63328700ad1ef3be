/**
 * Benchmark: wrk against a loopback Node HTTP server, with and without the network capture
 * (net.bpf.o + the L7 engine) running in this process, rounds interleaved so drift and noisy
 * neighbours hit both sides alike. Prints requests/s loss and agent CPU per request:
 * this process's user+sys (the agent) plus the kernel-measured run time of every BPF program
 * (kernel.bpf_stats_enabled, switched on for the run and restored after).
 * Reports figures; asserts nothing about time. Needs root and wrk.
 *
 *   node --import tsx test/bench/network-wrk.ts [--rounds 3] [--seconds 3] [--connections 8] [--no-engine]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createL7Engine } from '../../src/network/index.js';
import { NetCapture } from '../../src/network/kernel/index.js';

export interface WrkRound {
  capture: boolean;
  requestsPerSec: number;
  requests: number;
  /** Agent user+sys CPU during the round (this process), ns. */
  agentCpuNs: number;
  /** Sum of BPF program run time during the round, ns. */
  bpfRunNs: number;
  records: number;
}

const SERVER = `
const http = require('node:http');
const srv = http.createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('hello world\\n'); });
srv.keepAliveTimeout = 60000;
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function runWrk(port: number, seconds: number, connections: number): { requestsPerSec: number; requests: number } {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !total) throw new Error(`cannot read wrk output:\n${out}`);
  return { requestsPerSec: Number(rps[1]), requests: Number(total[1]) };
}

/** Lets the last ring-buffer batches of a round reach JS inside the measured CPU window. */
async function drain(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** `engine: false` feeds a counting sink instead of the L7 engine: the kernel side's own cost. */
export async function runNetworkWrkBench(opts: { rounds?: number; seconds?: number; connections?: number; engine?: boolean } = {}): Promise<WrkRound[]> {
  const rounds = opts.rounds ?? 3;
  const seconds = opts.seconds ?? 3;
  const connections = opts.connections ?? 8;
  const server: ChildProcess = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const statsBefore = readFileSync(STATS_SYSCTL, 'utf8').trim();
  writeFileSync(STATS_SYSCTL, '1');
  const results: WrkRound[] = [];
  try {
    runWrk(port, 1, connections); // warm-up: JIT the server before anything is measured
    for (let i = 0; i < rounds * 2; i++) {
      const on = i % 2 === 1;
      let records = 0;
      const engine = opts.engine === false ? undefined : createL7Engine({ onRequest: () => records++ });
      const sink = engine ? { onConnOpen: engine.onConnOpen, onConnClose: engine.onConnClose, onChunk: engine.onChunk } : { onChunk: () => void records++ };
      const capture = on ? NetCapture.start(sink) : undefined;
      const bpf0 = capture?.bpfRunTimeNs() ?? 0n;
      const cpu0 = cpuNs();
      // wrk runs in a child; this process must stay free to drain the ring buffer meanwhile.
      const r = await new Promise<{ requestsPerSec: number; requests: number }>((resolve, reject) => {
        const w = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
        let out = '';
        w.stdout.on('data', (d) => (out += d));
        w.on('exit', () => {
          const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
          const total = /(\d+) requests in/.exec(out);
          if (!rps || !total) reject(new Error(`cannot read wrk output:\n${out}`));
          else resolve({ requestsPerSec: Number(rps[1]), requests: Number(total[1]) });
        });
      });
      await drain(100);
      const agentCpuNs = cpuNs() - cpu0;
      const bpfRunNs = capture ? Number(capture.bpfRunTimeNs() - bpf0) : 0;
      capture?.close();
      results.push({ capture: on, ...r, agentCpuNs: on ? agentCpuNs : 0, bpfRunNs, records });
    }
  } finally {
    writeFileSync(STATS_SYSCTL, statsBefore);
    server.kill();
  }
  return results;
}

export function report(results: WrkRound[], engine = true): string {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const off = results.filter((r) => !r.capture);
  const on = results.filter((r) => r.capture);
  const rpsOff = sum(off.map((r) => r.requestsPerSec)) / off.length;
  const rpsOn = sum(on.map((r) => r.requestsPerSec)) / on.length;
  const reqOn = sum(on.map((r) => r.requests));
  const userUs = sum(on.map((r) => r.agentCpuNs)) / reqOn / 1000;
  const bpfUs = sum(on.map((r) => r.bpfRunNs)) / reqOn / 1000;
  const lines = [
    `network capture under wrk (loopback Node HTTP server, keep-alive; sink: ${engine ? 'L7 engine' : 'chunk counter only'})`,
    ...results.map(
      (r, i) =>
        `  round ${i + 1} ${r.capture ? 'capture' : 'baseline'}: ${r.requestsPerSec.toFixed(0)} req/s, ${r.requests} requests` +
        (r.capture
          ? `, ${r.records} ${engine ? 'L7 records' : 'chunks'}, agent ${(r.agentCpuNs / 1e6).toFixed(0)} ms, bpf ${(r.bpfRunNs / 1e6).toFixed(0)} ms`
          : ''),
    ),
    `  req/s: baseline ${rpsOff.toFixed(0)}, with capture ${rpsOn.toFixed(0)}, loss ${((100 * (rpsOff - rpsOn)) / rpsOff).toFixed(1)}% (target <= 5%)`,
    `  agent CPU per request: user space ${userUs.toFixed(2)} us + BPF ${bpfUs.toFixed(2)} us = ${(userUs + bpfUs).toFixed(2)} us (target <= 10 us)`,
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const engine = !process.argv.includes('--no-engine');
  const results = await runNetworkWrkBench({ rounds: arg('rounds', 3), seconds: arg('seconds', 3), connections: arg('connections', 8), engine });
  console.log(report(results, engine));
}
