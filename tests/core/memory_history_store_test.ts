import assert from "node:assert/strict";
import { MemoryHistoryStore } from "../../src/core/memory_history_store.ts";

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

Deno.test("MemoryHistoryStore.append() numbers a topic's publications 1, 2, 3 in one epoch", () => {
  const store = new MemoryHistoryStore();
  const a = store.append("t", "a");
  const b = store.append("t", "b");
  const other = store.append("u", "x");
  assert.equal(a.offset, 1);
  assert.equal(b.offset, 2);
  assert.equal(a.epoch, b.epoch);
  assert.equal(other.offset, 1);
  assert.notEqual(other.epoch, a.epoch);
  assert.deepEqual(store.position("t"), b);
});

Deno.test("MemoryHistoryStore.read() returns what follows a position, in order, paged", () => {
  const store = new MemoryHistoryStore();
  const { epoch } = store.position("t");
  for (let i = 1; i <= 10; i++) store.append("t", `m${i}`, i === 4 ? "me" : undefined);
  const page = store.read("t", { epoch, offset: 2 }, 3);
  assert.ok(page !== "gone");
  assert.deepEqual(page.entries, [
    { offset: 3, data: "m3" },
    { offset: 4, data: "m4", origin: "me" },
    { offset: 5, data: "m5" },
  ]);
  assert.deepEqual(page.position, { epoch, offset: 10 });
  const end = store.read("t", { epoch, offset: 10 }, 3);
  assert.ok(end !== "gone");
  assert.deepEqual(end.entries, []);
  const all = store.read("t", { epoch, offset: 0 }, 100);
  assert.ok(all !== "gone");
  assert.equal(all.entries.length, 10);
});

Deno.test("MemoryHistoryStore.read() answers gone for another epoch, a future offset or an unknown topic", () => {
  const store = new MemoryHistoryStore();
  const { epoch } = store.append("t", "a");
  assert.equal(store.read("t", { epoch: "other", offset: 0 }, 10), "gone");
  assert.equal(store.read("t", { epoch, offset: 2 }, 10), "gone");
  assert.equal(store.read("never", { epoch, offset: 0 }, 10), "gone");
});

Deno.test("MemoryHistoryStore keeps maxEntries per topic: older positions are gone", () => {
  const store = new MemoryHistoryStore({ maxEntries: 3 });
  const { epoch } = store.position("t");
  for (let i = 1; i <= 5; i++) store.append("t", `m${i}`);
  assert.equal(store.read("t", { epoch, offset: 1 }, 10), "gone");
  const page = store.read("t", { epoch, offset: 2 }, 10);
  assert.ok(page !== "gone");
  assert.deepEqual(page.entries.map((e) => e.data), ["m3", "m4", "m5"]);
});

Deno.test("MemoryHistoryStore keeps maxBytes per topic, binary by byteLength", () => {
  const store = new MemoryHistoryStore({ maxBytes: 10 });
  const { epoch } = store.position("t");
  store.append("t", new Uint8Array(6));
  store.append("t", new Uint8Array(6));
  assert.equal(store.read("t", { epoch, offset: 0 }, 10), "gone");
  const page = store.read("t", { epoch, offset: 1 }, 10);
  assert.ok(page !== "gone");
  assert.equal(page.entries.length, 1);
  // One entry over the bound is not kept at all; the position still moves.
  store.append("t", "x".repeat(11));
  assert.equal(store.read("t", { epoch, offset: 2 }, 10), "gone");
  const after = store.read("t", { epoch, offset: 3 }, 10);
  assert.ok(after !== "gone");
  assert.deepEqual(after.entries, []);
});

Deno.test("MemoryHistoryStore keeps entries maxAge ms; a quiet topic still resumes at its end", () => {
  const time = clock();
  const store = new MemoryHistoryStore({ maxAge: 1000, now: time.now });
  const { epoch } = store.position("t");
  store.append("t", "old");
  time.advance(600);
  store.append("t", "new");
  time.advance(600);
  assert.equal(store.read("t", { epoch, offset: 0 }, 10), "gone");
  const page = store.read("t", { epoch, offset: 1 }, 10);
  assert.ok(page !== "gone");
  assert.deepEqual(page.entries.map((e) => e.data), ["new"]);
  time.advance(10_000);
  const quiet = store.read("t", { epoch, offset: 2 }, 10);
  assert.ok(quiet !== "gone", "nothing was missed: the position outlives the entries");
  assert.deepEqual(quiet.entries, []);
});

Deno.test("MemoryHistoryStore keeps maxTopics streams, dropping the least recently used with its epoch", () => {
  const store = new MemoryHistoryStore({ maxTopics: 2 });
  const a = store.append("a", "1");
  store.append("b", "1");
  store.read("a", a, 10);
  store.append("c", "1");
  assert.equal(store.size, 2);
  assert.ok(store.read("a", a, 10) !== "gone");
  const b = store.position("b");
  assert.equal(b.offset, 0, "b's stream was dropped and starts again");
  assert.equal(store.read("b", { epoch: b.epoch, offset: 1 }, 10), "gone");
});

Deno.test("MemoryHistoryStore compacts its array: 100,000 appends keep maxEntries", () => {
  const store = new MemoryHistoryStore({ maxEntries: 10 });
  let last = store.position("t");
  for (let i = 0; i < 100_000; i++) last = store.append("t", "x");
  const page = store.read("t", { epoch: last.epoch, offset: last.offset - 10 }, 100);
  assert.ok(page !== "gone");
  assert.equal(page.entries.length, 10);
  assert.equal(page.entries[9].offset, 100_000);
});

Deno.test("MemoryHistoryStore() refuses a bound that is not positive with RangeError", () => {
  assert.throws(() => new MemoryHistoryStore({ maxEntries: 0 }), RangeError);
  assert.throws(() => new MemoryHistoryStore({ maxAge: -1 }), RangeError);
  assert.throws(() => new MemoryHistoryStore({ maxTopics: NaN }), RangeError);
});
