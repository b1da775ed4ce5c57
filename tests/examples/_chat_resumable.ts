/**
 * A chat user on `ResumableWebSocket` (src/client/), outside the browser:
 * `ws`'s WebSocket carries the login cookie, which Deno's cannot. It keeps
 * every chat event it gets, in order.
 */
import WebSocket from "ws";
import type { ChatMessage, ServerEvent } from "../../examples/chat/protocol.ts";
import {
  ResumableWebSocket,
  type ResumableWebSocketOptions,
  type WebSocketConstructor,
} from "../../src/client/mod.ts";
import { login } from "./_chat_server.ts";

/** A logged-in resumable chat client. */
export interface ResumableChatUser {
  /** The socket. */
  socket: ResumableWebSocket;
  /** Every chat event received, in order. */
  events: ServerEvent[];
  /** The chat messages received, in order. */
  messages(): ChatMessage[];
  /** Sends a chat message (queued while disconnected). */
  say(text: string): void;
  /** Resolves once `check` holds, or rejects after `ms`. */
  until(check: () => boolean, what: string, ms?: number): Promise<void>;
  /** Closes for good (the server ends the session). */
  close(): Promise<void>;
}

/**
 * Logs in as `name` and joins `room` with a resumable socket; resolves at
 * its welcome.
 *
 * @param port The server's (or a proxy's) port.
 * @param name The user.
 * @param room The room.
 * @param options The client's options.
 * @returns The user.
 */
export async function joinResumable(
  port: number,
  name: string,
  room: string,
  options: ResumableWebSocketOptions = {},
): Promise<ResumableChatUser> {
  const cookie = await login(port, name);
  const WithCookie = function (url: string, protocols: string[]) {
    return new WebSocket(url, protocols, { headers: { cookie } });
  } as unknown as WebSocketConstructor;
  const socket = new ResumableWebSocket(`ws://127.0.0.1:${port}/chat/${room}`, {
    WebSocket: WithCookie,
    minDelay: 20,
    maxDelay: 500,
    ...options,
  });
  const events: ServerEvent[] = [];
  socket.addEventListener("message", (e) => {
    events.push(JSON.parse((e as unknown as { data: string }).data));
  });
  const until = async (check: () => boolean, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`${name}: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const user: ResumableChatUser = {
    socket,
    events,
    messages: () => events.filter((e): e is ChatMessage => e.type === "message"),
    say: (text) => socket.send(JSON.stringify({ type: "message", text })),
    until,
    async close() {
      if (socket.readyState === 3) return;
      const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
      socket.close();
      await closed;
    },
  };
  await until(() => events.some((e) => e.type === "welcome"), "the welcome");
  return user;
}
