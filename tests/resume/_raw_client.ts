/** A resume-protocol client by hand, frame by frame: the tests' view of the wire. */
import type { Hono } from "hono";
import { connect } from "../../src/testing/mod.ts";
import type { WebSocketTestClient } from "../../src/testing/mod.ts";
import { RESUME_PROTOCOL } from "../../src/protocol/resume_protocol.ts";

/** A raw client: JSON frames in and out. */
export interface RawClient {
  ws: WebSocketTestClient;
  /** Sends a frame (an object, JSON-encoded) or raw text. */
  send(frame: unknown): void;
  /** The next frame, parsed. */
  next(timeout?: number): Promise<Record<string, unknown>>;
  /** Frames until one of type `t`, which is returned last. */
  until(t: string, timeout?: number): Promise<Array<Record<string, unknown>>>;
}

/** Opens a socket offering the resume protocol. */
export async function openRaw(
  app: Hono,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawClient> {
  const ws = await connect(app, path, { protocols: [RESUME_PROTOCOL], headers });
  const client: RawClient = {
    ws,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next: async (timeout) => JSON.parse(await ws.nextMessage(timeout) as string),
    async until(t, timeout) {
      const frames = [];
      for (;;) {
        const frame = await client.next(timeout);
        frames.push(frame);
        if (frame.t === t) return frames;
      }
    },
  };
  return client;
}

/** Opens and says hello; returns the client and its welcome. */
export async function hello(
  app: Hono,
  path: string,
  options: {
    token?: string | null;
    positions?: Record<string, [string, number]>;
    headers?: Record<string, string>;
  } = {},
): Promise<{ client: RawClient; welcome: Record<string, unknown> }> {
  const client = await openRaw(app, path, options.headers);
  client.send({ t: "hello", v: 1, s: options.token ?? null, p: options.positions ?? {} });
  const welcome = await client.next();
  if (welcome.t !== "welcome") throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
  return { client, welcome };
}

/** Waits until `check()` holds, polling (bounded). */
export async function eventually(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
