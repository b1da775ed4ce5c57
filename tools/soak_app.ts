/**
 * The soak test's app, the same on every runtime: examples/echo.ts's routes
 * (`/echo` echoes every message), and a topic for the broadcast phase:
 * `/fanout` subscribes the socket to `soak` when it opens, and every message
 * sent on `/publish` is published to `soak` (the publisher is not a
 * subscriber).
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "../mod.ts";
import { createEchoApp } from "../examples/echo.ts";

/** The broadcast phase's topic. */
export const SOAK_TOPIC = "soak";

/**
 * Builds the soak app.
 *
 * @returns The Hono app.
 */
export function createSoakApp(): Hono {
  const app = new Hono();
  app.get(
    "/fanout",
    upgradeWebSocket(() => ({
      onOpen(_event, ws) {
        ws.subscribe(SOAK_TOPIC);
      },
    })),
  );
  app.get(
    "/publish",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.publish(SOAK_TOPIC, event.data as string | ArrayBuffer);
      },
    })),
  );
  app.route("/", createEchoApp());
  return app;
}
