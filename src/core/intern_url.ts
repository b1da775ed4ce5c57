/** One string for the URL that connections keep, while it stays the same. */

let last = "";

/**
 * The URL a connection keeps (`ws.url`), as one string shared by every
 * connection opened on the same URL in a row: a busy route's idle sockets
 * then keep one copy, not ~40 bytes each. Only the last URL is remembered,
 * so nothing grows with the number of routes or clients.
 *
 * @param url The request's URL.
 * @returns An equal string, the one kept before when it is the same.
 */
export function internUrl(url: string): string {
  if (url === last) return last;
  last = url;
  return url;
}
