/** The `ws` npm client, wrapped for the parity suite: every wait times out. */
import WebSocket from "ws";

/** How long any single wait in the suite may take. */
export const WAIT_MS = 5_000;

/** Resolves with `promise`, or rejects after `ms` naming what it waited for. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A message as the `ws` client saw it. */
export interface Received {
  data: string | Uint8Array;
  isBinary: boolean;
}

/** An open `ws` client and what it has seen. */
export interface WsClient {
  ws: WebSocket;
  /** The 101's headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The next message (waits up to {@linkcode WAIT_MS}). */
  next(): Promise<Received>;
  /** How the connection ended (waits up to twice {@linkcode WAIT_MS}). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Payloads of the pings the server sent. */
  pings: string[];
}

/** Connects the `ws` client and waits for `open`. */
export async function openWs(
  port: number,
  path: string,
  options: { protocols?: string[]; headers?: Record<string, string>; origin?: string } = {},
): Promise<WsClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options.protocols, {
    headers: options.headers,
    origin: options.origin,
  });
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  const pings: string[] = [];
  let headers: WsClient["headers"] = {};
  ws.on("upgrade", (response: { headers: WsClient["headers"] }) => (headers = response.headers));
  ws.on("message", (data: Uint8Array, isBinary: boolean) => {
    messages.push({
      data: isBinary ? new Uint8Array(data) : new TextDecoder().decode(data),
      isBinary,
    });
    waiters.shift()?.();
  });
  ws.on("ping", (data: Uint8Array) => pings.push(new TextDecoder().decode(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code: number, reason: Uint8Array) => {
      resolve({ code, reason: new TextDecoder().decode(reason) });
      for (const waiter of waiters.splice(0)) waiter();
    })
  );
  await within(
    new Promise<void>((resolve, reject) => {
      ws.on("open", () => resolve());
      ws.on("error", reject);
    }),
    `open ${path}`,
  );
  return {
    ws,
    get headers() {
      return headers;
    },
    pings,
    get closed() {
      return within(closed, `close of ${path}`, WAIT_MS * 2);
    },
    async next() {
      if (messages.length === 0) {
        await within(new Promise<void>((r) => waiters.push(r)), `a message on ${path}`);
      }
      const message = messages.shift();
      if (!message) throw new Error(`Closed before a message on ${path}`);
      return message;
    },
  };
}
