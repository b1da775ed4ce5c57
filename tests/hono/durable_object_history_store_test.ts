import assert from "node:assert/strict";
import { DurableObjectHistoryStore } from "../../src/hono/durable_object_history_store.ts";
import type { HistoryPage } from "../../src/core/history_store.ts";
import { openSqliteStorage } from "./_sqlite_storage.ts";

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function page(value: HistoryPage | "gone"): HistoryPage {
  assert.notEqual(value, "gone");
  return value as HistoryPage;
}

Deno.test("DurableObjectHistoryStore.append() numbers a topic's publications 1, 2, 3 in one epoch", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage());
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

Deno.test("DurableObjectHistoryStore.read() returns what follows a position, in order, paged, text and bytes as given", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage());
  const { epoch } = store.position("t");
  assert.deepEqual(store.position("t"), { epoch, offset: 0 });
  for (let i = 1; i <= 10; i++) store.append("t", `m${i}`, i === 4 ? "me" : undefined);
  // Digits stay text, bytes stay bytes: the column has no affinity.
  store.append("t", "123");
  store.append("t", new Uint8Array([0, 1, 255]).subarray(1));
  const first = page(store.read("t", { epoch, offset: 2 }, 3));
  assert.deepEqual(first.entries, [
    { offset: 3, data: "m3" },
    { offset: 4, data: "m4", origin: "me" },
    { offset: 5, data: "m5" },
  ]);
  assert.deepEqual(first.position, { epoch, offset: 12 });
  const tail = page(store.read("t", { epoch, offset: 10 }, 10));
  assert.deepEqual(tail.entries, [
    { offset: 11, data: "123" },
    { offset: 12, data: new Uint8Array([1, 255]) },
  ]);
  assert.deepEqual(page(store.read("t", { epoch, offset: 12 }, 3)).entries, []);
  assert.equal(page(store.read("t", { epoch, offset: 0 }, 100)).entries.length, 12);
});

Deno.test("DurableObjectHistoryStore.read() answers gone for another epoch, a future offset or an unknown topic", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage());
  const { epoch } = store.append("t", "a");
  assert.equal(store.read("t", { epoch: "other", offset: 0 }, 10), "gone");
  assert.equal(store.read("t", { epoch, offset: 2 }, 10), "gone");
  assert.equal(store.read("never", { epoch, offset: 0 }, 10), "gone");
});

Deno.test("DurableObjectHistoryStore keeps maxEntries per topic: older positions are gone, never skipped", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage(), { maxEntries: 3 });
  const { epoch } = store.position("t");
  for (let i = 1; i <= 5; i++) store.append("t", `m${i}`);
  assert.equal(store.read("t", { epoch, offset: 0 }, 10), "gone");
  assert.equal(store.read("t", { epoch, offset: 1 }, 10), "gone");
  assert.deepEqual(page(store.read("t", { epoch, offset: 2 }, 10)).entries.map((e) => e.data), [
    "m3",
    "m4",
    "m5",
  ]);
});

Deno.test("DurableObjectHistoryStore keeps maxBytes per topic: text in UTF-8, binary by byteLength", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage(), { maxBytes: 10 });
  const { epoch } = store.position("t");
  store.append("t", "ééé"); // 6 bytes
  store.append("t", new Uint8Array(4)); // 10 in all: kept
  assert.equal(page(store.read("t", { epoch, offset: 0 }, 10)).entries.length, 2);
  store.append("t", "x"); // 11: the first goes
  assert.equal(store.read("t", { epoch, offset: 0 }, 10), "gone");
  assert.deepEqual(page(store.read("t", { epoch, offset: 1 }, 10)).entries.map((e) => e.offset), [
    2,
    3,
  ]);
  // One over the bound alone: everything before it goes too.
  store.append("t", "0123456789");
  assert.equal(store.read("t", { epoch, offset: 2 }, 10), "gone");
  assert.deepEqual(page(store.read("t", { epoch, offset: 3 }, 10)).entries.map((e) => e.offset), [
    4,
  ]);
});

Deno.test("DurableObjectHistoryStore keeps maxAge: old entries go at a read too; a quiet topic still resumes", () => {
  const time = clock();
  const store = new DurableObjectHistoryStore(openSqliteStorage(), {
    maxAge: 1000,
    now: time.now,
  });
  const { epoch } = store.append("t", "a");
  time.advance(600);
  store.append("t", "b");
  time.advance(600); // "a" is 1,200 ms old, "b" 600
  assert.equal(store.read("t", { epoch, offset: 0 }, 10), "gone");
  assert.deepEqual(page(store.read("t", { epoch, offset: 1 }, 10)).entries.map((e) => e.data), [
    "b",
  ]);
  time.advance(5000);
  // Nothing is kept, but the position is: a reader at the end resumes.
  assert.equal(store.read("t", { epoch, offset: 1 }, 10), "gone");
  assert.deepEqual(page(store.read("t", { epoch, offset: 2 }, 10)), {
    entries: [],
    position: { epoch, offset: 2 },
  });
  assert.deepEqual(store.append("t", "c"), { epoch, offset: 3 });
});

Deno.test("DurableObjectHistoryStore keeps maxTopics: the least recently used stream goes with its epoch", () => {
  const time = clock();
  const store = new DurableObjectHistoryStore(openSqliteStorage(), {
    maxTopics: 2,
    now: time.now,
  });
  const a = store.append("a", "1");
  time.advance(1);
  store.append("b", "1");
  time.advance(1);
  store.position("a"); // a is now the more recent
  time.advance(1);
  store.append("c", "1"); // b goes
  assert.equal(page(store.read("a", a, 10)).entries.length, 0);
  const b = store.position("b"); // a new stream: a goes now
  assert.equal(b.offset, 0);
  assert.equal(store.read("a", a, 10), "gone");
  assert.notEqual(store.position("a").epoch, a.epoch);
});

Deno.test("DurableObjectHistoryStore: a new instance on the same storage continues the same streams", () => {
  const storage = openSqliteStorage();
  const before = new DurableObjectHistoryStore(storage);
  for (let i = 1; i <= 3; i++) before.append("t", `m${i}`);
  // The object was evicted: its next instance makes a new store.
  const after = new DurableObjectHistoryStore(storage);
  const position = after.position("t");
  assert.deepEqual(position, before.position("t"));
  assert.deepEqual(page(after.read("t", { ...position, offset: 1 }, 10)).entries, [
    { offset: 2, data: "m2" },
    { offset: 3, data: "m3" },
  ]);
  assert.deepEqual(after.append("t", "m4"), { epoch: position.epoch, offset: 4 });
});

Deno.test("DurableObjectHistoryStore: storage deleted under it starts every stream again under a new epoch", () => {
  const storage = openSqliteStorage();
  const store = new DurableObjectHistoryStore(storage);
  const old = store.append("t", "a");
  storage.deleteAll();
  const fresh = store.append("t", "b");
  assert.equal(fresh.offset, 1);
  assert.notEqual(fresh.epoch, old.epoch);
  assert.equal(store.read("t", old, 10), "gone");
  // And for a store made after the loss.
  storage.deleteAll();
  const again = new DurableObjectHistoryStore(storage).position("t");
  assert.equal(again.offset, 0);
  assert.notEqual(again.epoch, fresh.epoch);
});

Deno.test("DurableObjectHistoryStore.append() throws RangeError over maxEntryBytes and numbers nothing", () => {
  const store = new DurableObjectHistoryStore(openSqliteStorage(), { maxEntryBytes: 4 });
  const { epoch } = store.append("t", "four");
  assert.throws(() => store.append("t", "fiveé"), RangeError);
  assert.throws(() => store.append("t", new Uint8Array(5)), RangeError);
  assert.deepEqual(store.position("t"), { epoch, offset: 1 });
});

Deno.test("DurableObjectHistoryStore refuses bad bounds (RangeError) and prefixes (TypeError)", () => {
  const storage = openSqliteStorage();
  assert.throws(() => new DurableObjectHistoryStore(storage, { maxEntries: 0 }), RangeError);
  assert.throws(() => new DurableObjectHistoryStore(storage, { maxAge: NaN }), RangeError);
  assert.throws(() => new DurableObjectHistoryStore(storage, { prefix: "x; DROP" }), TypeError);
  assert.throws(() => new DurableObjectHistoryStore(storage, { prefix: "_cf_x" }), TypeError);
});

Deno.test("DurableObjectHistoryStore.append() at the bounds deletes one row and reads no more than it drops", () => {
  const storage = openSqliteStorage();
  const store = new DurableObjectHistoryStore(storage, { maxEntries: 100 });
  for (let i = 0; i < 300; i++) store.append("t", `m${i}`);
  const before = storage.statements;
  store.append("t", "next");
  // Find, insert, head, delete, update: no scan of the topic.
  assert.ok(storage.statements - before <= 5, `${storage.statements - before} statements`);
  assert.equal(
    Number(storage.query("SELECT count(*) AS n FROM edgesocket_history_entries")[0].n),
    100,
  );
});
