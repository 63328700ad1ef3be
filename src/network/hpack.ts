/**
 * HPACK header-block decoder (RFC 7541): integers (5.1), string literals with Huffman coding (5.2,
 * Appendix B), static table (Appendix A), dynamic table with eviction (4), size updates (6.3).
 * Decoding only: the agent never encodes. No npm package does decode-only HPACK in a maintained way,
 * and node:http2 keeps its HPACK internal, so this is written from the RFC.
 *
 * Errors are thrown as HpackError; once a block fails the table state is unknown and the caller
 * (http2.ts) must stop trusting this decoder for the direction.
 */

import { HPACK_ENTRY_OVERHEAD_BYTES } from './bounds.js';
import { latin1 as bytesToLatin1 } from './exchange.js';

export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
  }
}

export type HeaderField = [name: string, value: string];

/** RFC 7541 Appendix A, index 1..61. */
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Huffman code lengths for symbols 0..256 (256 = EOS), RFC 7541 Appendix B, one char per symbol:
 * length = charCode - 48 + 5. The RFC's code is canonical (codes assigned in order of length, then
 * symbol), so the lengths alone determine every code; the Appendix C.4/C.6 tests check the result.
 */
const HUFFMAN_LENGTHS =
  '8BGGGGGGGCIGGIGGGGGGGGIGGGGGGGGG1557813655363111000111111123:1758122222222222222222222223238>891:' +
  '01010111022111012100122222:698G?A??AAABABBBBBCBCCABCBBBB@ABABBCA@?AABB@BAAC@ABB@@A@BABB?AAABAABEE?' +
  '>ABADEEEFFECD>@EFFEFC@@EEGFFF?C?@A@@BAADDCCEBEFEEFFFFFGFFFFFEI';

const EOS = 256;

/** Binary decoding tree as flat arrays: node n has children left[n]/right[n]; leaves hold symbol. */
interface HuffmanTree {
  child: Int32Array; // child[2n] = 0-branch, child[2n+1] = 1-branch, -1 = none
  symbol: Int32Array; // -1 for inner nodes
}

function buildHuffmanTree(): HuffmanTree {
  const lengths = Array.from(HUFFMAN_LENGTHS, (c) => c.charCodeAt(0) - 48 + 5);
  if (lengths.length !== 257) throw new Error('HPACK Huffman table must have 257 lengths');
  const order = lengths.map((_, s) => s).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const maxNodes = 2 * 257;
  const child = new Int32Array(maxNodes * 2).fill(-1);
  const symbol = new Int32Array(maxNodes).fill(-1);
  let nodes = 1;
  let code = 0;
  let prevLen = 0;
  for (const s of order) {
    const len = lengths[s]!;
    code = code * 2 ** (len - prevLen);
    prevLen = len;
    let n = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const b = Math.floor(code / 2 ** bit) & 1;
      let next = child[2 * n + b]!;
      if (next === -1) {
        next = nodes++;
        child[2 * n + b] = next;
      }
      n = next;
    }
    symbol[n] = s;
    code += 1;
  }
  return { child, symbol };
}

const TREE = buildHuffmanTree();

/** Decode a Huffman-coded string (RFC 7541 5.2): padding must be < 8 bits of EOS-prefix ones. */
export function huffmanDecode(bytes: Uint8Array): string {
  return huffmanWalk(bytes, true) as string;
}

/** Number of octets a Huffman string decodes to, without building it (for redacted values). */
export function huffmanDecodedLength(bytes: Uint8Array): number {
  return huffmanWalk(bytes, false) as number;
}

function huffmanWalk(bytes: Uint8Array, build: boolean): string | number {
  const out: number[] = [];
  let count = 0;
  let n = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      n = TREE.child[2 * n + b]!;
      if (n === -1) throw new HpackError('invalid Huffman code');
      depth++;
      if (b === 0) allOnes = false;
      const s = TREE.symbol[n]!;
      if (s !== -1) {
        if (s === EOS) throw new HpackError('EOS symbol inside a Huffman string');
        if (build) out.push(s);
        count++;
        n = 0;
        depth = 0;
        allOnes = true;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError('invalid Huffman padding');
  return build ? latin1(out) : count;
}

function latin1(codes: ArrayLike<number>): string {
  let s = '';
  // Chunked to stay under the engine's argument-count limit for long values.
  for (let i = 0; i < codes.length; i += 4096) {
    s += String.fromCharCode(...Array.prototype.slice.call(codes, i, i + 4096));
  }
  return s;
}

/** A cursor over one header block. */
interface Cursor {
  buf: Uint8Array;
  pos: number;
}

/** RFC 7541 5.1 prefix integer; values above 2^31 are refused (no real header needs them). */
export function decodeInteger(c: Cursor, prefixBits: number): number {
  if (c.pos >= c.buf.length) throw new HpackError('truncated integer');
  const max = (1 << prefixBits) - 1;
  let value = c.buf[c.pos++]! & max;
  if (value < max) return value;
  let shift = 0;
  for (;;) {
    if (c.pos >= c.buf.length) throw new HpackError('truncated integer');
    const b = c.buf[c.pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0x7fffffff) throw new HpackError('integer overflow');
    if ((b & 0x80) === 0) return value;
  }
}

/** Reads a string literal; when `redact`, returns '' but still reports the decoded octet count. */
function decodeString(c: Cursor, maxStringBytes: number, redact = false): [string, number] {
  if (c.pos >= c.buf.length) throw new HpackError('truncated string');
  const huffman = (c.buf[c.pos]! & 0x80) !== 0;
  const len = decodeInteger(c, 7);
  if (len > maxStringBytes) throw new HpackError(`string of ${len} bytes exceeds ${maxStringBytes}`);
  if (c.pos + len > c.buf.length) throw new HpackError('truncated string');
  const raw = c.buf.subarray(c.pos, c.pos + len);
  c.pos += len;
  if (redact) return ['', huffman ? huffmanDecodedLength(raw) : len];
  // Raw literals go through the shared byte decoder (TextDecoder for ASCII): the spread-based one
  // below took ~2 ms per 12 kB block, which a peer could use to stall the event loop.
  const v = huffman ? huffmanDecode(raw) : bytesToLatin1(raw);
  return [v, v.length];
}

export interface HpackDecoderOptions {
  /** SETTINGS_HEADER_TABLE_SIZE the decoder's peer announced; default 4096 (RFC 7540 6.5.2). */
  maxTableBytes?: number;
  /** Longest single name or value accepted; longer ones are an error, bounding memory. */
  maxStringBytes?: number;
  /**
   * Lowercase header names whose values are never materialized: decoded as '' and stored in the
   * dynamic table as their octet length only, so table accounting stays exact without holding
   * credentials (Authorization, Cookie, ...) in memory.
   */
  redactNames?: ReadonlySet<string>;
  /**
   * Most table bytes (RFC 7541 4.1 sizes) this decoder holds, whatever the peer announces. Past it
   * the oldest entries are dropped and treated as lost: blocks that reference them decode as
   * incomplete (their streams become unknown), never with wrong headers. Default: no cap.
   */
  capTableBytes?: number;
  /** Called each time the cap drops entries the encoder still has (for a counter). */
  onCap?: () => void;
}

/** A dynamic table entry; `size` is RFC 7541 4.1's name + value octets + 32. */
interface Entry {
  name: string;
  value: string;
  size: number;
}

export interface DecodedBlock {
  fields: HeaderField[];
  /**
   * False when the block referenced dynamic-table entries that were lost to a capture gap: the
   * fields are then incomplete and must not be trusted (the stream is marked unknown).
   */
  complete: boolean;
}

/**
 * One direction's HPACK decoding context (the dynamic table is per direction of a connection).
 *
 * Loss recovery: after `markUnknown()` (a capture gap) the old entries are unknown, but entries
 * inserted afterwards are known, and since eviction takes the oldest first they stay valid while
 * their total size fits the table. References beyond them make a block incomplete, never wrong.
 * A size update to 0 empties the table and makes it fully known again.
 */
export class HpackDecoder {
  /** Newest first, as HPACK indexes it (index 62 = dynamic[0]). */
  private dynamic: Entry[] = [];
  private tableBytes = 0;
  /** True when entries older than `dynamic` may exist but were lost. */
  private unknownTail = false;
  /** Upper bound the encoder may raise its table to (from SETTINGS). */
  private settingsMaxBytes: number;
  /** Current size the encoder chose via size updates. */
  private maxBytes: number;
  private readonly maxStringBytes: number;
  private readonly redact: ReadonlySet<string>;
  private readonly capBytes: number;
  private readonly onCap: () => void;
  /** Estimate of the memory the table holds: its strings plus a per-entry object overhead. */
  private heldBytes = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.settingsMaxBytes = opts.maxTableBytes ?? 4096;
    this.maxBytes = this.settingsMaxBytes;
    this.maxStringBytes = opts.maxStringBytes ?? 64 * 1024;
    this.redact = opts.redactNames ?? new Set();
    this.capBytes = opts.capTableBytes ?? Number.POSITIVE_INFINITY;
    this.onCap = opts.onCap ?? (() => {});
  }

  /** Memory the dynamic table retains (strings + per-entry overhead), for the engine's budget. */
  get retainedBytes(): number {
    return this.heldBytes;
  }

  /**
   * A SETTINGS_HEADER_TABLE_SIZE value was announced. The encoder must follow a decrease with a
   * size update in its next block, which does the eviction; here only the limit is recorded.
   */
  setSettingsMaxTableBytes(bytes: number): void {
    this.settingsMaxBytes = Math.max(bytes, 0);
  }

  /** Bytes were lost: entries from now on are known, older ones are not. */
  markUnknown(): void {
    // Lost bytes may have inserted entries, shifting every index: nothing before is trusted.
    this.clear(true);
  }

  get dynamicTableBytes(): number {
    return this.tableBytes;
  }

  get dynamicTable(): readonly HeaderField[] {
    return this.dynamic.map((e) => [e.name, e.value] as HeaderField);
  }

  /** Decode one complete header block (HEADERS/PUSH_PROMISE + CONTINUATION fragments joined). */
  decode(block: Uint8Array): DecodedBlock {
    const c: Cursor = { buf: block, pos: 0 };
    const fields: HeaderField[] = [];
    let complete = true;
    let sawField = false;
    while (c.pos < block.length) {
      const b = block[c.pos]!;
      if (b & 0x80) {
        // 6.1 indexed field
        const e = this.lookup(decodeInteger(c, 7));
        if (!e) complete = false;
        else fields.push([e.name, e.value]);
        sawField = true;
      } else if (b & 0x40) {
        // 6.2.1 literal with incremental indexing
        const e = this.readLiteral(c, 6);
        if (!e) {
          // Its name came from a lost entry: the size of what was inserted is unknown too.
          complete = false;
          this.clear(true);
        } else {
          this.insert(e);
          fields.push([e.name, e.value]);
        }
        sawField = true;
      } else if (b & 0x20) {
        // 6.3 dynamic table size update: only at the start of a block (4.2)
        if (sawField) throw new HpackError('table size update after a header field');
        const size = decodeInteger(c, 5);
        if (size > this.settingsMaxBytes) {
          throw new HpackError(`table size update ${size} above the SETTINGS limit ${this.settingsMaxBytes}`);
        }
        this.resize(size);
        if (size === 0) this.unknownTail = false;
      } else {
        // 6.2.2 without indexing (0000) / 6.2.3 never indexed (0001): same decoding
        const e = this.readLiteral(c, 4);
        if (!e) complete = false;
        else fields.push([e.name, e.value]);
        sawField = true;
      }
    }
    return { fields, complete };
  }

  /** A literal field; undefined when its indexed name was lost (the value is still consumed). */
  private readLiteral(c: Cursor, prefixBits: number): Entry | undefined {
    const idx = decodeInteger(c, prefixBits);
    let name: string | undefined;
    let nameOctets = 0;
    if (idx === 0) [name, nameOctets] = decodeString(c, this.maxStringBytes);
    else {
      const e = this.lookup(idx);
      if (e) {
        name = e.name;
        nameOctets = e.name.length;
      }
    }
    const redact = name === undefined || this.redact.has(name);
    const [value, valueOctets] = decodeString(c, this.maxStringBytes, redact);
    if (name === undefined) return undefined;
    return { name, value, size: nameOctets + valueOctets + 32 };
  }

  /** Entry at an index; undefined when it fell in the lost part of the table. */
  private lookup(idx: number): Entry | undefined {
    if (idx === 0) throw new HpackError('index 0');
    if (idx <= STATIC_TABLE.length) {
      const [name, value] = STATIC_TABLE[idx - 1]!;
      return { name, value, size: name.length + value.length + 32 };
    }
    const d = this.dynamic[idx - STATIC_TABLE.length - 1];
    if (d) return d;
    if (this.unknownTail) return undefined;
    throw new HpackError(`index ${idx} beyond the dynamic table (${this.dynamic.length} entries)`);
  }

  private insert(e: Entry): void {
    if (e.size > this.maxBytes) {
      // 4.4: an entry larger than the table empties it (lost entries included) and is not added.
      this.clear(false);
      return;
    }
    this.dynamic.unshift(e);
    this.tableBytes += e.size;
    this.heldBytes += entryHeldBytes(e);
    this.evict();
  }

  private resize(bytes: number): void {
    this.maxBytes = bytes;
    this.evict();
  }

  /**
   * The encoder evicts down to its own limit; we also evict down to our cap. Entries dropped for
   * the cap still exist at the encoder, so the table's tail becomes unknown: references to them
   * make a block incomplete. What we keep is always a newest-first prefix of the encoder's table
   * (the encoder never evicts it first, since it fits in a smaller limit), so indexes stay right.
   */
  private evict(): void {
    while (this.tableBytes > this.maxBytes) this.dropOldest();
    if (this.tableBytes > this.capBytes) {
      while (this.tableBytes > this.capBytes) this.dropOldest();
      this.unknownTail = true;
      this.onCap();
    }
  }

  private dropOldest(): void {
    const old = this.dynamic.pop()!;
    this.tableBytes -= old.size;
    this.heldBytes -= entryHeldBytes(old);
  }

  private clear(unknownTail: boolean): void {
    this.dynamic = [];
    this.tableBytes = 0;
    this.heldBytes = 0;
    this.unknownTail = unknownTail;
  }
}

function entryHeldBytes(e: Entry): number {
  return e.name.length + e.value.length + HPACK_ENTRY_OVERHEAD_BYTES;
}
