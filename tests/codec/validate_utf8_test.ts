/**
 * validateUtf8(): hex vectors at every boundary of Unicode 15 table 3-7,
 * each fed whole, byte by byte and in random splits; the byte it fails at;
 * agreement with a fatal TextDecoder on every two-byte string and on random
 * mixes; ASCII runs long enough for the word-at-a-time path, at every
 * alignment.
 */
import assert from "node:assert/strict";
import { Utf8State, validateUtf8 } from "../../src/codec/mod.ts";
import { chunkings, concat, createRandom, hex } from "../_util/chunking.ts";

const COMPLETE = Utf8State.Complete;
const INVALID = Utf8State.Invalid;

// Feeds the pieces in order; returns the final state and the index of the
// byte the state became invalid at (-1 if none).
function feed(pieces: Uint8Array[]): { state: number; failedAt: number } {
  let state: number = COMPLETE;
  let at = 0;
  for (const piece of pieces) {
    const next = validateUtf8(piece, state);
    if (next === INVALID && state !== INVALID) {
      // Find the byte, feeding the piece again one byte at a time.
      let k = 0;
      for (let s = state; (s = validateUtf8(piece.subarray(k, k + 1), s)) !== INVALID;) k++;
      return { state: next, failedAt: at + k };
    }
    state = next;
    at += piece.length;
  }
  return { state, failedAt: -1 };
}

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function isValidByTextDecoder(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// [vector, index of the first byte no valid UTF-8 could have there, or -1]
const VALID: string[] = [
  "",
  "00",
  "7f",
  "c2 80", // U+0080
  "df bf", // U+07FF
  "e0 a0 80", // U+0800
  "ed 9f bf", // U+D7FF, below the surrogates
  "ee 80 80", // U+E000, above them
  "ef bf bf", // U+FFFF
  "ef bb bf", // a BOM is text
  "f0 90 80 80", // U+10000
  "f4 8f bf bf", // U+10FFFF
  "ce ba e1 bd b9 cf 83 ce bc ce b5", // κόσμε
  "48 65 6c 6c 6f 2d c2 b5 40 c3 9f c3 b6 c3 a4 c3 bc c3 a0 c3 a1 2d 55 54 46 2d 38 21 21",
];
const INVALID_AT: Array<[string, number]> = [
  ["80", 0], // a stray continuation byte
  ["bf", 0],
  ["61 80", 1],
  ["c0 80", 0], // overlong U+0000: C0 and C1 lead nothing
  ["c1 bf", 0],
  ["e0 80 80", 1], // overlong: E0 needs A0–BF
  ["e0 9f bf", 1],
  ["f0 80 80 80", 1], // overlong: F0 needs 90–BF
  ["f0 8f bf bf", 1],
  ["ed a0 80", 1], // U+D800, a surrogate
  ["ed bf bf", 1], // U+DFFF
  ["f4 90 80 80", 1], // U+110000
  ["f5 80 80 80", 0],
  ["f8 88 80 80 80", 0],
  ["fe", 0],
  ["ff", 0],
  ["e2 41", 1], // a lead byte, then no continuation
  ["e2 82 41", 2],
  ["f0 9d 84 41", 3],
  ["c2 c2 80", 1],
  // Autobahn 6.4.1: U+110000 between valid text.
  ["ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64", 12],
  // Autobahn 6.4.2: a surrogate in the middle.
  ["ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", 12],
];
// Complete in themselves they are not: a message ending here is invalid.
const TRUNCATED: string[] = [
  "c2",
  "e2",
  "e2 82",
  "f0",
  "f0 9d",
  "f0 9d 84",
  "61 e0 a0",
  "f4 8f bf",
];

Deno.test("validateUtf8() accepts every boundary code point, whole, byte by byte and in random splits", () => {
  for (const vector of VALID) {
    const bytes = hex(vector);
    for (const [how, pieces] of chunkings(bytes)) {
      assert.deepEqual(feed(pieces), { state: COMPLETE, failedAt: -1 }, `${vector}, ${how}`);
    }
    assert.ok(isValidByTextDecoder(bytes), vector);
  }
});

Deno.test("validateUtf8() returns Invalid at the first byte that makes a sequence invalid", () => {
  for (const [vector, index] of INVALID_AT) {
    const bytes = hex(vector);
    for (const [how, pieces] of chunkings(bytes)) {
      assert.deepEqual(feed(pieces), { state: INVALID, failedAt: index }, `${vector}, ${how}`);
    }
    assert.ok(!isValidByTextDecoder(bytes), vector);
    // The bytes before it are a valid prefix: no earlier failure.
    assert.notEqual(validateUtf8(bytes.subarray(0, index)), INVALID, vector);
  }
});

Deno.test("validateUtf8() ends mid code point on a truncated sequence, neither Complete nor Invalid", () => {
  for (const vector of TRUNCATED) {
    for (const [how, pieces] of chunkings(hex(vector))) {
      const { state } = feed(pieces);
      assert.notEqual(state, COMPLETE, `${vector}, ${how}`);
      assert.notEqual(state, INVALID, `${vector}, ${how}`);
    }
  }
});

Deno.test("validateUtf8() keeps Invalid, and a state it never returns, invalid", () => {
  assert.equal(validateUtf8(new Uint8Array([0x61]), INVALID), INVALID);
  assert.equal(validateUtf8(new Uint8Array(0), INVALID), INVALID);
  assert.equal(validateUtf8(new Uint8Array([0x61]), 9), INVALID);
  assert.equal(validateUtf8(new Uint8Array([0x61]), -1), INVALID);
  assert.equal(validateUtf8(new Uint8Array([0x61]), NaN), INVALID);
  // An empty piece leaves the state as it was.
  const mid = validateUtf8(hex("e2 82"));
  assert.equal(validateUtf8(new Uint8Array(0), mid), mid);
  assert.equal(validateUtf8(hex("ac"), mid), COMPLETE);
});

Deno.test("validateUtf8() agrees with a fatal TextDecoder on all 65,536 two-byte strings, split or not", () => {
  const bytes = new Uint8Array(2);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      bytes[0] = a;
      bytes[1] = b;
      const whole = validateUtf8(bytes);
      const split = validateUtf8(bytes.subarray(1), validateUtf8(bytes.subarray(0, 1)));
      if ((whole === COMPLETE) !== isValidByTextDecoder(bytes)) assert.fail(`${a} ${b}`);
      if (split !== whole) assert.fail(`${a} ${b}: split ${split}, whole ${whole}`);
    }
  }
});

Deno.test("validateUtf8() agrees with a fatal TextDecoder on every lead byte and second byte, with third and fourth at the range edges", () => {
  const thirds = [0x41, 0x80, 0xbf];
  const fourths = [-1, 0x80];
  for (let a = 0xc0; a < 0x100; a++) {
    for (let b = 0; b < 256; b++) {
      for (const c of thirds) {
        for (const d of fourths) {
          const bytes = new Uint8Array(d < 0 ? [a, b, c] : [a, b, c, d]);
          const whole = validateUtf8(bytes);
          // Messages built only on a mismatch: 200,000 strings cost seconds.
          if ((whole === COMPLETE) !== isValidByTextDecoder(bytes)) assert.fail(`${bytes}`);
          for (let cut = 1; cut < bytes.length; cut++) {
            const split = validateUtf8(bytes.subarray(cut), validateUtf8(bytes.subarray(0, cut)));
            if (split !== whole) assert.fail(`${bytes} cut at ${cut}: ${split}, whole ${whole}`);
          }
        }
      }
    }
  }
});

Deno.test("validateUtf8() agrees with a fatal TextDecoder on random mixes of lead, continuation and ASCII bytes", () => {
  const random = createRandom(5);
  // Bytes at the edges of every range in table 3-7.
  const interesting = [
    0x00,
    0x41,
    0x7f,
    0x80,
    0x8f,
    0x90,
    0x9f,
    0xa0,
    0xbf,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xe1,
    0xec,
    0xed,
    0xee,
    0xef,
    0xf0,
    0xf1,
    0xf3,
    0xf4,
    0xf5,
    0xff,
  ];
  // Code points at the edges of every range, encoded, so that many draws
  // are valid and the rest are one byte away from it.
  const codePoints = [
    0x00,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xfff,
    0x1000,
    0xd7ff,
    0xe000,
    0xfffd,
    0xffff,
    0x10000,
    0x3ffff,
    0x40000,
    0xfffff,
    0x100000,
    0x10ffff,
  ];
  const encoder = new TextEncoder();
  let valid = 0;
  for (let round = 0; round < 20_000; round++) {
    const parts: Uint8Array[] = [];
    for (let n = 1 + Math.floor(random() * 5); n > 0; n--) {
      const cp = codePoints[Math.floor(random() * codePoints.length)];
      parts.push(encoder.encode(String.fromCodePoint(cp)));
    }
    const bytes = concat(parts);
    for (let n = Math.floor(random() * 3); n > 0; n--) {
      bytes[Math.floor(random() * bytes.length)] =
        interesting[Math.floor(random() * interesting.length)];
    }
    const expected = isValidByTextDecoder(bytes);
    if (expected) valid++;
    for (const [how, pieces] of chunkings(bytes, round)) {
      assert.equal(feed(pieces).state === COMPLETE, expected, `${bytes}, ${how}`);
    }
  }
  assert.ok(valid > 1000, `only ${valid} valid strings drawn`);
});

Deno.test("validateUtf8() finds one bad byte anywhere in a long ASCII run, at every alignment", () => {
  const run = new Uint8Array(300).fill(0x61);
  for (let offset = 0; offset < 4; offset++) {
    for (let at = 0; at < run.length; at++) {
      for (const bad of [0x80, 0xff]) {
        const backing = new Uint8Array(run.length + offset);
        const bytes = backing.subarray(offset);
        bytes.set(run);
        bytes[at] = bad;
        assert.equal(validateUtf8(bytes), INVALID, `offset ${offset}, at ${at}`);
        assert.deepEqual(feed([bytes]), { state: INVALID, failedAt: at });
      }
      // And a valid two-byte character there is accepted.
      const bytes = new Uint8Array(run.length + offset).subarray(offset);
      bytes.set(run);
      bytes.set([0xc3, 0xa9], Math.min(at, run.length - 2));
      assert.equal(validateUtf8(bytes), COMPLETE, `offset ${offset}, é at ${at}`);
    }
  }
  // A megabyte of text in every script the tests know, in random pieces.
  const text = new TextEncoder().encode("héllo wörld €𝄞 Привет κόσμε ".repeat(30_000));
  const random = createRandom(9);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < text.length;) {
    const n = 1 + Math.floor(random() * 4096);
    pieces.push(text.subarray(at, at + n));
    at += n;
  }
  assert.deepEqual(feed([text]), { state: COMPLETE, failedAt: -1 });
  assert.deepEqual(feed(pieces), { state: COMPLETE, failedAt: -1 });
  const broken = concat([text, hex("ed a0 80")]);
  assert.equal(feed([broken]).failedAt, text.length + 1);
});
