/** A `ws` client for the chat tests: it queues what it receives. */
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { ServerEvent, WelcomeEvent } from "../../examples/chat/protocol.ts";
import { login } from "./_chat_server.ts";

/** A `ws` client that queues what it receives. */
export interface Client {
  ws: WebSocket;
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  next(timeout?: number): Promise<ServerEvent>;
  say(text: string): void;
}

export function openClient(port: number, path: string, cookie?: string): Client {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
    headers: cookie ? { cookie } : {},
  });
  const frames: string[] = [];
  const waiters: Array<(frame: string) => void> = [];
  ws.on("message", (data: Buffer) => {
    const frame = data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", reject);
  });
  opened.catch(() => {});
  return {
    ws,
    opened,
    closed,
    next(timeout = 5000) {
      const queued = frames.shift();
      if (queued !== undefined) return Promise.resolve(JSON.parse(queued));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`No message within ${timeout} ms`));
        }, timeout);
        const waiter = (frame: string) => {
          clearTimeout(timer);
          resolve(JSON.parse(frame));
        };
        waiters.push(waiter);
      });
    },
    say(text: string) {
      ws.send(JSON.stringify({ type: "message", text }));
    },
  };
}

/** Opens a chat socket as `name` and reads its welcome. */
export async function join(
  port: number,
  name: string,
  room = "lobby",
): Promise<Client & { welcome: WelcomeEvent }> {
  const client = openClient(port, `/chat/${room}`, await login(port, name));
  await client.opened;
  const welcome = await client.next() as WelcomeEvent;
  assert.equal(welcome.type, "welcome");
  return Object.assign(client, { welcome });
}

export async function closeAll(...clients: Client[]): Promise<void> {
  for (const c of clients) c.ws.close(1000);
  await Promise.all(clients.map((c) => c.closed));
}
