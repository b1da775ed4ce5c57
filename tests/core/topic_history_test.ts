import assert from "node:assert/strict";
import { PubSub } from "../../src/core/pub_sub.ts";
import type { Subscriber } from "../../src/core/subscriber.ts";
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

// A history two PubSubs share, as Redis Streams would be: numbered once, in
// call order, answering later (a round trip); reads see every append made.
function sharedStore(): HistoryStore & { entries: Array<{ offset: number; data: string }> } {
  const entries: Array<{ offset: number; data: string }> = [];
  const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 1));
  return {
    shared: true,
    entries,
    append(_topic, data) {
      entries.push({ offset: entries.length + 1, data: data as string });
      return later({ epoch: "e", offset: entries.length });
    },
    read: (_topic, after, limit) =>
      later(
        after.epoch !== "e" ? "gone" : {
          entries: entries.slice(after.offset, after.offset + limit),
          position: { epoch: "e", offset: entries.length },
        },
      ),
    position: () => later({ epoch: "e", offset: entries.length }),
  };
}

// Two processes' backplane in memory: what one publishes, the other gets,
// in order unless `reorder` holds some back.
function pairedBackplanes(): [Backplane, Backplane, { held: boolean; release(): void }] {
  const delivers: Array<(topic: string, data: string | Uint8Array) => void> = [];
  const queue: Array<() => void> = [];
  const control = {
    held: false,
    release() {
      for (const send of queue.splice(0).reverse()) send();
    },
  };
  const make = (index: number): Backplane => ({
    publish(topic, data) {
      const send = () => delivers[1 - index]?.(topic, data);
      if (control.held) queue.push(send);
      else setTimeout(send, 0);
    },
    subscribe() {},
    unsubscribe() {},
    onMessage: (d) => void (delivers[index] = d),
    close() {},
  });
  return [make(0), make(1), control];
}

function numbered(pubsub: PubSub): Subscriber & { got: Array<[number, SendData]> } {
  const got: Array<[number, SendData]> = [];
  return {
    got,
    send: (d) => void got.push([pubsub.history?.current?.offset ?? -1, d]),
    bufferedAmount: 0,
    closeWith() {},
    topics: new Set(),
  };
}

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("PubSub with a shared history numbers once and delivers what the backplane relays in offset order, late ones read from the store", async () => {
  const [planeA, planeB, control] = pairedBackplanes();
  const store = sharedStore();
  const a = new PubSub({ backplane: planeA });
  const b = new PubSub({ backplane: planeB });
  a.useHistory(store);
  b.useHistory(store);
  const onA = numbered(a), onB = numbered(b);
  a.subscribe(onA, "t");
  b.subscribe(onB, "t");
  await tick();
  a.publish("t", "a1");
  await tick();
  // A's next two reach B in reverse order; B's own publication comes between.
  control.held = true;
  a.publish("t", "a2");
  a.publish("t", "a3");
  await tick();
  b.publish("t", "b4");
  await tick();
  control.held = false;
  control.release();
  await tick();
  const expected = [[1, "a1"], [2, "a2"], [3, "a3"], [4, "b4"]];
  assert.deepEqual(onB.got, expected);
  assert.deepEqual(onA.got, expected);
  assert.equal(store.entries.length, 4, "each appended once");
});

Deno.test("PubSub with a shared history goes on past a gap the store cannot fill, and leaves a plain sender out", async () => {
  const [planeA, planeB] = pairedBackplanes();
  const store = sharedStore();
  const a = new PubSub({ backplane: planeA });
  const b = new PubSub({ backplane: planeB });
  a.useHistory(store);
  b.useHistory(store);
  const onB = numbered(b);
  b.subscribe(onB, "t");
  await tick();
  // Offset 1 is in the store's stream under another epoch's name: gone.
  store.entries.push({ offset: 1, data: "lost" });
  const read = store.read;
  store.read = () => "gone";
  a.publish("t", "two");
  await tick();
  assert.deepEqual(onB.got, [[2, "two"]], "delivered, not held for ever");
  store.read = read;
  const sender = numbered(b);
  b.subscribe(sender, "t");
  b.publish("t", "three", sender);
  await tick();
  assert.deepEqual(sender.got, [], "a plain sender does not get its own");
  assert.deepEqual(onB.got.at(-1), [3, "three"]);
});

Deno.test("PubSub with a shared history: a gap the backplane closes while the store's read is out is read again from there, not given up", async () => {
  const [planeA, planeB, control] = pairedBackplanes();
  const store = sharedStore();
  // B's first gap read is slow: what it waits for comes through the
  // backplane meanwhile, and a new gap opens behind it.
  const read = store.read.bind(store);
  let slowReads = 1;
  store.read = (topic, after, limit) => {
    if (slowReads-- <= 0) return read(topic, after, limit);
    // What the store holds now, answered 80 ms later.
    const page = read(topic, after, limit);
    return new Promise((resolve) => setTimeout(() => resolve(page as never), 80));
  };
  const a = new PubSub({ backplane: planeA });
  const b = new PubSub({ backplane: planeB });
  a.useHistory(store);
  b.useHistory(store);
  const onB = numbered(b);
  b.subscribe(onB, "t");
  await tick();
  a.publish("t", "a1");
  await tick();
  control.held = true;
  a.publish("t", "a2"); // held: B has a gap at 2 once its own 3 is numbered
  await tick();
  b.publish("t", "b3"); // B reads the store for 2, slowly
  await tick();
  control.held = false;
  control.release(); // a2 arrives: B delivers 2 and 3 while the read is out
  await tick();
  control.held = true;
  a.publish("t", "a4"); // held again: a new gap at 4
  await tick();
  b.publish("t", "b5");
  await tick(120); // the slow read answers with 2 and 3, delivered already
  assert.deepEqual(
    onB.got,
    [[1, "a1"], [2, "a2"], [3, "b3"], [4, "a4"], [5, "b5"]],
    "4 read from the store, not skipped",
  );
  control.held = false;
  control.release(); // a4 through the backplane too: not delivered twice
  await tick();
  assert.equal(onB.got.length, 5);
});
