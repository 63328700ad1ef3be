/**
 * Bounded decode: before a received request is turned into objects, walk its wire bytes against
 * the schema (protobufjs Reader, no allocation per field) and count the messages it would become.
 * Why: an empty sub-message costs 2 bytes on the wire but a default-filled object of several
 * hundred bytes after decode, so a 1 MB request can cost ~500 MB of heap. Counting first lets the
 * receiver refuse such a request for the price of one pass over its bytes; nesting depth is capped
 * too (AnyValue can nest without end, and the decoder recurses).
 */
import protobuf from 'protobufjs';

export interface DecodeBudget {
  /** Most messages (objects) one request may decode into. */
  maxMessages: number;
  /** Deepest message nesting accepted. */
  maxDepth: number;
}

export const DEFAULT_DECODE_BUDGET: DecodeBudget = { maxMessages: 200_000, maxDepth: 32 };

export class DecodeBudgetError extends Error {}

/** Throws DecodeBudgetError when `bytes`, decoded as `type`, would exceed the budget; malformed bytes throw too. */
export function checkDecodeBudget(type: protobuf.Type, bytes: Uint8Array, budget: DecodeBudget = DEFAULT_DECODE_BUDGET): number {
  let messages = 0;
  const walk = (t: protobuf.Type, reader: protobuf.Reader, end: number, depth: number) => {
    if (depth > budget.maxDepth) throw new DecodeBudgetError(`message nesting deeper than ${budget.maxDepth}`);
    while (reader.pos < end) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      const field = t.fieldsById[id];
      const sub = field?.resolvedType;
      if (wireType === 2 && sub instanceof protobuf.Type) {
        const len = reader.uint32();
        const subEnd = reader.pos + len;
        if (subEnd > end) throw new Error(`field ${t.name}.${field!.name}: length ${len} past the end of its message`);
        if (++messages > budget.maxMessages) {
          throw new DecodeBudgetError(`request decodes into more than ${budget.maxMessages} messages`);
        }
        walk(sub, reader, subEnd, depth + 1);
        reader.pos = subEnd;
      } else if (wireType === 2 && field?.repeated && field.type !== 'string' && field.type !== 'bytes') {
        // Packed scalars: each element becomes a value (64-bit ones a string); ≥1 byte per element.
        const len = reader.uint32();
        messages += Math.ceil(len / 8);
        if (messages > budget.maxMessages) throw new DecodeBudgetError(`request decodes into more than ${budget.maxMessages} values`);
        reader.skip(len);
      } else {
        reader.skipType(wireType);
      }
    }
  };
  const reader = protobuf.Reader.create(bytes);
  walk(type, reader, bytes.length, 0);
  return messages;
}
