/** An in-process resumable route on Deno's native server, for the client's tests. */
import { Hono } from "hono";
import { defaultPubSub, MemoryHistoryStore, upgradeWebSocket } from "../../mod.ts";
import { FaultProxy } from "../_util/fault_proxy.ts";

/** What the server saw. */
export interface ServerLog {
  messages: string[];
  /** On `/bytes` (binaryType "uint8array"): each binary message, as `ws.binaryType:kind:bytes`. */
  binary: string[];
  opens: number;
  closes: number[];
}

/** A running server, with a fault proxy in front of it. */
export interface ResumeServer {
  log: ServerLog;
  proxy: FaultProxy;
  url: string;
  plainUrl: string;
  bytesUrl: string;
  close(): Promise<void>;
}

defaultPubSub.useHistory(new MemoryHistoryStore({ maxEntries: 20_000 }), {
  topics: (t) => t.startsWith("client-test:"),
});

/** Starts the server and a proxy (no faults unless asked). */
export function startResumeServer(options: { retention?: number } = {}): ResumeServer {
  const log: ServerLog = { messages: [], binary: [], opens: 0, closes: [] };
  const app = new Hono();
  app.get(
    "/ws",
    upgradeWebSocket((c) => ({
      onOpen(_e, ws) {
        log.opens++;
        ws.subscribe(c.req.query("topic") ?? "client-test:main");
      },
      onMessage(e, ws) {
        log.messages.push(e.data as string);
        if (e.data === "end") ws.close(1000, "done");
        if (e.data === "echo-binary") ws.send(new Uint8Array([1, 2, 3]));
      },
      onClose: (e) => void log.closes.push(e.code),
    }), { resume: { retention: options.retention ?? 30_000 } }),
  );
  app.get("/plain", upgradeWebSocket(() => ({ onOpen: (_e, ws) => ws.send("plain") })));
  app.get(
    "/bytes",
    upgradeWebSocket(() => ({
      onMessage(e, ws) {
        const data: unknown = e.data;
        const kind = data instanceof Uint8Array ? "view" : data?.constructor.name;
        const bytes = data instanceof Uint8Array ? [...data].join(",") : "";
        log.binary.push(`${ws.binaryType}:${kind}:${bytes}`);
      },
    }), { resume: { retention: 30_000 }, binaryType: "uint8array" }),
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const proxy = FaultProxy.start({
    target: { port: server.addr.port },
    cutBytes: null,
    cutMs: null,
  });
  proxy.faults = false;
  return {
    log,
    proxy,
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    plainUrl: `ws://127.0.0.1:${proxy.port}/plain`,
    bytesUrl: `ws://127.0.0.1:${proxy.port}/bytes`,
    async close() {
      await proxy.close();
      await server.shutdown();
    },
  };
}
