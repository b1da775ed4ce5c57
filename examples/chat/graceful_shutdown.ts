/**
 * The serve scripts' shutdown, the same on Deno, Node and Bun: 1001 to every
 * socket first (and to any opened meanwhile), then stop the server, then exit.
 */
import { CloseCode } from "../../mod.ts";
import type { ConnectionRegistry } from "./connections.ts";

/** What the shutdown needs of the runtime. */
export interface ShutdownHooks {
  /** Stops the server; it gets a second at most. */
  stopServer(): Promise<unknown> | unknown;
  /** Ends the process. */
  exit(): void;
}

/**
 * Builds the signal handler: the first signal shuts down, later ones are ignored.
 *
 * @param connections The open sockets.
 * @param hooks How to stop the server and exit on this runtime.
 * @returns The handler, given the signal's name.
 *
 * @example
 * ```ts ignore
 * const onSignal = createGracefulShutdown(connections, { stopServer: () => server.shutdown(), exit: () => Deno.exit(0) });
 * Deno.addSignalListener("SIGTERM", () => void onSignal("SIGTERM"));
 * ```
 */
export function createGracefulShutdown(
  connections: ConnectionRegistry,
  hooks: ShutdownHooks,
): (signal: string) => Promise<void> {
  let stopping = false;
  return async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing ${connections.size} sockets with 1001`);
    // Our 1001 first: a server that stops first closes the sockets its own way.
    await connections.closeAll(CloseCode.GoingAway, "Server shutting down");
    const stopped = Promise.resolve(hooks.stopServer());
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 1000))]);
    hooks.exit();
  };
}
