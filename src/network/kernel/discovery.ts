/**
 * Connections that existed before the agent started: every TCP socket in every network
 * namespace (/proc/<pid>/net/tcp{,6}) joined to the processes holding it (/proc/<pid>/fd/N ->
 * socket:[inode]). The kernel side announces such a socket as DISCOVERED the first time it
 * moves data; this snapshot tells user space it predates the agent and which role it has.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { parseProcNetTcp, TcpState, type ProcTcpSocket } from './proc-net.js';
import type { ConnRole, Endpoint } from '../types.js';

export interface PreexistingConn {
  pid: number;
  fd: number;
  inode: number;
  family: 4 | 6;
  local: Endpoint;
  remote: Endpoint;
  state: number;
  /** 'server' when the local port has a listener in the same namespace, else 'client'. */
  role: ConnRole;
}

export interface DiscoveryResult {
  connections: PreexistingConn[];
  /** Listening endpoints per network namespace inode (for role decisions later). */
  listenPortsByNetns: Map<number, Set<number>>;
  /** Processes that vanished or could not be read mid-scan: counted, not fatal. */
  unreadableProcesses: number;
  malformedLines: number;
}

/** Socket inodes a process holds, by fd. Throws if the process is gone or unreadable. */
export function socketInodesOf(pid: number, procRoot = '/proc'): Map<number, number> {
  const out = new Map<number, number>();
  const dir = `${procRoot}/${pid}/fd`;
  for (const name of readdirSync(dir)) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${name}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) out.set(Number(name), Number(m[1]));
  }
  return out;
}

function numericDirs(root: string): number[] {
  return readdirSync(root)
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/**
 * Scans /proc for established TCP connections (IPv4 and IPv6) and their owners.
 * `excludePid` (the agent) is skipped. Needs root to see other users' fds.
 */
export function discoverConnections(opts: { excludePid?: number; procRoot?: string } = {}): DiscoveryResult {
  const procRoot = opts.procRoot ?? '/proc';
  const socketsByNetns = new Map<number, ProcTcpSocket[]>();
  const listenPortsByNetns = new Map<number, Set<number>>();
  const connections: PreexistingConn[] = [];
  let unreadableProcesses = 0;
  let malformedLines = 0;

  for (const pid of numericDirs(procRoot)) {
    if (pid === opts.excludePid) continue;
    let inodes: Map<number, number>;
    let netns: number;
    try {
      inodes = socketInodesOf(pid, procRoot);
      if (inodes.size === 0) continue;
      netns = statSync(`${procRoot}/${pid}/ns/net`).ino;
    } catch {
      unreadableProcesses++;
      continue;
    }
    let sockets = socketsByNetns.get(netns);
    if (!sockets) {
      sockets = [];
      const listen = new Set<number>();
      for (const [file, family] of [
        ['tcp', 4],
        ['tcp6', 6],
      ] as const) {
        let text: string;
        try {
          text = readFileSync(`${procRoot}/${pid}/net/${file}`, 'utf8');
        } catch {
          continue; // tcp6 absent when IPv6 is disabled
        }
        const parsed = parseProcNetTcp(text, family);
        malformedLines += parsed.malformedLines;
        for (const s of parsed.sockets) {
          if (s.state === TcpState.Listen) listen.add(s.local.port);
          else sockets.push(s);
        }
      }
      socketsByNetns.set(netns, sockets);
      listenPortsByNetns.set(netns, listen);
    }
    const listen = listenPortsByNetns.get(netns) ?? new Set<number>();
    const byInode = new Map<number, number[]>();
    for (const [fd, inode] of inodes) {
      const fds = byInode.get(inode);
      if (fds) fds.push(fd);
      else byInode.set(inode, [fd]);
    }
    for (const s of sockets) {
      if (s.inode === 0) continue;
      for (const fd of byInode.get(s.inode) ?? []) {
        connections.push({
          pid,
          fd,
          inode: s.inode,
          family: s.family,
          local: s.local,
          remote: s.remote,
          state: s.state,
          role: listen.has(s.local.port) ? 'server' : 'client',
        });
      }
    }
  }
  return { connections, listenPortsByNetns, unreadableProcesses, malformedLines };
}
