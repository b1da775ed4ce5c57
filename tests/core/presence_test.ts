import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  MemoryPresenceStore,
  Presence,
  type PresenceEvent,
  type PresenceMember,
  PubSub,
  upgradeWebSocket,
} from "../../mod.ts";
import { defaultPresence } from "../../src/core/presence.ts";
import { connect } from "../../src/testing/mod.ts";

function createApp(presence: Presence) {
  return new Hono().get(
    "/room/:name",
    upgradeWebSocket((c) => {
      const topic = `room:${c.req.param("name")}`;
      return {
        async onOpen(_event, ws) {
          try {
            await presence.join(ws, topic, { name: c.req.query("name") ?? "anon" });
            const online = await presence.list(topic);
            ws.send(JSON.stringify(online.map((m) => m.meta)));
          } catch (error) {
            ws.send(`${(error as Error).name}: ${(error as Error).message}`);
          }
        },
        async onMessage(event, ws) {
          if (event.data === "unsubscribe") ws.unsubscribe(topic);
          if (event.data === "leave") await presence.leave(ws, topic);
          ws.send("done");
        },
      };
    }),
  );
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`Timed out: ${what}`);
}

Deno.test("Presence.join() lists every socket of a topic with its metadata, and watch() sees joins", async () => {
  const presence = new Presence();
  const app = createApp(presence);
  const events: PresenceEvent[] = [];
  presence.watch("room:a", (event) => events.push(event));
  const ada = await connect(app, "/room/a?name=Ada");
  assert.equal(await ada.nextMessage(), '[{"name":"Ada"}]');
  const lin = await connect(app, "/room/a?name=Lin");
  assert.equal(await lin.nextMessage(), '[{"name":"Ada"},{"name":"Lin"}]');
  // Another topic is another list.
  const bo = await connect(app, "/room/b?name=Bo");
  assert.equal(await bo.nextMessage(), '[{"name":"Bo"}]');
  assert.deepEqual(events.map((e) => [e.type, e.member.meta, e.local]), [
    ["join", { name: "Ada" }, true],
    ["join", { name: "Lin" }, true],
  ]);
  for (const ws of [ada, lin, bo]) ws.close(1000);
});

Deno.test("Presence: a socket that closes, unsubscribes or leaves is no longer a member", async () => {
  const presence = new Presence();
  const app = createApp(presence);
  const left: PresenceMember[] = [];
  presence.watch("room:c", (event) => event.type === "leave" && left.push(event.member));
  const [a, b, c] = [
    await connect(app, "/room/c?name=A"),
    await connect(app, "/room/c?name=B"),
    await connect(app, "/room/c?name=C"),
  ];
  for (const ws of [a, b, c]) await ws.nextMessage();
  a.close(1000);
  await a.closed;
  await until(async () => (await presence.list("room:c")).length === 2, "A left on close");
  b.send("unsubscribe");
  assert.equal(await b.nextMessage(), "done");
  await until(async () => (await presence.list("room:c")).length === 1, "B left on unsubscribe");
  c.send("leave");
  assert.equal(await c.nextMessage(), "done");
  assert.deepEqual(await presence.list("room:c"), []);
  assert.deepEqual(left.map((m) => m.meta), [{ name: "A" }, { name: "B" }, { name: "C" }]);
  c.close(1000);
});

Deno.test("Presence.join() refuses metadata over maxMetaBytes with a RangeError", async () => {
  const presence = new Presence({ maxMetaBytes: 16 });
  const app = createApp(presence);
  const ws = await connect(app, `/room/d?name=${"x".repeat(20)}`);
  assert.equal(
    await ws.nextMessage(),
    "RangeError: Presence metadata must be at most 16 bytes of JSON",
  );
  assert.deepEqual(await presence.list("room:d"), []);
  ws.close(1000);
});

Deno.test("Presence: a socket that closes while its join is on the way to a slow store leaves after it", async () => {
  const memory = new MemoryPresenceStore();
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const slow = {
    join: async (topic: string, member: PresenceMember) => {
      await gate;
      memory.join(topic, member);
    },
    leave: (topic: string, id: string) => memory.leave(topic, id),
    list: (topic: string) => memory.list(topic),
    watch: memory.watch.bind(memory),
  };
  const pubsub = new PubSub();
  const presence = new Presence({ store: slow, pubsub });
  const socket = { topics: new Set<string>(), subscribe: () => {}, unsubscribe: () => {} };
  const joining = presence.join(socket, "room:e", "e");
  // The socket leaves before the store has the join.
  const leaving = presence.leave(socket, "room:e");
  release();
  await Promise.all([joining, leaving]);
  assert.deepEqual(memory.list("room:e"), []);
});

Deno.test("defaultPresence works on the process-wide topics", async () => {
  const app = createApp(defaultPresence);
  const ws = await connect(app, "/room/default?name=D");
  assert.equal(await ws.nextMessage(), '[{"name":"D"}]');
  ws.close(1000);
  await ws.closed;
  await until(async () => (await defaultPresence.list("room:default")).length === 0, "left");
});
