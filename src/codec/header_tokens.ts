/**
 * Splits a comma-separated header value into trimmed, non-empty tokens
 * (RFC 9110 §5.6.1 lists). No regex, so no backtracking on hostile input.
 *
 * @param value The header value, or `null` when absent.
 * @returns The tokens, in order.
 *
 * @example
 * ```ts
 * import { splitHeaderList } from "@edgesocket/edgesocket/codec";
 * console.log(splitHeaderList("keep-alive, Upgrade")); // ["keep-alive", "Upgrade"]
 * ```
 */
export function splitHeaderList(value: string | null | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const token = part.trim();
    if (token !== "") out.push(token);
  }
  return out;
}

/**
 * Whether a comma-separated header value holds a token, compared without
 * regard to ASCII case (`Connection: keep-alive, Upgrade` holds `upgrade`).
 *
 * @param value The header value, or `null` when absent.
 * @param token The token to look for, in lower case.
 * @returns `true` when present.
 *
 * @example
 * ```ts
 * import { hasHeaderToken } from "@edgesocket/edgesocket/codec";
 * console.log(hasHeaderToken("keep-alive, Upgrade", "upgrade")); // true
 * ```
 */
export function hasHeaderToken(
  value: string | null | undefined,
  token: string,
): boolean {
  if (!value) return false;
  // Scanned in place: split() and trim() would make strings on every upgrade.
  const end = value.length;
  let at = 0;
  while (at <= end) {
    let comma = value.indexOf(",", at);
    if (comma === -1) comma = end;
    let from = at;
    let to = comma;
    while (from < to && isListSpace(value.charCodeAt(from))) from++;
    while (to > from && isListSpace(value.charCodeAt(to - 1))) to--;
    if (to > from && to - from === token.length && matchesLowerCase(value, from, token)) {
      return true;
    }
    at = comma + 1;
  }
  return false;
}

// What trim() takes off a list member that can matter in a header: OWS
// (space, tab) and the line breaks a hand-made value may hold.
function isListSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

// Whether value[from …] equals `lower` (lower case) without regard to ASCII case.
function matchesLowerCase(value: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = value.charCodeAt(from + i);
    const l = lower.charCodeAt(i);
    if (c !== l && !(c >= 0x41 && c <= 0x5a && c + 0x20 === l)) return false;
  }
  return true;
}

const TCHAR = "!#$%&'*+-.^_`|~";

/**
 * Whether a string is an HTTP token (RFC 9110 §5.6.2).
 *
 * @param value The candidate.
 * @returns `true` for a non-empty run of token characters.
 *
 * @example
 * ```ts
 * import { isHttpToken } from "@edgesocket/edgesocket/codec";
 * console.log(isHttpToken("chat.v2"), isHttpToken("a b")); // true false
 * ```
 */
export function isHttpToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a);
    if (!alnum && TCHAR.indexOf(value[i]) === -1) return false;
  }
  return true;
}
