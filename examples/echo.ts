/**
 * The echo app: `/echo` returns every message with its type (text stays
 * text, binary stays binary), up to the maximum message size. `/foo` and
 * `/bar` are two different handlers on one server, as in the seeds.
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "../mod.ts";

/** Largest echoed message: 64 MiB, the default. */
export const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** Builds the echo app. */
export function createEchoApp(): Hono {
  const app = new Hono();
  app.get(
    "/",
    (c) => c.text("edgesocket echo: connect to /echo, /foo or /bar\n"),
  );
  app.get(
    "/echo",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data as string | ArrayBuffer);
      },
    }), { protocols: ["echo", "chat"], maxMessageSize: MAX_MESSAGE_SIZE }),
  );
  app.get(
    "/foo",
    upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.send("foo") })),
  );
  app.get(
    "/bar",
    upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.send("bar") })),
  );
  return app;
}

export default createEchoApp();
