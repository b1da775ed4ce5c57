import assert from "node:assert/strict";
import {
  applyMask,
  encodeCloseFrame,
  encodeClosePayload,
  encodeFrame,
  Opcode,
} from "../../src/codec/mod.ts";
import { concat, hex, randomBytes } from "../_util/chunking.ts";

Deno.test("encodeFrame() writes the RFC 6455 §5.7 unmasked examples", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(
    concat(encodeFrame(Opcode.Text, enc("Hello"))),
    hex("81 05 48 65 6c 6c 6f"),
  );
  assert.deepEqual(
    concat(encodeFrame(Opcode.Ping, enc("Hello"))),
    hex("89 05 48 65 6c 6c 6f"),
  );
  assert.deepEqual(
    concat(encodeFrame(Opcode.Text, enc("Hel"), { fin: false })),
    hex("01 03 48 65 6c"),
  );
  const b256 = new Uint8Array(256);
  assert.deepEqual(
    encodeFrame(Opcode.Binary, b256)[0].subarray(0, 4),
    hex("82 7e 01 00"),
  );
  const b64k = new Uint8Array(65536);
  const parts = encodeFrame(Opcode.Binary, b64k);
  assert.deepEqual(parts[0], hex("82 7f 00 00 00 00 00 01 00 00"));
  assert.equal(parts[1], b64k, "a large payload is handed out, not copied");
});

Deno.test("encodeFrame() uses the minimal length form at 125, 126, 65535, 65536", () => {
  const head = (n: number) => encodeFrame(Opcode.Binary, new Uint8Array(n))[0].subarray(0, 10);
  assert.deepEqual(head(125).subarray(0, 2), hex("82 7d"));
  assert.deepEqual(head(126).subarray(0, 4), hex("82 7e 00 7e"));
  assert.deepEqual(head(65535).subarray(0, 4), hex("82 7e ff ff"));
  assert.deepEqual(head(65536), hex("82 7f 00 00 00 00 00 01 00 00"));
});

Deno.test("encodeFrame() masks client frames with a fresh key each time", () => {
  const payload = new Uint8Array(40).fill(7);
  const [a] = encodeFrame(Opcode.Binary, payload, { mask: true });
  const [b] = encodeFrame(Opcode.Binary, payload, { mask: true });
  assert.equal(a[1] & 0x80, 0x80);
  assert.notDeepEqual(a.subarray(2, 6), b.subarray(2, 6));
  const body = a.slice(6);
  applyMask(body, a.subarray(2, 6));
  assert.deepEqual(body, payload);
  assert.deepEqual(payload, new Uint8Array(40).fill(7), "input untouched");
});

Deno.test("encodeClosePayload() refuses a reason over 123 bytes with RangeError", () => {
  assert.deepEqual(encodeClosePayload(1000, "bye"), hex("03 e8 62 79 65"));
  assert.equal(encodeClosePayload(1000, "é".repeat(61) + "a").length, 125);
  assert.throws(() => encodeClosePayload(1000, "é".repeat(62)), RangeError);
  assert.deepEqual(encodeCloseFrame(), hex("88 00"));
});

Deno.test("applyMask() equals a byte loop at every alignment, length and offset", () => {
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const data = randomBytes(300);
  for (let start = 0; start < 8; start++) {
    for (const length of [0, 1, 3, 31, 32, 33, 64, 100, 291]) {
      for (const offset of [0, 1, 2, 3]) {
        const view = data.slice().subarray(start, start + length);
        const expected = view.map((b, i) => b ^ key[(i + offset) & 3]);
        applyMask(view, key, offset);
        assert.deepEqual(view, expected, `${start}/${length}/${offset}`);
      }
    }
  }
});
