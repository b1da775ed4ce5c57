/**
 * Starts the demo app's real servers (examples/serve_deno.ts,
 * serve_node.ts, serve_bun.ts, and worker.ts under workerd) for the chat
 * tests, and logs in over HTTP.
 */
import {
  BIN,
  freePort,
  type ServerProcess,
  startNode,
  startProcess,
  startWrangler,
} from "../_util/server_process.ts";

/** How a chat server is started. */
export interface ChatServerOptions {
  /** The port (default: a free one). */
  port?: number;
  /** The cookie secret (default: a fixed test one). */
  secret?: string;
  /** `REDIS_URL`: the topics on Redis (default: none). */
  redisUrl?: string;
  /** More of the server's environment (`HISTORY_ENTRIES`, say), on Deno and Node. */
  env?: Record<string, string>;
}

/** The secret the tests sign with unless told otherwise. */
export const TEST_SECRET = "chat test secret";

/**
 * Runs examples/serve_deno.ts under Deno.
 *
 * @param options Port and secret.
 * @returns The running server.
 */
export async function startChatDeno(options: ChatServerOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? freePort();
  return await startProcess(BIN.deno, ["run", "-A", "examples/serve_deno.ts"], {
    ready: /listening (\d+)/,
    env: {
      PORT: `${port}`,
      HOST: "127.0.0.1",
      SECRET: options.secret ?? TEST_SECRET,
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      ...options.env,
    },
  });
}

/**
 * Runs examples/serve_node.ts under the real Node 20 (bundled by Deno).
 *
 * @param options Port and secret.
 * @returns The running server.
 */
export async function startChatNode(options: ChatServerOptions = {}): Promise<ServerProcess> {
  return await startNode("examples/serve_node.ts", {
    PORT: `${options.port ?? 0}`,
    HOST: "127.0.0.1",
    SECRET: options.secret ?? TEST_SECRET,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
}

/**
 * Runs examples/serve_bun.ts under Bun.
 *
 * @param options Port and secret.
 * @returns The running server.
 */
export async function startChatBun(options: ChatServerOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? freePort();
  return await startProcess(BIN.bun, ["run", "examples/serve_bun.ts"], {
    ready: /listening (\d+)/,
    env: { PORT: `${port}`, HOST: "127.0.0.1", SECRET: options.secret ?? TEST_SECRET },
  });
}

/**
 * Runs examples/worker.ts under workerd with `wrangler dev` and
 * the top-level wrangler.toml, the secret passed as a var. Wrangler's own CLI is
 * run directly, as `startWorkerd` does, so that SIGTERM reaches it.
 *
 * @param options Port and secret.
 * @returns The running server.
 */
export async function startChatWorkerd(options: ChatServerOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? freePort();
  const storage = await Deno.makeTempDir({ prefix: "chat-wrangler-" });
  const server = await startWrangler([
    "--config",
    "wrangler.toml",
    // The object's storage goes to a temporary folder, not .wrangler/.
    "--persist-to",
    storage,
    "--var",
    `SECRET:${options.secret ?? TEST_SECRET}`,
  ], { port });
  return {
    ...server,
    async stop() {
      await server.stop();
      await Deno.remove(storage, { recursive: true });
    },
  };
}

/**
 * Logs in by posting the form, as the page does, and returns the cookie.
 *
 * @param port The server's port.
 * @param name The name.
 * @returns `chat_user=…`, for a `Cookie` header.
 */
export async function login(port: number, name: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {
    method: "POST",
    body: new URLSearchParams({ name }),
    redirect: "manual",
  });
  await response.body?.cancel();
  if (response.status !== 303) throw new Error(`login answered ${response.status}`);
  const cookie = response.headers.get("set-cookie");
  if (!cookie) throw new Error("login set no cookie");
  return cookie.split(";")[0];
}
