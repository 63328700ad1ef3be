import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { statSync } from 'node:fs';

export interface Tshark {
  proc: ChildProcess;
  /** Lets the last packets reach the file, stops tshark and resolves once it exited: the pcap is complete. */
  stop(): Promise<void>;
}

/** How long the last packets of a test take to reach the pcap after its traffic. */
const FLUSH_MS = 300;

const READY_TIMEOUT_MS = 15_000;

/**
 * tshark capturing `tcp port N` on lo into `file`, resolved once packets reach the file.
 *
 * Why not at tshark's "Capturing on" line: tshark 4.0.17 (Debian 12, 4.0.17-0+deb12u3) prints it
 * before dumpcap captures anything. Measured here: the first packet reached the file 760–965 ms
 * after the line. Traffic sent in between was never captured, and a test compared the agent's
 * records with an empty pcap (a fresh CI machine: 0 of 30 requests). Readiness is shown the one
 * sure way: UDP datagrams to a socket of this process, inside the capture filter, until one is in
 * the file. Readers of the pcap select TCP on the port, so they never see the datagrams.
 */
export async function startTshark(port: number, file: string, extraArgs: readonly string[] = []): Promise<Tshark> {
  const sentinel = createSocket('udp4');
  await new Promise<void>((r) => sentinel.bind(0, '127.0.0.1', r));
  const sentinelPort = sentinel.address().port;
  const proc = spawn('tshark', ['-i', 'lo', ...extraArgs, '-f', `tcp port ${port} or (udp and dst port ${sentinelPort})`, '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exitCode: number | null | undefined;
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) =>
    proc.once('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let headerBytes = 0;
    for (;;) {
      if (exitCode !== undefined) throw new Error(`tshark exited ${exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`tshark captured nothing within ${READY_TIMEOUT_MS} ms: ${stderr}`);
      sentinel.send('hotspan-test-capture-ready', sentinelPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      let size = 0;
      try {
        size = statSync(file).size;
      } catch {
        continue; // not created yet
      }
      // The file starts with its section and interface headers; a packet makes it grow.
      if (headerBytes === 0) headerBytes = size;
      else if (size > headerBytes) break;
    }
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  } finally {
    sentinel.close();
  }
  return {
    proc,
    async stop() {
      await new Promise((r) => setTimeout(r, FLUSH_MS));
      proc.kill('SIGINT');
      await exited;
    },
  };
}
