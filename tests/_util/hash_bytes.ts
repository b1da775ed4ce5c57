/** FNV-1a over the bytes, as 8 hex digits: what the `/bytes` and `/views` fixtures report of each message. */
export function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
