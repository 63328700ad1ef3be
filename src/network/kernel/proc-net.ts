/**
 * Parsing of /proc/<pid>/net/tcp and tcp6: the kernel's table of TCP sockets of one network
 * namespace. Used only at startup, to recognise connections that predate the agent.
 * Format: net/ipv4/tcp_ipv4.c get_tcp4_sock() and net/ipv6/tcp_ipv6.c get_tcp6_sock().
 */
import { endianness } from 'node:os';
import { formatIpv6 } from '../../events/decode.js';
import type { Endpoint } from '../types.js';

/** TCP_* state numbers as the kernel prints them (`st` column, hex). */
export const TcpState = {
  Established: 1,
  SynSent: 2,
  SynRecv: 3,
  FinWait1: 4,
  FinWait2: 5,
  TimeWait: 6,
  Close: 7,
  CloseWait: 8,
  LastAck: 9,
  Listen: 10,
  Closing: 11,
  NewSynRecv: 12,
} as const;

export interface ProcTcpSocket {
  family: 4 | 6;
  local: Endpoint;
  remote: Endpoint;
  /** TcpState value. */
  state: number;
  /** Socket inode: what /proc/PID/fd/N links to as `socket:[inode]`; 0 for TIME_WAIT. */
  inode: number;
  uid: number;
}

export interface ProcTcpParse {
  sockets: ProcTcpSocket[];
  /** Lines that did not parse: counted, never fatal (the format has been stable since 2.6). */
  malformedLines: number;
}

/**
 * "0100007F:1F90": the address is the __be32 (or four __be32 words for IPv6) printed with %08X
 * in host byte order, so on little-endian hosts each 4-byte word reads reversed.
 */
const LITTLE_ENDIAN = endianness() === 'LE';

function parseEndpoint(text: string, family: 4 | 6): Endpoint | undefined {
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const hex = m[1];
  if (hex.length !== (family === 4 ? 8 : 32)) return undefined;
  const bytes = Buffer.alloc(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    // Each word was printed from a u32 load of network-order bytes: undo the host-order load.
    const word = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    if (LITTLE_ENDIAN) bytes.writeUInt32LE(word, w * 4);
    else bytes.writeUInt32BE(word, w * 4);
  }
  const address = family === 4 ? `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` : formatIpv6(bytes, 0);
  return { address, port: Number.parseInt(m[2], 16) };
}

/** Parses the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6). */
export function parseProcNetTcp(text: string, family: 4 | 6): ProcTcpParse {
  const sockets: ProcTcpSocket[] = [];
  let malformedLines = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const cols = line.split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    const local = parseEndpoint(cols[1] ?? '', family);
    const remote = parseEndpoint(cols[2] ?? '', family);
    const state = Number.parseInt(cols[3] ?? '', 16);
    const uid = Number(cols[7]);
    const inode = Number(cols[9]);
    if (!local || !remote || !Number.isInteger(state) || !Number.isInteger(inode) || !Number.isInteger(uid)) {
      malformedLines++;
      continue;
    }
    sockets.push({ family, local, remote, state, inode, uid });
  }
  return { sockets, malformedLines };
}
