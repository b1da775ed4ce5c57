/**
 * Bun with a server-wide `maxPayloadLength` of 4 KiB (`PORT=… bun run
 * tests/bun/_size_limits_app.ts`), and echo routes whose own limit is
 * smaller (`/smaller`: 1 KiB, enforced by the session), equal (`/equal`:
 * 4 KiB, Bun's own check only) or larger (`/larger`: 8 KiB, Bun's check
 * still wins). The reason of the 1009 tells which closed the socket.
 */
import { Hono } from "hono";
import { createBunWebSocket } from "../../src/entries/bun.ts";

const { upgradeWebSocket, websocket } = createBunWebSocket({ maxPayloadLength: 4096 });
const app = new Hono();
for (
  const [path, maxMessageSize] of [["/smaller", 1024], ["/equal", 4096], ["/larger", 8192]] as const
) {
  app.get(
    path,
    upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(event.data as string) }), {
      maxMessageSize,
    }),
  );
}

export default { hostname: "127.0.0.1", fetch: app.fetch, websocket };
