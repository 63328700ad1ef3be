/**
 * Per-direction stream continuity. The kernel side hands us the head of each syscall's payload
 * plus its true byte count and byte offset; this turns that into "here are contiguous bytes" and
 * "N bytes are missing here" for the protocol parsers. No reordering: one socket direction's
 * syscalls reach the ring buffer in order, so a backwards `seqBytes` is a duplicate or a restart.
 */
import type { DataChunk } from './types.js';

/** What a parser needs to know about where bytes came from. */
export interface ChunkMeta {
  tid: number;
  timeMonoNs: bigint;
  timeUnixNs: bigint;
}

export interface StreamConsumer {
  /** Contiguous bytes following whatever came before (or following a reported gap). */
  data(bytes: Uint8Array, meta: ChunkMeta): void;
  /**
   * `lostBytes` bytes are missing at this point. `lostBytes` is exact when the kernel counted
   * them (truncation, seq jump); the parser may skip them if it knows they were body bytes.
   */
  gap(lostBytes: number, meta: ChunkMeta): void;
}

export class DirectionStream {
  /** Offset of the next byte we expect; undefined until the first chunk. */
  private nextSeqBytes: number | undefined;
  gaps = 0;

  /**
   * Feed one chunk; calls the consumer with data and gap notifications in byte order.
   * Returns the number of gaps detected for this chunk (0, 1 or 2).
   */
  push(chunk: DataChunk, meta: ChunkMeta, consumer: StreamConsumer): number {
    let gaps = 0;
    const captured = Math.min(chunk.data.length, chunk.bytesTotal);
    if (this.nextSeqBytes !== undefined && chunk.seqBytes !== this.nextSeqBytes) {
      if (chunk.seqBytes > this.nextSeqBytes) {
        consumer.gap(chunk.seqBytes - this.nextSeqBytes, meta);
      } else if (chunk.seqBytes + chunk.bytesTotal <= this.nextSeqBytes) {
        return 0; // a duplicate of bytes already delivered: nothing new
      } else {
        // Overlap or a counter restart: the lost amount is unknown, report an unskippable gap.
        consumer.gap(Number.POSITIVE_INFINITY, meta);
      }
      gaps++;
    }
    if (captured > 0) consumer.data(chunk.data.subarray(0, captured), meta);
    if (captured < chunk.bytesTotal) {
      consumer.gap(chunk.bytesTotal - captured, meta);
      gaps++;
    }
    this.nextSeqBytes = chunk.seqBytes + chunk.bytesTotal;
    this.gaps += gaps;
    return gaps;
  }
}
