import { computeAcceptKey } from "./accept_key.ts";
import { encodeBase64 } from "./base64.ts";
import { type ExtensionOffer, parseExtensionOffers } from "./extension_offers.ts";
import { HandshakeError } from "./handshake_error.ts";
import { hasHeaderToken } from "./header_tokens.ts";
import { getHeader, type HeadersInput } from "./server_handshake.ts";

/** A client's opening handshake, ready to send. */
export interface ClientHandshake {
  /** The random `Sec-WebSocket-Key`, kept to check the answer. */
  key: string;
  /** The request headers to send with `GET`. */
  headers: Record<string, string>;
}

/**
 * Builds a client opening handshake (RFC 6455 §4.1) with a random key.
 *
 * @param options Subprotocols to offer and an optional extensions offer.
 * @returns The key and the request headers.
 *
 * @example
 * ```ts
 * import { createClientHandshake } from "@edgesocket/edgesocket/codec";
 * const { headers } = createClientHandshake({ protocols: ["chat"] });
 * console.log(headers["Sec-WebSocket-Protocol"]); // "chat"
 * ```
 */
export function createClientHandshake(
  options: { protocols?: readonly string[]; extensions?: string } = {},
): ClientHandshake {
  const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
  const headers: Record<string, string> = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
  };
  if (options.protocols?.length) {
    headers["Sec-WebSocket-Protocol"] = options.protocols.join(", ");
  }
  if (options.extensions) {
    headers["Sec-WebSocket-Extensions"] = options.extensions;
  }
  return { key, headers };
}

/**
 * Validates the server's answer to a client handshake (RFC 6455 §4.1).
 *
 * @param status The HTTP status received.
 * @param headers The response headers.
 * @param expected The key sent and the protocols offered.
 * @returns The protocol and extensions the server agreed.
 * @throws {HandshakeError} With the received status, when the answer is not
 * a valid 101 for this request.
 *
 * @example
 * ```ts
 * import { validateServerHandshake } from "@edgesocket/edgesocket/codec";
 * const agreed = validateServerHandshake(101, {
 *   upgrade: "websocket",
 *   connection: "Upgrade",
 *   "sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
 * }, { key: "dGhlIHNhbXBsZSBub25jZQ==" });
 * console.log(agreed.protocol); // ""
 * ```
 */
export function validateServerHandshake(
  status: number,
  headers: HeadersInput,
  expected: { key: string; protocols?: readonly string[] },
): { protocol: string; extensions: ExtensionOffer[] } {
  if (status !== 101) {
    throw new HandshakeError(status, `Expected status 101, got ${status}`);
  }
  if (!hasHeaderToken(getHeader(headers, "upgrade"), "websocket")) {
    throw new HandshakeError(status, "Upgrade header must be websocket");
  }
  if (!hasHeaderToken(getHeader(headers, "connection"), "upgrade")) {
    throw new HandshakeError(status, "Connection header must contain upgrade");
  }
  const accept = getHeader(headers, "sec-websocket-accept")?.trim();
  if (accept !== computeAcceptKey(expected.key)) {
    throw new HandshakeError(status, "Sec-WebSocket-Accept does not match");
  }
  const protocol = getHeader(headers, "sec-websocket-protocol")?.trim() ?? "";
  if (protocol !== "" && !expected.protocols?.includes(protocol)) {
    throw new HandshakeError(
      status,
      `Server chose unoffered protocol ${protocol}`,
    );
  }
  let extensions: ExtensionOffer[];
  try {
    extensions = parseExtensionOffers(
      getHeader(headers, "sec-websocket-extensions"),
    );
  } catch {
    throw new HandshakeError(status, "Invalid Sec-WebSocket-Extensions header");
  }
  return { protocol, extensions };
}
