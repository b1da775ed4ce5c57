/**
 * A random id of `bytes` bytes from the platform's CSPRNG, as base64url
 * without padding (RFC 4648 §5): session tokens (32 bytes, 256 bits) and
 * stream epochs (9 bytes).
 *
 * @param bytes How many random bytes.
 * @returns The id.
 *
 * @example
 * ```ts ignore
 * createRandomId(32).length; // 43
 * ```
 */
export function createRandomId(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  let binary = "";
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
