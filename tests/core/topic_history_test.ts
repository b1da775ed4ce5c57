import assert from "node:assert/strict";
import { PubSub, type Subscriber } from "../../src/core/pub_sub.ts";
import { MemoryHistoryStore } from "../../src/core/memory_history_store.ts";
import type { HistoryStore, StreamPosition } from "../../src/core/history_store.ts";
import type { SendData } from "../../src/core/send_data.ts";
import type { Backplane } from "../../src/core/backplane.ts";

function plainSubscriber(): Subscriber & { got: SendData[] } {
  const got: SendData[] = [];
  return {
    got,
    send: (d) => void got.push(d),
    bufferedAmount: 0,
    closeWith() {},
    topics: new Set(),
  };
}

Deno.test("PubSub.useHistory() numbers a resumable topic's publications; plain subscribers get bare messages", () => {
  const pubsub = new PubSub();
  const store = new MemoryHistoryStore();
  pubsub.useHistory(store, { topics: (t) => t.startsWith("room:") });
  const sub = plainSubscriber();
  pubsub.subscribe(sub, "room:a");
  pubsub.subscribe(sub, "news");
  assert.equal(pubsub.publish("room:a", "one"), 1);
  assert.equal(pubsub.publish("news", "plain"), 1);
  pubsub.publish("room:a", new Uint8Array([1, 2]));
  assert.deepEqual(sub.got, ["one", "plain", new Uint8Array([1, 2])]);
  assert.equal(store.position("room:a").offset, 2);
  assert.equal(store.position("news").offset, 0, "not resumable: not numbered");
  assert.ok(pubsub.history?.isResumable("room:x"));
  assert.ok(!pubsub.history?.isResumable("news"));
  pubsub.useHistory(undefined);
  assert.equal(pubsub.history, undefined);
});

Deno.test("PubSub.publish() keeps a copy of published bytes in history", () => {
  const pubsub = new PubSub();
  const store = new MemoryHistoryStore();
  pubsub.useHistory(store);
  const buffer = new Uint8Array([1, 2, 3]);
  pubsub.publish("t", buffer.subarray(1));
  buffer.fill(9);
  const page = store.read("t", { epoch: store.position("t").epoch, offset: 0 }, 10);
  assert.ok(page !== "gone");
  assert.deepEqual(page.entries[0].data, new Uint8Array([2, 3]));
});

Deno.test("PubSub.publish() refuses a Blob on a resumable topic with TypeError, before sending", () => {
  const pubsub = new PubSub();
  pubsub.useHistory(new MemoryHistoryStore());
  const sub = plainSubscriber();
  pubsub.subscribe(sub, "t");
  assert.throws(() => pubsub.publish("t", new Blob(["x"])), TypeError);
  assert.deepEqual(sub.got, []);
});

Deno.test("PubSub with an asynchronous history delivers in publish() order", async () => {
  const pubsub = new PubSub();
  let offset = 0;
  // Answers later for earlier appends: order must still hold.
  const store: HistoryStore = {
    append: () => {
      const position: StreamPosition = { epoch: "e", offset: ++offset };
      return new Promise((resolve) => setTimeout(() => resolve(position), 30 - offset * 5));
    },
    read: () => "gone",
    position: () => ({ epoch: "e", offset }),
  };
  pubsub.useHistory(store);
  const sub = plainSubscriber();
  pubsub.subscribe(sub, "t");
  for (let i = 1; i <= 5; i++) assert.equal(pubsub.publish("t", `m${i}`), 1);
  assert.deepEqual(sub.got, []);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(sub.got, ["m1", "m2", "m3", "m4", "m5"]);
});

Deno.test("PubSub numbers a resumable topic's message relayed by the backplane", () => {
  let deliver: (topic: string, data: string | Uint8Array) => void = () => {};
  const relayed: string[] = [];
  const backplane: Backplane = {
    publish: (topic) => void relayed.push(topic),
    subscribe() {},
    unsubscribe() {},
    onMessage: (d) => void (deliver = d),
    close() {},
  };
  const pubsub = new PubSub({ backplane });
  const store = new MemoryHistoryStore();
  pubsub.useHistory(store, { topics: (t) => t === "r" });
  const sub = plainSubscriber();
  pubsub.subscribe(sub, "r");
  pubsub.publish("r", "local");
  deliver("r", "from elsewhere");
  assert.deepEqual(sub.got, ["local", "from elsewhere"]);
  assert.deepEqual(relayed, ["r"], "a relayed message is not relayed again");
  assert.equal(store.position("r").offset, 2);
});
