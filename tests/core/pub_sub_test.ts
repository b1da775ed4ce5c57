import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Context } from "hono";
import { publish, PubSub, subscriberCount, upgradeWebSocket } from "../../mod.ts";
import { connect } from "../../src/testing/mod.ts";

function createApp() {
  const app = new Hono();
  app.get(
    "/topic/:name",
    upgradeWebSocket((c: Context) => {
      const topic = c.req.param("name") ?? "";
      return {
        onOpen: (_e, ws) => {
          ws.subscribe(topic);
          ws.send(`joined ${[...ws.topics].join(",")}`);
        },
        onMessage: (e, ws) => {
          if (e.data === "leave") {
            ws.unsubscribe(topic);
            ws.send("left");
          } else if (e.data === "bad topic") {
            try {
              ws.subscribe("");
            } catch (error) {
              ws.send((error as Error).message);
            }
          } else ws.publish(topic, e.data as string);
        },
      };
    }),
  );
  app.post("/announce/:name", async (c) => {
    const count = publish(c.req.param("name"), await c.req.text());
    return c.json({ count });
  });
  return app;
}

Deno.test("ws.publish() reaches every other subscriber, not the sender nor other topics", async () => {
  const app = createApp();
  const a = await connect(app, "/topic/red");
  const b = await connect(app, "/topic/red");
  const c = await connect(app, "/topic/blue");
  for (const ws of [a, b, c]) assert.match(await ws.nextMessage() as string, /^joined /);
  assert.equal(subscriberCount("red"), 2);
  a.send("hi red");
  assert.equal(await b.nextMessage(), "hi red");
  await assert.rejects(a.nextMessage(100), /No message/);
  await assert.rejects(c.nextMessage(100), /No message/);
  // From an HTTP route: every subscriber, in order from one publisher.
  for (let i = 0; i < 5; i++) {
    const response = await app.request("/announce/red", { method: "POST", body: `n${i}` });
    assert.deepEqual(await response.json(), { count: 2 });
  }
  for (const ws of [a, b]) {
    for (let i = 0; i < 5; i++) assert.equal(await ws.nextMessage(), `n${i}`);
  }
  // No subscribers: a no-op.
  assert.deepEqual(
    await (await app.request("/announce/none", { method: "POST", body: "x" })).json(),
    {
      count: 0,
    },
  );
  b.send("leave");
  assert.equal(await b.nextMessage(), "left");
  assert.equal(subscriberCount("red"), 1);
  b.send("bad topic");
  assert.equal(await b.nextMessage(), "Topic name must be 1 to 256 characters");
  // A closed connection leaves all its topics.
  a.close();
  c.close();
  b.close();
  await Promise.all([a.closed, b.closed, c.closed]);
  assert.equal(subscriberCount("red"), 0);
  assert.equal(subscriberCount("blue"), 0);
});

Deno.test("PubSub.publish() encodes once and skips or closes a slow subscriber", () => {
  const encoded: Uint8Array[][] = [];
  const closes: number[] = [];
  const make = (buffered: number) => ({
    topics: new Set<string>(),
    bufferedAmount: buffered,
    send: () => assert.fail("the encoded path is used"),
    canSendEncoded: true,
    sendEncoded: (chunks: Uint8Array[]) => encoded.push(chunks),
    closeWith: (code: number) => closes.push(code),
  });
  const drop = new PubSub({ highWaterMark: 100 });
  const fast = [make(0), make(50), make(100)];
  const slow = make(101);
  for (const s of [...fast, slow]) drop.subscribe(s, "t");
  assert.equal(drop.publish("t", "x".repeat(2000)), 3);
  assert.equal(drop.dropped, 1);
  assert.equal(new Set(encoded.map((c) => c[0])).size, 1, "one frame for every subscriber");
  const close = new PubSub({ highWaterMark: 100, slowConsumer: "close" });
  close.subscribe(slow, "t");
  close.publish("t", "y");
  assert.deepEqual(closes, [1013]);
  assert.throws(() => close.publish("x".repeat(257), "z"), RangeError);
});
