/** The `Request` an upgrade is routed with on Node: cheap to make, real on demand. */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

/**
 * The app's view of an upgrade request: a `Request` by prototype that holds
 * only `url` (with `https:` on a TLS socket), `method` and `headers`, and
 * makes the real one when anything else is read. Its headers are read from
 * the request's raw header lines, and a real `Headers` is made only when one
 * is iterated or changed.
 *
 * @param req The upgrade request.
 * @param baseUrl Where its URL is resolved (by default the scheme of its
 * socket and its `Host` header).
 * @returns The request for the app's fetch.
 */
export function toUpgradeRequest(req: IncomingMessage, baseUrl?: string): Request {
  const raw = req.rawHeaders;
  let url: string;
  if (baseUrl === undefined) {
    const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
    // The first Host line, as `req.headers.host` has it, without making
    // `req.headers` (Node builds that object on first use).
    const host = findRawHeader(raw, "host") ?? "localhost";
    url = `${scheme}://${host}${req.url ?? "/"}`;
  } else url = new URL(req.url ?? "/", baseUrl).href;
  // Request and Headers as of now: @hono/node-server swaps in its own
  // Request at serve().
  if (Object.getPrototypeOf(UpgradeRequest.prototype) !== Request.prototype) {
    Object.setPrototypeOf(UpgradeRequest.prototype, Request.prototype);
  }
  if (Object.getPrototypeOf(UpgradeHeaders.prototype) !== Headers.prototype) {
    Object.setPrototypeOf(UpgradeHeaders.prototype, Headers.prototype);
  }
  return new UpgradeRequest(
    url,
    req.method ?? "GET",
    new UpgradeHeaders(raw) as unknown as Headers,
  ) as unknown as Request;
}

// An undici Request costs some 10% of a handshake's CPU: its constructor
// parses the URL again, checks every init member and creates an
// AbortSignal. Routing and validating an upgrade read only `url`, `method`
// and `headers`, so the app gets a Request (by prototype) that has those
// three and makes the real one only when something else is read, the way
// @hono/node-server's own listener does.
class UpgradeRequest {
  #url: string;
  #method: string;
  #headers: Headers;
  #real: Request | undefined;

  constructor(url: string, method: string, headers: Headers) {
    this.#url = url;
    this.#method = method;
    this.#headers = headers;
  }

  get url(): string {
    return this.#url;
  }

  get method(): string {
    return this.#method;
  }

  get headers(): Headers {
    return this.#headers;
  }

  /** The undici Request, made on first use of anything else. */
  toRequest(): Request {
    return this.#real ??= new Request(this.#url, {
      method: this.#method,
      headers: this.#headers,
    });
  }
}
for (
  const key of [
    "body",
    "bodyUsed",
    "cache",
    "credentials",
    "destination",
    "integrity",
    "keepalive",
    "mode",
    "redirect",
    "referrer",
    "referrerPolicy",
    "signal",
  ]
) {
  Object.defineProperty(UpgradeRequest.prototype, key, {
    get(this: UpgradeRequest) {
      return this.toRequest()[key as keyof Request];
    },
  });
}
for (const key of ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"]) {
  Object.defineProperty(UpgradeRequest.prototype, key, {
    value(this: UpgradeRequest) {
      return (this.toRequest() as unknown as Record<string, () => unknown>)[key]();
    },
  });
}

// A `Headers` (by prototype) over the request's raw lines. Routing and the
// handshake only call get() and has(): a real Headers would validate,
// lower-case and store every line first (undici's append is a tenth of an
// upgrade's JavaScript). Anything else makes the real one and hands over.
class UpgradeHeaders {
  #raw: string[];
  #real: Headers | undefined;

  constructor(raw: string[]) {
    this.#raw = raw;
  }

  #toHeaders(): Headers {
    if (this.#real) return this.#real;
    const headers = new Headers();
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    return this.#real = headers;
  }

  get(name: string): string | null {
    if (this.#real) return this.#real.get(name);
    // Headers.get() joins repeated lines with ", ", in order.
    const raw = this.#raw;
    let value: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      if (isSameName(raw[i], name)) value = value === null ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
    }
    return value;
  }

  has(name: string): boolean {
    if (this.#real) return this.#real.has(name);
    return findRawHeader(this.#raw, name) !== undefined;
  }

  set(name: string, value: string): void {
    this.#toHeaders().set(name, value);
  }

  append(name: string, value: string): void {
    this.#toHeaders().append(name, value);
  }

  delete(name: string): void {
    this.#toHeaders().delete(name);
  }

  getSetCookie(): string[] {
    return this.#toHeaders().getSetCookie();
  }

  forEach(
    callback: (value: string, name: string, headers: Headers) => void,
    thisArg?: unknown,
  ): void {
    this.#toHeaders().forEach((value, name) => {
      callback.call(thisArg, value, name, this as unknown as Headers);
    });
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#toHeaders().entries();
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#toHeaders().keys();
  }

  values(): ReturnType<Headers["values"]> {
    return this.#toHeaders().values();
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.#toHeaders().entries();
  }
}

// The first raw line of a header, by name in any case.
function findRawHeader(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (isSameName(raw[i], name)) return raw[i + 1];
  return undefined;
}

// Header names compared without regard to ASCII case, and without making
// a lower-cased copy of either.
function isSameName(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && (x | 0x20) !== (y | 0x20)) return false;
    // Only letters may differ by 0x20: "@" and "`" may not.
    if (x !== y && ((x | 0x20) < 0x61 || (x | 0x20) > 0x7a)) return false;
  }
  return true;
}
