/**
 * A growable byte buffer for reassembly (HTTP/2 frame payloads, header blocks). One backing array
 * instead of a list of pieces: a peer splitting a frame into 1-byte writes, or sending a flood of
 * empty CONTINUATION frames, must not leave one object per piece behind. Capacity at most doubles
 * what was received, and `retainedBytes` is what the engine's budget counts.
 */
const EMPTY = new Uint8Array(0);
const MIN_CAPACITY = 256;

export class ByteBuf {
  private buf: Uint8Array = EMPTY;
  length = 0;

  get retainedBytes(): number {
    return this.buf.byteLength;
  }

  append(piece: Uint8Array): void {
    if (piece.length === 0) return;
    const need = this.length + piece.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, MIN_CAPACITY, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(piece, this.length);
    this.length = need;
  }

  /** The bytes so far (a view: valid until the next append or reset). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forget the bytes and give the memory back. */
  reset(): void {
    this.buf = EMPTY;
    this.length = 0;
  }
}
