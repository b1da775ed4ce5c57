import assert from "node:assert/strict";
import { computeAcceptKey, encodeBase64, isWebSocketKey, sha1 } from "../../src/codec/mod.ts";
import { createRandom } from "../_util/chunking.ts";

Deno.test("computeAcceptKey() gives the RFC 6455 §1.3 example", () => {
  assert.equal(
    computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

Deno.test("sha1() matches WebCrypto on inputs of 0 to 300 bytes", async () => {
  const random = createRandom(7);
  for (let n = 0; n <= 300; n++) {
    const data = new Uint8Array(n).map(() => Math.floor(random() * 256));
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
    assert.deepEqual(sha1(data), expected, `length ${n}`);
  }
});

Deno.test("encodeBase64() matches btoa for every remainder", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    assert.equal(encodeBase64(bytes), btoa(String.fromCharCode(...bytes)));
  }
});

Deno.test("isWebSocketKey() takes base64 of exactly 16 bytes only", () => {
  for (let i = 0; i < 50; i++) {
    assert.ok(
      isWebSocketKey(encodeBase64(crypto.getRandomValues(new Uint8Array(16)))),
    );
  }
  assert.ok(!isWebSocketKey(encodeBase64(new Uint8Array(15))));
  assert.ok(!isWebSocketKey(encodeBase64(new Uint8Array(17))));
  assert.ok(!isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ="));
  assert.ok(!isWebSocketKey("dGhlIHNhbXBsZSBub25j*Q=="));
  // Non-canonical: the last data character carries bits that are not zero.
  assert.ok(!isWebSocketKey("dGhlIHNhbXBsZSBub25jZR=="));
});

Deno.test("computeAcceptKey() matches base64(SHA-1(key + GUID)) for random keys and odd input", async () => {
  const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const keys = ["", "x", "é".repeat(24), "a".repeat(23), "a".repeat(25)];
  for (let i = 0; i < 200; i++) keys.push(encodeBase64(crypto.getRandomValues(new Uint8Array(16))));
  for (const key of keys) {
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + guid));
    assert.equal(computeAcceptKey(key), encodeBase64(new Uint8Array(digest)), key);
  }
});
