/**
 * The app the layer-cost and fan-out benchmarks serve through edgesocket on
 * every runtime. Each route does the least its benchmark needs, so that a
 * bare server doing the same work is a fair baseline:
 *
 * - `/echo` sends every message back as it came (no subprotocols, no type
 *   prefix: examples/echo.ts also negotiates subprotocols);
 * - `/fanout` subscribes the socket to the topic `bench` when it opens;
 * - `/publish` publishes every message to `bench` (all subscribers; the
 *   publisher itself is not one).
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "../../mod.ts";

/** The topic of the fan-out benchmark. */
export const TOPIC = "bench";

/**
 * Builds the benchmark app.
 *
 * @returns The Hono app.
 */
export function createBenchApp(): Hono {
  const app = new Hono();
  app.get(
    "/echo",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data as string | ArrayBuffer);
      },
    })),
  );
  app.get(
    "/fanout",
    upgradeWebSocket(() => ({
      onOpen(_event, ws) {
        ws.subscribe(TOPIC);
      },
    })),
  );
  app.get(
    "/publish",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.publish(TOPIC, event.data as string | ArrayBuffer);
      },
    })),
  );
  return app;
}
