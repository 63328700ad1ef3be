// Byte-stream generators for the network engine fuzzers: HTTP/1 exchanges, HTTP/2 conversations
// with a small HPACK encoder written here from RFC 7541 (literals, incremental indexing, indexed
// references into its own dynamic table, size updates), gRPC over HTTP/2, mutations and splits.
// Every generated conversation carries its ground truth (method, path, status per request).
export type Rng = () => number;

/** xorshift32: seeded, so a failing case replays from its seed. */
export function rng(seed: number): Rng {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export const int = (r: Rng, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;
export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One syscall's worth of bytes in one direction (server view: ingress = requests). */
export interface Event {
  dir: 'ingress' | 'egress';
  data: Uint8Array;
}

export interface Truth {
  method: string;
  path: string;
  status?: number;
  streamId?: number;
  grpc?: { service: string; method: string; status: number };
}

export interface Conversation {
  events: Event[];
  truth: Truth[];
}

const SEGMENTS = ['users', 'orders', 'api', 'v1', 'items', 'health', 'a', 'b'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'];

export function randomPath(r: Rng, maxSegments = 5): string {
  const n = 1 + int(r, maxSegments);
  let p = '';
  for (let i = 0; i < n; i++) p += `/${r() < 0.3 ? String(int(r, 100_000)) : pick(r, SEGMENTS)}`;
  return p;
}

// ---------------------------------------------------------------- HTTP/1

export function http1Conversation(r: Rng, requests = 1 + int(r, 4)): Conversation {
  const events: Event[] = [];
  const truth: Truth[] = [];
  for (let i = 0; i < requests; i++) {
    const method = pick(
      r,
      METHODS.filter((m) => m !== 'HEAD'),
    );
    const path = randomPath(r);
    const body = r() < 0.4 ? 'x'.repeat(int(r, 300)) : '';
    const chunked = body.length > 0 && r() < 0.5;
    let req = `${method} ${path}${r() < 0.2 ? '?token=s3cret' : ''} HTTP/1.1\r\nHost: svc.local\r\nUser-Agent: fuzz\r\n`;
    if (r() < 0.3) req += `Authorization: Bearer abc${i}\r\n`;
    req += chunked ? 'Transfer-Encoding: chunked\r\n\r\n' + chunk(body) : `Content-Length: ${body.length}\r\n\r\n${body}`;
    const status = pick(r, [200, 201, 204, 404, 500]);
    const resBody = status === 204 ? '' : 'y'.repeat(int(r, 200));
    const res = `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\n${status === 204 ? '' : `Content-Length: ${resBody.length}\r\n`}\r\n${resBody}`;
    events.push({ dir: 'ingress', data: enc(req) }, { dir: 'egress', data: enc(res) });
    truth.push({ method, path, status });
  }
  return { events, truth };
}

function chunk(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i += 64) {
    const c = body.slice(i, i + 64);
    out += `${c.length.toString(16)}\r\n${c}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

// ---------------------------------------------------------------- HPACK encoder (RFC 7541)

export function hpackInt(value: number, prefixBits: number, firstByteFlags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteFlags | value];
  const out = [firstByteFlags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Long strings repeat in the flood tests: encoded once (the generator must not be the bottleneck). */
const longStrings = new Map<string, Uint8Array>();

function hpackString(s: string): Uint8Array {
  let bytes = s.length > 256 ? longStrings.get(s) : undefined;
  if (!bytes) {
    bytes = concat([Uint8Array.from(hpackInt(s.length, 7, 0)), Buffer.from(s, 'latin1')]);
    if (s.length > 256 && longStrings.size < 64) longStrings.set(s, bytes);
  }
  return bytes;
}

/** Encoder with its own dynamic table (newest first), so blocks can reference entries of any age. */
export class HpackEncoder {
  table: Array<[string, string]> = [];
  tableBytes = 0;
  maxBytes = 4096;

  /** `track` = false: insertions are only encoded (a peer flooding its table needs no copy here). */
  constructor(private readonly track = true) {}

  sizeUpdate(bytes: number): Uint8Array {
    this.maxBytes = bytes;
    this.evict();
    return Uint8Array.from(hpackInt(bytes, 5, 0x20));
  }

  /** Literal with incremental indexing, new name. */
  literalIndexed(name: string, value: string): Uint8Array {
    const out = concat([Uint8Array.of(0x40), hpackString(name), hpackString(value)]);
    if (!this.track) return out;
    const size = name.length + value.length + 32;
    if (size > this.maxBytes) {
      this.table = [];
      this.tableBytes = 0;
    } else {
      this.table.unshift([name, value]);
      this.tableBytes += size;
      this.evict();
    }
    return out;
  }

  /** Literal without indexing, new name. */
  literal(name: string, value: string): Uint8Array {
    return concat([Uint8Array.of(0x00), hpackString(name), hpackString(value)]);
  }

  /** Indexed reference to a dynamic entry (0 = newest). */
  indexedDynamic(age: number): Uint8Array {
    return Uint8Array.from(hpackInt(62 + age, 7, 0x80));
  }

  private evict(): void {
    while (this.tableBytes > this.maxBytes) {
      const [n, v] = this.table.pop()!;
      this.tableBytes -= n.length + v.length + 32;
    }
  }
}

/** An indexed static-table field (RFC 7541 Appendix A index). */
export const indexed = (idx: number): Uint8Array => Uint8Array.from(hpackInt(idx, 7, 0x80));

/** Static-table indexes (RFC 7541 Appendix A) for pseudo-headers. */
const STATIC = { GET: 2, POST: 3, http: 6, status200: 8 } as const;

// ---------------------------------------------------------------- HTTP/2 frames

export const H2_PREFACE_BYTES = enc('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;

export function frame(type: number, flags: number, streamId: number, payload: ArrayLike<number> = []): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = (payload.length >> 16) & 0xff;
  out[1] = (payload.length >> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  out[5] = (streamId >>> 24) & 0x7f;
  out[6] = (streamId >>> 16) & 0xff;
  out[7] = (streamId >>> 8) & 0xff;
  out[8] = streamId & 0xff;
  out.set(payload as ArrayLike<number>, 9);
  return out;
}

export function settings(values: Array<[number, number]>): Uint8Array {
  const p: number[] = [];
  for (const [id, v] of values) p.push(id >> 8, id & 0xff, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  return frame(FRAME.SETTINGS, 0, 0, p);
}

/** A header block as HEADERS + `pieces - 1` CONTINUATIONs. */
export function headerFrames(streamId: number, blockParts: Uint8Array | Uint8Array[], endStream: boolean, pieces = 1): Uint8Array[] {
  const block = Array.isArray(blockParts) ? concat(blockParts) : blockParts;
  const out: Uint8Array[] = [];
  const size = Math.ceil(block.length / pieces) || 1;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < block.length; i += size) parts.push(block.subarray(i, i + size));
  if (parts.length === 0) parts.push(new Uint8Array(0));
  parts.forEach((p, i) => {
    const last = i === parts.length - 1;
    const type = i === 0 ? FRAME.HEADERS : FRAME.CONTINUATION;
    const flags = (last ? 0x4 : 0) | (i === 0 && endStream ? 0x1 : 0);
    out.push(frame(type, flags, streamId, p));
  });
  return out;
}

export interface H2Options {
  grpc?: boolean;
  streams?: number;
  /** Client header blocks reference dynamic entries up to this many insertions old. */
  maxRefAge?: number;
  /** Announced by the server: bounds the client encoder's table. */
  serverTableBytes?: number;
}

/**
 * A client ↔ server HTTP/2 (or gRPC) conversation. Each request's :path is put in the client's
 * dynamic table and later requests may reuse any earlier path by index: a decoder that lost or
 * capped entries must report such requests unknown, never with another request's path.
 */
export function http2Conversation(r: Rng, o: H2Options = {}): Conversation {
  const events: Event[] = [];
  const truth: Truth[] = [];
  const client = new HpackEncoder();
  const server = new HpackEncoder();
  const tableBytes = o.serverTableBytes ?? 4096;
  events.push({ dir: 'ingress', data: concat([H2_PREFACE_BYTES, settings([])]) });
  events.push({ dir: 'egress', data: settings([[1, tableBytes]]) });
  const paths: string[] = []; // insertion order of paths in the client table, newest last
  let first = true;
  const n = o.streams ?? 1 + int(r, 6);
  for (let i = 0; i < n; i++) {
    const id = 1 + 2 * i;
    const grpc = o.grpc ?? false;
    const service = `pkg.${pick(r, ['Greeter', 'Store', 'Auth'])}`;
    const gmethod = pick(r, ['Say', 'Get', 'Put']);
    let path = grpc ? `/${service}/${gmethod}` : randomPath(r);
    const method = grpc ? 'POST' : pick(r, ['GET', 'POST']);
    const block: Uint8Array[] = [];
    if (first && tableBytes !== 4096) block.push(client.sizeUpdate(tableBytes));
    first = false;
    block.push(indexed(method === 'GET' ? STATIC.GET : STATIC.POST), indexed(STATIC.http));
    // Reuse an earlier path by index when it is still in the encoder's table.
    const age = int(r, Math.min(o.maxRefAge ?? 8, client.table.length + 1));
    const reuse = !grpc && paths.length > 0 && r() < 0.5 && age < client.table.length && client.table[age]![0] === ':path';
    if (reuse) {
      path = client.table[age]![1];
      block.push(client.indexedDynamic(age));
    } else {
      block.push(client.literalIndexed(':path', path));
      paths.push(path);
    }
    block.push(client.literal(':authority', 'svc.local'));
    if (grpc) block.push(client.literal('content-type', 'application/grpc'));
    if (r() < 0.3) block.push(client.literal('authorization', `Bearer t${i}`));
    const hasBody = grpc || r() < 0.3;
    events.push({ dir: 'ingress', data: concat(headerFrames(id, block, !hasBody, 1 + int(r, 3))) });
    if (hasBody) {
      const msg = grpc ? [0, 0, 0, 0, 3, 1, 2, 3] : Array.from({ length: int(r, 100) }, () => 0x61);
      events.push({ dir: 'ingress', data: frame(FRAME.DATA, 0x1, id, msg) });
    }
    const status = grpc ? 200 : pick(r, [200, 404, 503]);
    const res: Uint8Array[] = [status === 200 ? indexed(STATIC.status200) : server.literalIndexed(':status', String(status))];
    if (grpc) {
      res.push(server.literal('content-type', 'application/grpc'));
      const gstatus = int(r, 17);
      events.push({ dir: 'egress', data: concat(headerFrames(id, res, false)) });
      events.push({ dir: 'egress', data: frame(FRAME.DATA, 0, id, [0, 0, 0, 0, 1, 9]) });
      events.push({ dir: 'egress', data: concat(headerFrames(id, server.literal('grpc-status', String(gstatus)), true)) });
      truth.push({ method, path, status, streamId: id, grpc: { service, method: gmethod, status: gstatus } });
    } else {
      events.push({ dir: 'egress', data: concat(headerFrames(id, res, true)) });
      truth.push({ method, path, status, streamId: id });
    }
  }
  return { events, truth };
}

// ---------------------------------------------------------------- mutation and splitting

export function mutate(r: Rng, base: Uint8Array): Uint8Array {
  const out = Array.from(base);
  const n = 1 + int(r, 4);
  for (let k = 0; k < n; k++) {
    const op = int(r, 5);
    const at = int(r, out.length + 1);
    if (op === 0) out[at] = int(r, 256);
    else if (op === 1) out.splice(at, 1 + int(r, 8));
    else if (op === 2) out.splice(at, 0, int(r, 256));
    else if (op === 3) out.splice(at, 0, ...out.slice(int(r, out.length), int(r, out.length) + int(r, 32)));
    else if (at < out.length) out[at] = out[at]! ^ (1 << int(r, 8));
  }
  return Uint8Array.from(out);
}

/** Cut one event's bytes into random syscall-sized pieces (1 byte up to the whole). */
export function split(r: Rng, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const style = int(r, 3); // 0: whole, 1: tiny pieces, 2: random sizes
  if (style === 0 || data.length === 0) return [data];
  for (let off = 0; off < data.length;) {
    const len = style === 1 ? 1 + int(r, 3) : 1 + int(r, Math.max(1, data.length));
    out.push(data.subarray(off, off + len));
    off += len;
  }
  return out;
}
