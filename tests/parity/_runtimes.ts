/**
 * The five real runtimes the parity suite serves tests/fixtures/app.ts on,
 * each as its own process, and what each cannot do (with why). Deno runs
 * twice: natively (`deno serve`, `Deno.upgradeWebSocket`) and with the codec
 * over its `node:http` (`serveWithCodec()`, "deno-codec").
 */
import {
  BIN,
  type ServerProcess,
  startBun,
  startDeno,
  startNode,
  startProcess,
  startWorkerd,
} from "../_util/server_process.ts";

/** A runtime under test. */
export type RuntimeName = "deno" | "deno-codec" | "node" | "workerd" | "bun";

/** How to start the test app on each runtime. */
export const START: Record<RuntimeName, () => Promise<ServerProcess>> = {
  deno: () => startDeno("tests/fixtures/app.ts"),
  "deno-codec": () =>
    startProcess(BIN.deno, ["run", "-A", "tests/fixtures/deno_codec_app.ts"], {
      ready: /listening (\d+)/,
    }),
  node: () => startNode("tests/fixtures/node_app.ts"),
  workerd: () => startWorkerd("tests/fixtures/worker.ts"),
  bun: () => startBun("tests/fixtures/bun_app.ts"),
};

/**
 * The documented exceptions: a case asserts the runtime's actual behaviour
 * there, so a runtime that gains the feature fails the suite until the
 * table (and the README) is updated.
 */
export const CANNOT: {
  ping: Partial<Record<RuntimeName, string>>;
  middlewareHeadersOn101: Partial<Record<RuntimeName, string>>;
  refuseBadHandshake: Partial<Record<RuntimeName, string>>;
  echoCloseReason: Partial<Record<RuntimeName, string>>;
  topics: Partial<Record<RuntimeName, string>>;
  drain: Partial<Record<RuntimeName, string>>;
  protocolErrorEvent: Partial<Record<RuntimeName, string>>;
} = {
  ping: {
    deno: "Deno's WebSocket has no ping() (its idleTimeout pings on its own)",
    workerd: "Workers' WebSocket has no ping()",
  },
  middlewareHeadersOn101: {
    bun: "Bun writes the 101 inside server.upgrade(), before outer middleware resumes after next()",
  },
  refuseBadHandshake: {
    workerd: "workerd's HTTP server checks the handshake before the Worker runs: its own 400 " +
      "for another version or no key, and any key accepted (the Worker sees one workerd made)",
  },
  echoCloseReason: {},
  topics: {
    workerd: "a stateless Worker may write to a socket only from the request that accepted " +
      "it: publish() throws Workers' I/O error; topics run in a Durable Object",
  },
  drain: {
    workerd: "Workers' WebSocket reports no bufferedAmount, so a queue never backs up and " +
      "onDrain never fires",
  },
  protocolErrorEvent: {
    workerd: "workerd (under wrangler dev) deals with a peer's protocol violation before the " +
      "Worker: it drops the TCP connection (and answers an oversize ping), and the Worker's " +
      "socket gets neither an error nor a close event",
  },
};

/** Whether this is CI, where nothing may be skipped. */
export function isCI(): boolean {
  const value = Deno.env.get("CI") ?? "";
  return value !== "" && value !== "false" && value !== "0";
}
