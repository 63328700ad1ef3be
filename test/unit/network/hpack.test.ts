// RFC 7541 Appendix C: the spec's own known answers (C.3/C.5 plain, C.4/C.6 Huffman).
import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackError, huffmanDecode } from '../../../src/network/hpack.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

const REQUESTS: Array<[string, Array<[string, string]>, number]> = [
  [
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ],
    57,
  ],
  [
    '8286 84be 5808 6e6f 2d63 6163 6865',
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ],
    110,
  ],
  [
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ],
    164,
  ],
];
const REQUESTS_HUFFMAN = [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
];
const RESPONSES: Array<[Array<[string, string]>, number]> = [
  [
    [
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ],
    222,
  ],
  [
    [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ],
    222,
  ],
  [
    [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ],
    215,
  ],
];
const RESPONSES_PLAIN = [
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
];
const RESPONSES_HUFFMAN = [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
];

describe('HPACK RFC 7541 Appendix C', () => {
  it('C.3 requests without Huffman', () => {
    const d = new HpackDecoder();
    for (const [block, fields, size] of REQUESTS) {
      expect(d.decode(hex(block))).toEqual({ fields, complete: true });
      expect(d.dynamicTableBytes).toBe(size);
    }
  });
  it('C.4 requests with Huffman', () => {
    const d = new HpackDecoder();
    REQUESTS_HUFFMAN.forEach((block, i) => {
      expect(d.decode(hex(block)).fields).toEqual(REQUESTS[i]![1]);
      expect(d.dynamicTableBytes).toBe(REQUESTS[i]![2]);
    });
  });
  for (const [name, blocks] of [
    ['C.5 responses without Huffman', RESPONSES_PLAIN],
    ['C.6 responses with Huffman', RESPONSES_HUFFMAN],
  ] as const) {
    it(`${name}, 256-byte table with eviction`, () => {
      const d = new HpackDecoder({ maxTableBytes: 256 });
      blocks.forEach((block, i) => {
        expect(d.decode(hex(block)).fields).toEqual(RESPONSES[i]![0]);
        expect(d.dynamicTableBytes).toBe(RESPONSES[i]![1]);
      });
      expect(d.dynamicTable.map(([n]) => n)).toEqual(['set-cookie', 'content-encoding', 'date']);
    });
  }
  it('redacted names keep exact table accounting but never hold the value', () => {
    const d = new HpackDecoder({ maxTableBytes: 256, redactNames: new Set(['set-cookie']) });
    const out = RESPONSES_HUFFMAN.map((b) => d.decode(hex(b)).fields);
    expect(out[2]!.find(([n]) => n === 'set-cookie')).toEqual(['set-cookie', '']);
    expect(d.dynamicTableBytes).toBe(215);
    expect(JSON.stringify(d.dynamicTable)).not.toContain('ASDJKHQ');
  });
  it('after a loss, blocks referencing lost entries are incomplete, never wrong', () => {
    const d = new HpackDecoder();
    d.decode(hex(REQUESTS[0]![0]));
    d.markUnknown();
    // C.3.2 references index 62 (:authority from the lost past) → incomplete.
    const lost = d.decode(hex(REQUESTS[1]![0]));
    expect(lost.complete).toBe(false);
    // It inserted cache-control: no-cache (index 62 now) which is known again.
    expect(d.decode(hex('be')).fields).toEqual([['cache-control', 'no-cache']]);
    expect(d.decode(hex('bf')).complete).toBe(false);
  });
  it('rejects malformed input with HpackError', () => {
    expect(() => new HpackDecoder().decode(hex('ff'))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(hex('c0'))).toThrow(HpackError);
    expect(() => huffmanDecode(hex('00'))).toThrow(HpackError); // '0' then 3 zero bits = bad padding
  });
});
