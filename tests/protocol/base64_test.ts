import assert from "node:assert/strict";
import { decodeBase64, encodeBase64 } from "../../src/protocol/base64.ts";

// RFC 4648 §10.
const VECTORS: Array<[string, string]> = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg=="],
  ["fooba", "Zm9vYmE="],
  ["foobar", "Zm9vYmFy"],
];

Deno.test("encodeBase64() and decodeBase64() match RFC 4648 §10", () => {
  const encoder = new TextEncoder();
  for (const [plain, encoded] of VECTORS) {
    assert.equal(encodeBase64(encoder.encode(plain)), encoded);
    assert.deepEqual(decodeBase64(encoded), encoder.encode(plain));
  }
});

Deno.test("encodeBase64() round-trips every byte value and length up to 300", () => {
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 255);
  for (let n = 0; n <= 300; n++) {
    const part = bytes.subarray(0, n);
    const text = encodeBase64(part);
    assert.equal(text, btoa(String.fromCharCode(...part)));
    assert.deepEqual(decodeBase64(text), part);
  }
});

Deno.test("decodeBase64() refuses text that is not canonical base64", () => {
  for (
    const text of ["A", "AA", "AAA", "AA=A", "A===", "====", "AB==", "AAB=", "AA==AA==", "AA\n="]
  ) {
    assert.equal(decodeBase64(text), undefined, text);
  }
  assert.equal(decodeBase64("é".repeat(4)), undefined);
});
