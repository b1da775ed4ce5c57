/**
 * A publication on a resumable topic of a Durable Object: numbered in the
 * object's history, then sent to the topic's subscribers, resume sockets
 * and plain ones alike.
 *
 * @module
 */
import { Publication } from "../core/publication.ts";
import { type SendData, toBytes } from "../core/send_data.ts";
import type { WebSocketContext } from "../core/web_socket_context.ts";
import type { DurableObjectHistoryStore } from "./durable_object_history_store.ts";
import { Phase, ResumableObjectContext } from "./durable_object_resume_context.ts";

/**
 * Publishes on a resumable topic: numbered in the history, then sent to
 * the subscribers, resume sockets as `pub` frames (the publisher's own
 * with its position only), plain ones as the bare message.
 *
 * @param topic The topic.
 * @param data The payload.
 * @param options The object's history, the topic's subscribers, and the
 * publishing socket (`except`).
 * @returns How many subscribers it was sent to.
 * @throws {TypeError} For a `Blob` (publish its bytes).
 *
 * @example
 * ```ts ignore
 * const history = new DurableObjectHistoryStore(ctx.storage);
 * const sent = publishResumable("room", "hi", {
 *   history,
 *   contexts: sockets.getContexts("room"),
 *   except: undefined,
 * });
 * ```
 */
export function publishResumable<D>(
  topic: string,
  data: SendData,
  options: {
    history: DurableObjectHistoryStore;
    contexts: Array<WebSocketContext<D, WebSocket>>;
    except: unknown;
  },
): number {
  const { history, contexts, except } = options;
  if (data instanceof Blob) {
    throw new TypeError("Cannot publish a Blob on a resumable topic: publish its bytes");
  }
  const kept = typeof data === "string" ? data : toBytes(data).slice();
  const origin = except instanceof ResumableObjectContext ? except.id : undefined;
  const position = history.append(topic, kept, origin);
  const publication = new Publication(topic, position, kept, origin);
  let sent = 0;
  for (const ws of contexts) {
    if (ws instanceof ResumableObjectContext) {
      if (ws === except) ws.write(publication.positionText);
      else if (ws.phase === Phase.Live || ws.phase === Phase.Welcoming) {
        ws.write(publication.text);
        sent++;
      }
    } else if (ws !== except) {
      ws.send(kept);
      sent++;
    }
  }
  return sent;
}
