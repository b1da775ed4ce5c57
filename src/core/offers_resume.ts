/**
 * Whether an upgrade request offers the resume protocol
 * (`edgesocket.resume.v1` among its subprotocols), for the routes that
 * answer resume clients apart from plain ones.
 *
 * @module
 */
import { isUpgradeRequest } from "../codec/mod.ts";
import { RESUME_PROTOCOL } from "../protocol/resume_protocol.ts";

/**
 * Whether a request is an upgrade that offers the resume protocol.
 *
 * @param request The request.
 * @returns `true` for a resume client's upgrade.
 *
 * @example
 * ```ts ignore
 * const request = new Request("https://example.com/ws", {
 *   headers: {
 *     Upgrade: "websocket",
 *     Connection: "Upgrade",
 *     "Sec-WebSocket-Protocol": "chat, edgesocket.resume.v1",
 *   },
 * });
 * offersResume(request); // true
 * ```
 */
export function offersResume(request: Request): boolean {
  if (!isUpgradeRequest(request.headers)) return false;
  const offers = request.headers.get("sec-websocket-protocol") ?? "";
  return offers.split(",").some((offer) => offer.trim() === RESUME_PROTOCOL);
}
