/** Bounds-checked little-endian reader over a CFI section; every read past `end` throws. */
export class CfiError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'CfiError';
  }
}

export class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {
    if (end > buf.length) this.end = buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new CfiError(`read of ${n} bytes at ${this.pos} runs past ${this.end}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  s16(): number {
    this.need(2);
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  s32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  /** 64-bit value as a number; values outside ±2^53 are no address of a real program. */
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CfiError(`64-bit value ${v} out of range`);
    return Number(v);
  }
  s64(): number {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new CfiError(`64-bit value ${v} out of range`);
    return Number(v);
  }
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new CfiError('ULEB128 longer than 8 bytes');
  }
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return b & 0x40 ? result - mul : result;
    }
    throw new CfiError('SLEB128 longer than 8 bytes');
  }
  skip(n: number): void {
    if (n < 0) throw new CfiError('negative skip');
    this.need(n);
    this.pos += n;
  }
  cstring(max: number): string {
    const limit = Math.min(this.end, this.pos + max);
    const z = this.buf.indexOf(0, this.pos);
    if (z < 0 || z >= limit) throw new CfiError('unterminated string');
    const s = this.buf.toString('latin1', this.pos, z);
    this.pos = z + 1;
    return s;
  }
}
