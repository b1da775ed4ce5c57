/** The `Request` an upgrade is routed with on Node: cheap to make, real on demand. */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

/**
 * The app's view of an upgrade request: a `Request` by prototype that holds
 * only `url` (with `https:` on a TLS socket), `method` and `headers`, and
 * makes the real one when anything else is read.
 *
 * @param req The upgrade request.
 * @returns The request for the app's fetch.
 */
export function toUpgradeRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
  const url = `${scheme}://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  // Request, as of now: @hono/node-server swaps in its own at serve().
  if (Object.getPrototypeOf(UpgradeRequest.prototype) !== Request.prototype) {
    Object.setPrototypeOf(UpgradeRequest.prototype, Request.prototype);
  }
  return new UpgradeRequest(url, req.method ?? "GET", headers) as unknown as Request;
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
