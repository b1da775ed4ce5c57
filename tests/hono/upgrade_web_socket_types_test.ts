/**
 * Type tests: code written for Hono's own helper compiles unchanged against
 * edgesocket. `deno test` type-checks this file before it runs, so any
 * regression of these types fails CI; each `@ts-expect-error` fails too if
 * the mistake under it ever starts compiling. The test at the end runs the
 * same routes through the codec, so the file is also real behaviour.
 */
import assert from "node:assert/strict";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { hc } from "hono/client";
import { createMiddleware } from "hono/factory";
import type { WSContext, WSEvents, WSMessageReceive, WSReadyState } from "hono/ws";
import { type UpgradeResponse, upgradeWebSocket, type WebSocketContext } from "../../mod.ts";
import { upgradeWebSocket as upgradeOnDeno } from "../../src/entries/deno.ts";
import { upgradeWebSocket as upgradeOnWorkers } from "../../src/entries/cloudflare.ts";
import {
  type BunServerWebSocket,
  type BunWebSocketHandler,
  createBunWebSocket,
} from "../../src/entries/bun.ts";
import {
  createNodeWebSocket,
  upgradeWebSocket as upgradeOnNode,
  type WebSocketConnection,
} from "../../src/entries/node.ts";
import { connect } from "../../src/testing/mod.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function expectType<T extends true>(_proof?: T): void {}

type Env = { Bindings: { ROOM_LIMIT: number }; Variables: { user: string } };
const auth = createMiddleware<Env>(async (c, next) => {
  c.set("user", c.req.header("x-user") ?? "anonymous");
  await next();
});

// Handlers typed with Hono's own types, as an app written for hono/deno has them.
const honoEvents: WSEvents = {
  onMessage(event: MessageEvent<WSMessageReceive>, ws: WSContext) {
    const state: WSReadyState = ws.readyState;
    ws.send(`${state} ${event.data}`, { compress: true });
  },
  onClose: (event: CloseEvent) => void event.code,
  onError: (event: Event) => void event.type,
};

const app = new Hono<Env>()
  .get(
    "/room/:name",
    auth,
    upgradeWebSocket((c) => {
      // The route's Context, no annotation: its params are typed; its env
      // and variables are Hono's `any` there, exactly as with Hono's own
      // helper (Hono's router cannot hand a handler's Env to it).
      const name = c.req.param("name");
      expectType<Equal<typeof name, string>>(true);
      const params = c.req.param();
      expectType<Equal<typeof params, { name: string }>>(true);
      const query: Record<string, string> = c.req.query();
      const limit: number = c.env.ROOM_LIMIT;
      const user: string = c.get("user");
      const alsoUser: string = c.var.user;
      void [limit, alsoUser];
      return {
        onOpen(event, ws) {
          expectType<Equal<typeof event, Event>>(true);
          // What edgesocket adds stays typed.
          ws.subscribe(`room:${name}`);
          const sent: number = ws.publish(`room:${name}`, `${user} joined`);
          const queued: number = ws.bufferedAmount;
          ws.ping();
          void [query, sent, queued];
        },
        onMessage(event, ws) {
          expectType<Equal<typeof event, MessageEvent<WSMessageReceive>>>(true);
          expectType<Equal<typeof ws.readyState, WSReadyState>>(true);
          ws.send(event.data as string, { compress: false });
          // @ts-expect-error -- an object is not a message
          ws.send({ any: "object" });
        },
        onClose(event) {
          expectType<Equal<typeof event, CloseEvent>>(true);
        },
        onError(event) {
          const error: unknown = event.error;
          const asEvent: Event = event;
          void [error, asEvent];
        },
      };
    }),
  )
  // Hono's own handler types, unchanged.
  .get("/hono", upgradeWebSocket(() => honoEvents))
  // ws.data, typed from the data option.
  .get(
    "/data",
    upgradeWebSocket(() => ({
      onOpen: (_event, ws) => ws.send(ws.data.greeting.toUpperCase()),
    }), { data: (c: Context) => ({ greeting: `hello ${c.req.query("to")}` }) }),
  )
  // Hono's direct form, inside a handler: typed params, a typed response.
  .get("/direct/:id", (c) => {
    const id = c.req.param("id");
    expectType<Equal<typeof id, string>>(true);
    const response = upgradeWebSocket(c, {
      onOpen: (_event, ws) => ws.send(`direct ${id}`),
    });
    expectType<Equal<typeof response, Promise<UpgradeResponse>>>(true);
    return response;
  });

// The middleware is Hono's MiddlewareHandler with the "ws" output format.
const middleware = upgradeWebSocket(() => ({}));
// deno-lint-ignore no-explicit-any -- Hono's own helper types it with `any`.
type HonoWsMiddleware = MiddlewareHandler<any, any, { outputFormat: "ws" }>;
expectType<Equal<typeof middleware, HonoWsMiddleware>>(true);

// Hono's RPC client offers $ws() on every WebSocket route, params typed.
const client = hc<typeof app>("http://localhost");
expectType<Equal<ReturnType<typeof client.room[":name"]["$ws"]>, WebSocket>>(true);
type RoomArgs = NonNullable<Parameters<typeof client.room[":name"]["$ws"]>[0]>;
expectType<Equal<RoomArgs["param"], { name: string }>>(true);
type DirectArgs = NonNullable<Parameters<typeof client.direct[":id"]["$ws"]>[0]>;
expectType<Equal<DirectArgs["param"], { id: string }>>(true);
// @ts-expect-error -- not a param of the route
const _wrongParam: RoomArgs = { param: { nam: "x" } };

// ws.raw is the runtime's own socket, typed by the entry module.
type RawIs<T> = { onOpen(event: Event, ws: { raw: T | undefined }): void };
const rawOf = <T>(check: (raw: T | undefined) => void): RawIs<T> => ({
  onOpen: (_event, ws) => check(ws.raw),
});
new Hono().get(
  "/",
  upgradeOnDeno(() => rawOf<WebSocket | WebSocketConnection>((raw) => raw?.close())),
);
new Hono().get("/", upgradeOnWorkers(() => rawOf<WebSocket>((raw) => raw?.close())));
new Hono().get("/", upgradeOnNode(() => rawOf<WebSocketConnection>((raw) => raw?.ping())));
new Hono().get(
  "/",
  // Deno's WebSocket under Deno.serve(), the codec's under serveWithCodec().
  upgradeOnDeno(() => ({
    onOpen: (_e, ws) =>
      expectType<Equal<typeof ws.raw, WebSocket | WebSocketConnection | undefined>>(true),
  })),
);
new Hono().get(
  "/",
  upgradeOnNode(() => ({
    onOpen: (_e, ws) => expectType<Equal<typeof ws.raw, WebSocketConnection | undefined>>(true),
  })),
);
new Hono().get(
  "/",
  upgradeWebSocket(() => ({
    onOpen: (_e, ws) => expectType<Equal<typeof ws.raw, unknown>>(true),
  })),
);
// Our context is a Hono WSContext.
const asHono = (ws: WebSocketContext<{ n: number }, WebSocket>): WSContext<WebSocket> => ws;

// Hono's Bun pattern and @hono/node-ws's Node pattern.
const { upgradeWebSocket: upgradeOnBun, websocket } = createBunWebSocket();
expectType<Equal<typeof websocket, BunWebSocketHandler>>(true);
new Hono().get(
  "/",
  upgradeOnBun(() => ({
    onOpen: (_e, ws) => expectType<Equal<typeof ws.raw, BunServerWebSocket | undefined>>(true),
  })),
);
const nodeHelpers = createNodeWebSocket({ app: new Hono() });
expectType<Equal<typeof nodeHelpers.injectWebSocket, (server: import("node:http").Server) => void>>(
  true,
);
void [asHono, client];

Deno.test("upgradeWebSocket() runs Hono-typed handlers and both forms through the codec", async () => {
  const room = await connect(app, "/room/lobby", { env: { ROOM_LIMIT: 2 } });
  room.send("x");
  assert.equal(await room.nextMessage(), "x");
  room.close(1000);
  await room.closed;

  const hono = await connect(app, "/hono");
  hono.send("y");
  assert.equal(await hono.nextMessage(), "1 y");
  hono.close(1000);
  await hono.closed;

  const data = await connect(app, "/data?to=lin");
  assert.equal(await data.nextMessage(), "HELLO LIN");
  data.close(1000);

  const direct = await connect(app, "/direct/9");
  assert.equal(await direct.nextMessage(), "direct 9");
  direct.close(1000);
});
