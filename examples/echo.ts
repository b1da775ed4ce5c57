/**
 * The echo app: `/echo` returns every message with its type (text stays
 * text, binary stays binary), up to the maximum message size. `/foo` and
 * `/bar` are two different handlers on one server, as in the seeds. `/` is
 * a page that talks to `/echo`; `/healthz` answers `{ ok, connections }`.
 * `deno task serve:echo` (Deno) and `deno task serve:echo:node` (Node) serve it.
 */
import { Hono } from "hono";
import { openConnectionCount, upgradeWebSocket } from "../mod.ts";

/** Largest echoed message: 64 MiB, the default. */
export const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

// The page: sends what is typed to /echo and shows what comes back.
const ECHO_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgesocket echo</title>
<h1>edgesocket echo</h1>
<p>WebSocket routes: <code>/echo</code> returns every message, <code>/foo</code> and
<code>/bar</code> greet. <code>/healthz</code> counts the open connections.</p>
<form id="form"><input id="text" value="hello" autocomplete="off"> <button>Send to /echo</button></form>
<pre id="log"></pre>
<script type="module">
  const log = (line) => (document.getElementById("log").textContent += line + "\\n");
  const url = new URL("/echo", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onopen = () => log("open " + url);
  ws.onmessage = (event) => log("← " + event.data);
  ws.onclose = (event) => log("closed " + event.code);
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    const text = document.getElementById("text").value;
    ws.send(text);
    log("→ " + text);
  };
</script>
</html>
`;

/** Builds the echo app. */
export function createEchoApp(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(ECHO_PAGE));
  app.get("/healthz", (c) => c.json({ ok: true, connections: openConnectionCount() }));
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
