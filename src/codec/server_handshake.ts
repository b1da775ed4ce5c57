import { computeAcceptKey } from "./accept_key.ts";
import { isWebSocketKey } from "./base64.ts";
import { type ExtensionOffer, parseExtensionOffers } from "./extension_offers.ts";
import { HandshakeError } from "./handshake_error.ts";
import { hasHeaderToken, isHttpToken, splitHeaderList } from "./header_tokens.ts";

/** Headers as a `Headers` object or a Node-style record. */
export type HeadersInput =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

/** An HTTP request that asks to upgrade, as the codec needs to see it. */
export interface UpgradeRequest {
  /** The request method. */
  method: string;
  /** The request headers. */
  headers: HeadersInput;
  /** `"1.1"`, `"2"` …, where the server knows it. */
  httpVersion?: string;
}

/** A valid upgrade request, read. */
export interface ValidatedUpgrade {
  /** The client's `Sec-WebSocket-Key`. */
  key: string;
  /** The subprotocols the client offered, in its order. */
  protocols: string[];
  /** The extensions the client offered, in its order. */
  extensions: ExtensionOffer[];
}

/**
 * Reads a header from a `Headers` object or a Node-style record.
 *
 * @param headers The headers.
 * @param name The header name, lower case.
 * @returns The value (repeated headers joined with `, `), or `null`.
 *
 * @example
 * ```ts
 * import { getHeader } from "@edgesocket/edgesocket/codec";
 * console.log(getHeader({ upgrade: "websocket" }, "upgrade")); // "websocket"
 * ```
 */
export function getHeader(headers: HeadersInput, name: string): string | null {
  if (typeof headers.get === "function") {
    return (headers as { get(name: string): string | null }).get(name);
  }
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    // Node lower-cases header names; a hand-made record may not.
    for (const key in record) {
      if (key.toLowerCase() === name) value = record[key];
    }
  }
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Whether a request asks for a WebSocket upgrade at all (`Upgrade` holds the
 * token `websocket`). A request that does not is answered 426 by the
 * middleware; one that does but is malformed fails
 * {@linkcode validateUpgradeRequest} with 400.
 *
 * @param headers The request headers.
 * @returns `true` when the client asks for a WebSocket.
 *
 * @example
 * ```ts
 * import { isUpgradeRequest } from "@edgesocket/edgesocket/codec";
 * console.log(isUpgradeRequest(new Headers({ upgrade: "WebSocket" }))); // true
 * ```
 */
export function isUpgradeRequest(headers: HeadersInput): boolean {
  return hasHeaderToken(getHeader(headers, "upgrade"), "websocket");
}

/**
 * Validates a server-side opening handshake (RFC 6455 §4.2.1).
 *
 * @param request Method, headers and, where known, the HTTP version.
 * @returns The key, the offered subprotocols and the extension offers.
 * @throws {HandshakeError} 426 with `Sec-WebSocket-Version: 13` for another
 * version; 400 with a one-line reason for any other failure.
 *
 * @example
 * ```ts
 * import { validateUpgradeRequest } from "@edgesocket/edgesocket/codec";
 * const upgrade = validateUpgradeRequest({
 *   method: "GET",
 *   headers: new Headers({
 *     upgrade: "websocket",
 *     connection: "keep-alive, Upgrade",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *     "sec-websocket-version": "13",
 *   }),
 * });
 * console.log(upgrade.key); // "dGhlIHNhbXBsZSBub25jZQ=="
 * ```
 */
export function validateUpgradeRequest(
  request: UpgradeRequest,
): ValidatedUpgrade {
  const { headers } = request;
  if (request.method !== "GET") {
    throw new HandshakeError(400, "WebSocket upgrade must use GET");
  }
  if (request.httpVersion !== undefined && request.httpVersion === "1.0") {
    throw new HandshakeError(400, "WebSocket upgrade needs HTTP/1.1");
  }
  if (!isUpgradeRequest(headers)) {
    throw new HandshakeError(400, "Upgrade header must contain websocket");
  }
  if (!hasHeaderToken(getHeader(headers, "connection"), "upgrade")) {
    throw new HandshakeError(400, "Connection header must contain upgrade");
  }
  const version = getHeader(headers, "sec-websocket-version")?.trim();
  if (version !== "13") {
    throw new HandshakeError(
      426,
      "Unsupported Sec-WebSocket-Version: only 13 is supported",
      { "Sec-WebSocket-Version": "13" },
    );
  }
  const key = getHeader(headers, "sec-websocket-key")?.trim();
  if (!key) {
    throw new HandshakeError(400, "Missing Sec-WebSocket-Key header");
  }
  if (!isWebSocketKey(key)) {
    throw new HandshakeError(
      400,
      "Sec-WebSocket-Key must be base64 of 16 bytes",
    );
  }
  const protocols = splitHeaderList(
    getHeader(headers, "sec-websocket-protocol"),
  );
  for (const protocol of protocols) {
    if (!isHttpToken(protocol)) {
      throw new HandshakeError(400, "Invalid Sec-WebSocket-Protocol header");
    }
  }
  let extensions: ExtensionOffer[];
  try {
    extensions = parseExtensionOffers(
      getHeader(headers, "sec-websocket-extensions"),
    );
  } catch {
    throw new HandshakeError(400, "Invalid Sec-WebSocket-Extensions header");
  }
  return { key, protocols, extensions };
}

/**
 * How the server picks a subprotocol: a preference list (the first the
 * client offered wins), or a callback given the client's offers.
 */
export type ProtocolSelector =
  | readonly string[]
  | ((offered: readonly string[]) => string | undefined | null);

/**
 * Picks a subprotocol. Never answers one the client did not offer: a callback
 * that returns anything else selects none.
 *
 * @param offered The client's `Sec-WebSocket-Protocol` list.
 * @param selector The server's preference list or callback.
 * @returns The chosen protocol, or `undefined` for none.
 *
 * @example
 * ```ts
 * import { selectProtocol } from "@edgesocket/edgesocket/codec";
 * console.log(selectProtocol(["a", "b"], ["b", "a"])); // "b"
 * ```
 */
export function selectProtocol(
  offered: readonly string[],
  selector: ProtocolSelector | undefined,
): string | undefined {
  if (!selector || offered.length === 0) return undefined;
  if (typeof selector === "function") {
    const chosen = selector(offered);
    return chosen && offered.includes(chosen) ? chosen : undefined;
  }
  return selector.find((p) => offered.includes(p));
}

/**
 * Builds the headers of the 101 response.
 *
 * @param key The client's `Sec-WebSocket-Key`.
 * @param options The chosen subprotocol and extensions header, if any.
 * @returns Header names and values.
 *
 * @example
 * ```ts
 * import { createAcceptHeaders } from "@edgesocket/edgesocket/codec";
 * const headers = createAcceptHeaders("dGhlIHNhbXBsZSBub25jZQ==");
 * console.log(headers["Sec-WebSocket-Accept"]); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function createAcceptHeaders(
  key: string,
  options: { protocol?: string; extensions?: string } = {},
): Record<string, string> {
  const headers: Record<string, string> = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Accept": computeAcceptKey(key),
  };
  if (options.protocol) headers["Sec-WebSocket-Protocol"] = options.protocol;
  if (options.extensions) {
    headers["Sec-WebSocket-Extensions"] = options.extensions;
  }
  return headers;
}
