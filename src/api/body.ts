/** What a route answers with when it is not a plain JSON value: a typed body, already encoded. */
export interface Body {
  type: string;
  body: Uint8Array | string;
  filename?: string;
}

/** JSON with bigints as decimal strings (nanosecond timestamps do not fit a double). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/** Encoded to bytes where it is built: bytes cross a thread without a copy on the receiving loop. */
export function jsonBody(v: unknown): Body {
  return { type: JSON_TYPE, body: Buffer.from(toJson(v)) };
}
