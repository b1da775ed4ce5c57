import assert from "node:assert/strict";
import { applyMask } from "../../src/codec/mask.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

function byteLoop(bytes: Uint8Array, offset: number): Uint8Array {
  return bytes.map((b, i) => b ^ KEY[(i + offset) & 3]);
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

// The frames of one read are masked one after another in one buffer: each
// must change its frame's bytes and no others.
Deno.test("applyMask() masks many payloads of one buffer, in any order, touching nothing else", () => {
  const original = randomBytes(64 * 1024 + 5);
  const buffer = original.slice();
  const spans: Array<[number, number]> = [];
  for (let at = 3; at + 1100 < buffer.length; at += 1100 + (at % 7)) {
    spans.push([at, 40 + (at % 1050)]);
  }
  // Every other span first, then the rest backwards.
  const order = [
    ...spans.filter((_, i) => i % 2 === 0),
    ...spans.filter((_, i) => i % 2 === 1).reverse(),
  ];
  for (const [at, length] of order) applyMask(buffer.subarray(at, at + length), KEY, at & 3);
  let next = 0;
  for (const [at, length] of spans) {
    assert.deepEqual(buffer.subarray(next, at), original.subarray(next, at), `gap before ${at}`);
    assert.deepEqual(
      buffer.subarray(at, at + length),
      byteLoop(original.subarray(at, at + length), at & 3),
      `span at ${at}`,
    );
    next = at + length;
  }
  assert.deepEqual(buffer.subarray(next), original.subarray(next));
});

Deno.test("applyMask() masks a 1 MiB buffer and a small one in turn, and masking twice restores them", () => {
  const large = randomBytes(1024 * 1024 + 3);
  const small = randomBytes(4096);
  const largeCopy = large.slice(), smallCopy = small.slice();
  for (let round = 0; round < 3; round++) {
    applyMask(largeCopy.subarray(8 * round + 1, 900_000), KEY, 1);
    applyMask(smallCopy.subarray(round, 3000), KEY, 2);
    applyMask(largeCopy.subarray(8 * round + 1, 900_000), KEY, 1);
    applyMask(smallCopy.subarray(round, 3000), KEY, 2);
  }
  assert.deepEqual(largeCopy, large);
  assert.deepEqual(smallCopy, small);
});

Deno.test("applyMask() masks a new buffer after the last one was transferred away", () => {
  const bytes = randomBytes(8192);
  const expected = byteLoop(bytes.subarray(16, 2064), 0);
  applyMask(bytes.subarray(16, 2064), KEY);
  assert.deepEqual(bytes.subarray(16, 2064), expected);
  // The buffer moves on (a transfer); a new one of the same size comes next.
  const moved = new Uint8Array((bytes.buffer as ArrayBuffer).transfer());
  assert.equal(bytes.byteLength, 0);
  const fresh = randomBytes(8192);
  const freshExpected = byteLoop(fresh.subarray(16, 2064), 0);
  applyMask(fresh.subarray(16, 2064), KEY);
  assert.deepEqual(fresh.subarray(16, 2064), freshExpected);
  // And the moved bytes unmask back.
  applyMask(moved.subarray(16, 2064), KEY);
  assert.deepEqual(byteLoop(moved.subarray(16, 2064), 0), expected);
});
