/**
 * Makes `ws instanceof WSContext` (Hono's class, from `hono/ws`) hold for the
 * `ws` the handlers get, as it does with Hono's own helpers: an app that
 * tells its sockets apart that way (`client instanceof WSContext ? … : …`)
 * keeps working when it moves over. Imported for its effect by the modules
 * that make contexts.
 *
 * @module
 */
import * as honoWs from "hono/ws";
import { WebSocketContext } from "../core/web_socket_context.ts";

// A namespace import, not a named one: a Hono without the class still links.
const WSContext = (honoWs as { WSContext?: unknown }).WSContext;
if (
  typeof WSContext === "function" &&
  Object.getPrototypeOf(WebSocketContext.prototype) === Object.prototype &&
  coversAll(WSContext.prototype)
) {
  Object.setPrototypeOf(WebSocketContext.prototype, WSContext.prototype);
}

// Whether every member of Hono's prototype (send, close, readyState in
// Hono 4) is one of WebSocketContext's own, so that none of Hono's code
// runs on our sockets (it would read Hono's private fields) and only
// `instanceof` sees the link. A later Hono with more members is left
// unlinked rather than half-working.
function coversAll(prototype: object): boolean {
  return Object.getOwnPropertyNames(prototype).every((name) =>
    name === "constructor" || name in WebSocketContext.prototype
  );
}
