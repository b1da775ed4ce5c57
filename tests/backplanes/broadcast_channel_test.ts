import assert from "node:assert/strict";
import { PubSub, type Subscriber } from "../../mod.ts";
import { createBroadcastChannelBackplane } from "../../src/backplanes/broadcast_channel.ts";

function subscriber(): Subscriber & { got: unknown[] } {
  const got: unknown[] = [];
  return {
    got,
    topics: new Set(),
    bufferedAmount: 0,
    send: (d) => got.push(d),
    closeWith: () => {},
  };
}

Deno.test("BroadcastChannel backplane: a worker isolate's publish reaches this isolate's subscribers once", async () => {
  const plane = createBroadcastChannelBackplane("edgesocket-test");
  const pubsub = new PubSub({ backplane: plane });
  const here = subscriber();
  pubsub.subscribe(here, "room");
  const worker = new Worker(
    `data:application/javascript,${
      encodeURIComponent(`
      const channel = new BroadcastChannel("edgesocket-test");
      self.onmessage = () => {
        for (let i = 0; i < 10; i++) channel.postMessage({ topic: "room", data: "w" + i });
        channel.postMessage({ topic: "other", data: "not for us" });
        self.postMessage("sent");
      };`)
    }`,
    { type: "module" },
  );
  try {
    const sent = new Promise((r) => (worker.onmessage = r));
    worker.postMessage("go");
    await sent;
    const deadline = Date.now() + 3000;
    while (here.got.length < 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(here.got, Array.from({ length: 10 }, (_, i) => `w${i}`));
    // Our own publish is delivered locally once, not echoed back.
    pubsub.publish("room", "mine");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(here.got.slice(10), ["mine"]);
  } finally {
    worker.terminate();
    plane.close();
  }
});
