/**
 * The portable RFC 6455 codec: sans-I/O, no runtime imports. Bytes in,
 * messages and bytes out; handshake validation and hashing; frame encoding,
 * decoding and masking. Use it to put WebSocket on any byte stream.
 *
 * @example Validate an upgrade and answer it
 * ```ts
 * import { createAcceptHeaders, validateUpgradeRequest } from "@edgesocket/edgesocket/codec";
 * const { key } = validateUpgradeRequest({
 *   method: "GET",
 *   headers: {
 *     upgrade: "websocket",
 *     connection: "Upgrade",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *     "sec-websocket-version": "13",
 *   },
 * });
 * console.log(createAcceptHeaders(key)["Sec-WebSocket-Accept"]); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 *
 * @module
 */
export * from "./accept_key.ts";
export * from "./base64.ts";
export * from "./client_handshake.ts";
export * from "./close_code.ts";
export * from "./deflate_engine.ts";
export * from "./extension_offers.ts";
export * from "./frame_decoder.ts";
export * from "./frame_encoder.ts";
export * from "./handshake_error.ts";
export * from "./header_tokens.ts";
export * from "./mask.ts";
export * from "./negotiate_per_message_deflate.ts";
export * from "./opcode.ts";
export * from "./per_message_deflate.ts";
export * from "./protocol_error.ts";
export * from "./server_handshake.ts";
export * from "./sha1.ts";
export * from "./validate_utf8.ts";
export * from "./web_socket_protocol.ts";
