/**
 * MessageBuffer: the bytes come out as they went in, whatever the pieces;
 * the blocks it holds stay within max(2n, n + MIN_BLOCK) and the limit; each
 * byte is copied at most twice, so a million one-byte fragments cost what
 * one megabyte does.
 */
import assert from "node:assert/strict";
import { MessageBuffer, MIN_BLOCK } from "../../src/codec/_message_buffer.ts";
import { createRandom, randomBytes } from "../_util/chunking.ts";
import { countCopies } from "./_count_copies.ts";

const LIMIT = 64 * 1024 * 1024;

function bound(size: number): number {
  return Math.max(2 * size, size + MIN_BLOCK);
}

Deno.test("MessageBuffer.take() returns the appended bytes, in any pieces", () => {
  const random = createRandom(21);
  const data = randomBytes(300_000, 4);
  for (let round = 0; round < 40; round++) {
    const size = round < 5
      ? [0, 1, MIN_BLOCK - 1, MIN_BLOCK, MIN_BLOCK + 1][round]
      : Math.floor(random() * data.length);
    const buffer = new MessageBuffer(LIMIT);
    const largest = 1 + Math.floor(random() * 70_000);
    for (let at = 0; at < size;) {
      const n = Math.min(size - at, Math.floor(random() * largest));
      buffer.append(data.subarray(at, at + n));
      at += n;
      assert.ok(buffer.capacity <= bound(buffer.size), `${buffer.capacity} for ${buffer.size}`);
    }
    assert.equal(buffer.size, size);
    assert.deepEqual(buffer.take(), data.subarray(0, size), `round ${round}`);
    // It starts empty again, holding nothing.
    assert.equal(buffer.size, 0);
    assert.equal(buffer.capacity, 0);
    buffer.append(data.subarray(0, 3));
    assert.deepEqual(buffer.take(), data.subarray(0, 3));
  }
});

Deno.test("MessageBuffer copies each byte at most twice and holds at most max(2n, n + 1 KiB), for a million one-byte pieces", () => {
  const n = 1_000_000;
  const byte = new Uint8Array([0x61]);
  const buffer = new MessageBuffer(LIMIT);
  let message: Uint8Array = new Uint8Array(0);
  const copies = countCopies(() => {
    for (let i = 0; i < n; i++) buffer.append(byte);
    assert.ok(buffer.capacity <= bound(n), `${buffer.capacity} bytes held for ${n}`);
    message = buffer.take();
  });
  assert.equal(message.length, n);
  assert.ok(message.every((b) => b === 0x61));
  // One copy in, one join out: exactly 2n bytes. A list of pieces joined at
  // the end would copy n, but keep a million objects; a buffer copied whole
  // on every append, n²/2.
  assert.equal(copies.bytes, 2 * n);
  // The join is exact: a binary message hands on its own ArrayBuffer.
  assert.equal(message.buffer.byteLength, n);
  // Blocks double: 1 KiB, 1 KiB, 2 KiB … so about log2(n / 1 KiB) + 2 of them.
  const blocks = copies.calls - n;
  assert.ok(blocks <= 2 + Math.log2(n / MIN_BLOCK), `${blocks} blocks joined`);
});

Deno.test("MessageBuffer hands a message that fills one block on as it is, and never reaches past the limit", () => {
  const data = randomBytes(5000, 8);
  // One piece: one block of exactly its size, no second copy.
  const one = new MessageBuffer(LIMIT);
  one.append(data);
  const copies = countCopies(() => assert.deepEqual(one.take(), data));
  assert.equal(copies.bytes, 0);
  // Pieces that end at the limit: the blocks stop there.
  for (const limit of [1, 100, MIN_BLOCK, 3000, 5000]) {
    const buffer = new MessageBuffer(limit);
    for (let at = 0; at < limit; at += 7) buffer.append(data.subarray(at, Math.min(limit, at + 7)));
    assert.ok(buffer.capacity <= limit, `limit ${limit}: ${buffer.capacity}`);
    assert.deepEqual(buffer.take(), data.subarray(0, limit));
  }
  // clear() drops what was appended.
  const cleared = new MessageBuffer(LIMIT);
  cleared.append(data);
  cleared.clear();
  assert.equal(cleared.size, 0);
  assert.deepEqual(cleared.take(), new Uint8Array(0));
});
