/** Test helpers: cut a byte string into the chunkings every decoder test uses. */

export { createRandom } from "../../tools/fuzz.ts";
import { createRandom } from "../../tools/fuzz.ts";

/** Parses "81 05 48 65" into bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/** The three ways every decoder case is fed: whole, byte by byte, random splits. */
export function chunkings(
  bytes: Uint8Array,
  seed = 1,
): Array<[string, Uint8Array[]]> {
  const random = createRandom(seed);
  const whole = [bytes.slice()];
  const bytewise: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) bytewise.push(bytes.slice(i, i + 1));
  const splits: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(random() * Math.min(bytes.length - i, 97));
    splits.push(bytes.slice(i, i + n));
    i += n;
  }
  return [["whole", whole], ["byte by byte", bytewise], [
    "random splits",
    splits,
  ]];
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Builds a frame by hand (mask key given, or none), independent of the encoder. */
export function frame(
  opcode: number,
  payload: Uint8Array,
  options: {
    fin?: boolean;
    rsv?: number;
    mask?: number[] | null;
    len64?: boolean;
  } = {},
): Uint8Array {
  const fin = options.fin ?? true;
  const mask = options.mask === undefined ? [0x37, 0xfa, 0x21, 0x3d] : options.mask;
  const head: number[] = [
    (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode,
  ];
  const m = mask ? 0x80 : 0;
  const n = payload.length;
  if (n < 126 && !options.len64) head.push(m | n);
  else if (n < 65536 && !options.len64) head.push(m | 126, n >> 8, n & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  }
  const body = payload.slice();
  if (mask) {
    head.push(...mask);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  }
  return concat([new Uint8Array(head), body]);
}

/** Random bytes of any length (getRandomValues stops at 64 KiB). */
export function randomBytes(n: number, seed = 3): Uint8Array {
  const random = createRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 256) | 0;
  return out;
}
