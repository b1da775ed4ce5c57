/**
 * The echo app over HTTPS and wss:// on Node 20: `serve({ tls })` with the
 * PEM files CERT_FILE and KEY_FILE (KEY_PASSPHRASE if the key is encrypted;
 * CA_FILE for the intermediates the chain is completed from).
 * `/page` is a page whose script echoes one message through `wss://` and
 * shows the answer; `/whoami` sends the URL the app saw. Prints its port.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { serve } from "../../src/adapters/node.ts";
import { upgradeWebSocket } from "../../mod.ts";
import { createEchoApp } from "../../examples/echo.ts";

const PAGE = `<!doctype html>
<title>wss echo</title>
<p id="status">connecting</p>
<script>
  const ws = new WebSocket("wss://" + location.host + "/echo");
  const status = document.getElementById("status");
  ws.onopen = () => ws.send("hello from " + location.protocol);
  ws.onmessage = (event) => (status.textContent = "echo: " + event.data);
  ws.onerror = () => (status.textContent = "error");
</script>
`;

const env = process.env;
const app = createEchoApp();
app.get("/page", (c) => c.html(PAGE));
app.get(
  "/whoami",
  upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.send(String(ws.url)) })),
);

serve({
  fetch: app.fetch,
  port: 0,
  hostname: "127.0.0.1",
  tls: {
    cert: readFileSync(env.CERT_FILE!, "utf8"),
    key: readFileSync(env.KEY_FILE!),
    passphrase: env.KEY_PASSPHRASE,
    ca: env.CA_FILE ? readFileSync(env.CA_FILE, "utf8") : undefined,
  },
}, (info) => console.log(`listening ${info.port}`));
