/**
 * What {@linkcode validateUtf8} returns besides the states between the bytes
 * of one code point, which only mean "carry on".
 *
 * @example
 * ```ts
 * import { Utf8State, validateUtf8 } from "@edgesocket/edgesocket/codec";
 * console.log(validateUtf8(new Uint8Array([0x68, 0x69])) === Utf8State.Complete); // true
 * console.log(validateUtf8(new Uint8Array([0xc0, 0x80])) === Utf8State.Invalid); // true
 * ```
 */
export const Utf8State = {
  /** Every sequence so far is complete: a text message may end here. */
  Complete: 0,
  /** A byte that no valid UTF-8 could have there was seen; final. */
  Invalid: 8,
} as const;

const INVALID = Utf8State.Invalid;

// States 1 to 7 are "inside a code point": the range the next byte must lie
// in, and the state it leads to. Unicode 15 table 3-7 (RFC 3629 §4): the
// second byte's range is what rules out overlong forms (E0, F0), surrogates
// (ED) and code points past U+10FFFF (F4), so each fails at the byte that
// makes it so, not at the end of the sequence.
//            state: 0     1     2     3     4     5     6     7
const LOW = new Uint8Array([0, 0x80, 0x80, 0xa0, 0x80, 0x80, 0x90, 0x80]);
const HIGH = new Uint8Array([0, 0xbf, 0xbf, 0xbf, 0x9f, 0xbf, 0xbf, 0x8f]);
const NEXT = new Uint8Array([0, 0, 1, 1, 1, 2, 2, 2]);

// The state a lead byte starts: 0 for ASCII, INVALID for 80–C1 and F5–FF.
const LEAD = new Uint8Array(256).fill(INVALID);
LEAD.fill(0, 0x00, 0x80);
LEAD.fill(1, 0xc2, 0xe0); // C2–DF: one more byte
LEAD[0xe0] = 3; // E0 A0–BF: not overlong
LEAD.fill(2, 0xe1, 0xf0); // E1–EF: two more bytes
LEAD[0xed] = 4; // ED 80–9F: not a surrogate
LEAD[0xf0] = 6; // F0 90–BF: not overlong
LEAD.fill(5, 0xf1, 0xf4); // F1–F3: three more bytes
LEAD[0xf4] = 7; // F4 80–8F: not past U+10FFFF

// Below this, a 32-bit view costs more than it saves.
const WORD_THRESHOLD = 64;

/**
 * Checks UTF-8 incrementally, one piece at a time, as the bytes of a text
 * message arrive: pass each call the state the previous one returned. A
 * code point may be split anywhere between pieces. The first byte that no
 * valid UTF-8 could have there (an overlong form, a surrogate, a code point
 * past U+10FFFF, a stray continuation byte) gives
 * {@linkcode Utf8State.Invalid} at once, so a connection can fail with 1007
 * as soon as the octet arrives (RFC 6455 §8.1). It allocates nothing for
 * short pieces and decodes nothing: ASCII runs go a word at a time.
 *
 * @param bytes The next piece of the message.
 * @param state What the previous call returned ({@linkcode Utf8State.Complete}
 * for a message's first piece).
 * @returns {@linkcode Utf8State.Complete} when the piece ends between code
 * points, {@linkcode Utf8State.Invalid} once invalid, another state when it
 * ends inside a code point: a message that ends there is invalid (truncated).
 *
 * @example "€" (E2 82 AC) split across three pieces, then a truncated one
 * ```ts
 * import { Utf8State, validateUtf8 } from "@edgesocket/edgesocket/codec";
 * let state: number = Utf8State.Complete;
 * state = validateUtf8(new Uint8Array([0xe2]), state);
 * state = validateUtf8(new Uint8Array([0x82]), state);
 * state = validateUtf8(new Uint8Array([0xac]), state);
 * console.log(state === Utf8State.Complete); // true
 * console.log(validateUtf8(new Uint8Array([0xe2, 0x82])) === Utf8State.Complete); // false
 * ```
 */
export function validateUtf8(
  bytes: Uint8Array,
  state: number = Utf8State.Complete,
): number {
  // A state no call returns (or Invalid) stays invalid.
  if (!(state >= 0 && state < INVALID)) return INVALID;
  const length = bytes.length;
  let s = state;
  let i = 0;
  // The rest of a code point the previous piece began.
  for (; s !== 0; i++) {
    if (i === length) return s;
    const c = bytes[i];
    if (c < LOW[s] || c > HIGH[s]) return INVALID;
    s = NEXT[s];
  }
  // ASCII bytes in a row: a long run is skipped a word at a time.
  let run = 0;
  while (i < length) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      if (++run === 16) {
        i = skipAscii(bytes, i);
        run = 0;
      }
      continue;
    }
    run = 0;
    s = LEAD[c];
    if (s === INVALID) return INVALID;
    // The whole sequence in this piece: the usual case, checked inline.
    const size = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (i + size <= length) {
      const c1 = bytes[i + 1];
      if (c1 < LOW[s] || c1 > HIGH[s]) return INVALID;
      if (size > 2 && (bytes[i + 2] & 0xc0) !== 0x80) return INVALID;
      if (size > 3 && (bytes[i + 3] & 0xc0) !== 0x80) return INVALID;
      s = 0;
      i += size;
      continue;
    }
    // The piece ends inside this code point: carry the state.
    for (i++; i < length; i++) {
      const c1 = bytes[i];
      if (c1 < LOW[s] || c1 > HIGH[s]) return INVALID;
      s = NEXT[s];
    }
    return s;
  }
  return 0;
}

// Returns the index of the first byte at or after `from` that is not ASCII.
function skipAscii(bytes: Uint8Array, from: number): number {
  const length = bytes.length;
  let i = from;
  if (length - i >= WORD_THRESHOLD) {
    // Up to a 4-byte-aligned address, as Uint32Array requires.
    for (; (bytes.byteOffset + i) & 3; i++) if (bytes[i] >= 0x80) return i;
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (length - i) >>> 2);
    const count = words.length;
    let w = 0;
    for (; w + 4 <= count; w += 4) {
      if ((words[w] | words[w + 1] | words[w + 2] | words[w + 3]) & 0x80808080) break;
    }
    for (; w < count; w++) if (words[w] & 0x80808080) break;
    i += w << 2;
  }
  for (; i + 8 <= length; i += 8) {
    if (
      (bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3] | bytes[i + 4] | bytes[i + 5] |
        bytes[i + 6] | bytes[i + 7]) & 0x80
    ) break;
  }
  for (; i < length; i++) if (bytes[i] >= 0x80) return i;
  return i;
}
