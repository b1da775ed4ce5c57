import assert from "node:assert/strict";
import { DurableObjectSessionStore } from "../../src/hono/durable_object_session_store.ts";
import type { ResumeSessionRecord } from "../../src/core/session_store.ts";
import { openSqliteStorage } from "./_sqlite_storage.ts";

function record(id: string, expires?: number, data: unknown = null): ResumeSessionRecord {
  const r: ResumeSessionRecord = {
    id,
    owner: "ada",
    path: "/ws",
    data,
    lastClientId: 3,
    topics: { "room:a": { epoch: "e1", offset: 41 } },
    plainTopics: ["news"],
  };
  if (expires !== undefined) r.expires = expires;
  return r;
}

Deno.test("DurableObjectSessionStore keeps a record by key, as JSON, for the object's next instance", () => {
  const storage = openSqliteStorage();
  const store = new DurableObjectSessionStore(storage);
  store.set("k1", record("a", undefined, { user: "ada", n: [1, 2] }));
  // The object was evicted: a new store on the same storage finds it.
  const after = new DurableObjectSessionStore(storage);
  assert.deepEqual(after.get("k1"), record("a", undefined, { user: "ada", n: [1, 2] }));
  assert.equal(after.get("k2"), undefined);
  // Written again: the same row.
  const changed = { ...record("a"), lastClientId: 9 };
  after.set("k1", changed);
  assert.equal(after.get("k1")?.lastClientId, 9);
  assert.equal(after.size, 1);
  after.delete("k1");
  assert.equal(after.get("k1"), undefined);
  assert.equal(after.size, 0);
});

Deno.test("DurableObjectSessionStore.get() never returns an expired record; a connected one lasts connectedTtl", () => {
  let now = 1000;
  const store = new DurableObjectSessionStore(openSqliteStorage(), {
    now: () => now,
    connectedTtl: 10_000,
  });
  store.set("a", record("a", 1500));
  store.set("b", record("b"));
  assert.equal(store.get("a")?.id, "a");
  now = 1500;
  assert.equal(store.get("a"), undefined);
  assert.equal(store.size, 1, "deleted when found expired");
  assert.equal(store.get("b")?.id, "b");
  now = 11_000;
  assert.equal(store.get("b"), undefined, "a connected record not written for connectedTtl");
});

Deno.test("DurableObjectSessionStore keeps at most maxSessions: expired ones go first, then the nearest expiry", () => {
  let now = 1000;
  const store = new DurableObjectSessionStore(openSqliteStorage(), {
    maxSessions: 3,
    now: () => now,
  });
  store.set("gone", record("gone", 1100));
  store.set("soon", record("soon", 5000));
  store.set("later", record("later", 9000));
  now = 2000; // "gone" expired: it makes the room
  store.set("connected", record("connected"));
  assert.equal(store.size, 3);
  assert.equal(store.get("soon")?.id, "soon");
  store.set("more", record("more", 8000)); // full: "soon" goes
  assert.equal(store.size, 3);
  assert.equal(store.get("soon"), undefined);
  assert.deepEqual(["later", "connected", "more"].map((k) => store.get(k)?.id), [
    "later",
    "connected",
    "more",
  ]);
});

Deno.test("DurableObjectSessionStore.set() refuses a record over maxRecordBytes or not JSON with RangeError", () => {
  const store = new DurableObjectSessionStore(openSqliteStorage(), { maxRecordBytes: 300 });
  assert.throws(() => store.set("big", record("big", undefined, "é".repeat(200))), RangeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => store.set("cyclic", record("cyclic", undefined, cyclic)), RangeError);
  assert.equal(store.size, 0);
  store.set("small", record("small", undefined, "é".repeat(10)));
  assert.equal(store.get("small")?.data, "é".repeat(10));
});

Deno.test("DurableObjectSessionStore: storage deleted under it answers undefined, and keeps working", () => {
  const storage = openSqliteStorage();
  const store = new DurableObjectSessionStore(storage);
  store.set("a", record("a"));
  storage.deleteAll();
  assert.equal(store.get("a"), undefined);
  store.set("b", record("b"));
  assert.equal(store.get("b")?.id, "b");
  assert.equal(store.size, 1);
});

Deno.test("DurableObjectSessionStore refuses bad bounds (RangeError) and prefixes (TypeError)", () => {
  const storage = openSqliteStorage();
  assert.throws(() => new DurableObjectSessionStore(storage, { maxSessions: 0 }), RangeError);
  assert.throws(() => new DurableObjectSessionStore(storage, { maxRecordBytes: -1 }), RangeError);
  assert.throws(() => new DurableObjectSessionStore(storage, { prefix: "a b" }), TypeError);
});

Deno.test("DurableObjectSessionStore.takeExpired() hands over each expired waiting record once, never a connected one", () => {
  let now = 1000;
  const store = new DurableObjectSessionStore(openSqliteStorage(), {
    now: () => now,
    connectedTtl: 500,
  });
  store.set("a", record("a", 1200));
  store.set("b", record("b", 1100));
  store.set("later", record("later", 5000));
  store.set("connected", record("connected"));
  now = 2000; // a, b expired; the connected one is past its connectedTtl
  assert.deepEqual(store.takeExpired().map((r) => r.id), ["b", "a"]);
  assert.deepEqual(store.takeExpired(), [], "once");
  assert.equal(store.get("later")?.id, "later");
  assert.equal(store.size, 2, "the connected record is the sweep's, not handed over");
});

Deno.test("DurableObjectSessionStore.waiting() lists the sessions that wait for their client, never a connected or expired one", () => {
  let now = 1000;
  const store = new DurableObjectSessionStore(openSqliteStorage(), { now: () => now });
  store.set("connected", record("c"));
  store.set("waiting", record("w", 5000));
  store.set("soon", record("s", 2000));
  assert.deepEqual(store.waiting().map((r) => r.id).sort(), ["s", "w"]);
  now = 3000;
  assert.deepEqual(store.waiting().map((r) => r.id), ["w"]);
  // Resumed: its record is written without `expires` again.
  store.set("waiting", record("w"));
  assert.deepEqual(store.waiting(), []);
});

Deno.test("DurableObjectSessionStore.waiting() skips a row that is no JSON, and lists the others", () => {
  const storage = openSqliteStorage();
  const store = new DurableObjectSessionStore(storage, { now: () => 1000 });
  store.set("waiting", record("w", 5000));
  storage.sql.exec(
    "INSERT INTO edgesocket_sessions (key, record, until) VALUES (?, ?, ?)",
    "broken",
    "{not json",
    9000,
  );
  assert.deepEqual(store.waiting().map((r) => r.id), ["w"]);
});
