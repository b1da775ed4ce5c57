import assert from "node:assert/strict";
import { MemorySessionStore } from "../../src/core/memory_session_store.ts";
import type { ResumeSessionRecord } from "../../src/core/session_store.ts";

function record(id: string, expires?: number): ResumeSessionRecord {
  return {
    id,
    owner: "",
    path: "/",
    data: null,
    lastClientId: 0,
    topics: {},
    plainTopics: [],
    expires,
  };
}

Deno.test("MemorySessionStore keeps at most maxSessions, dropping the one kept least recently", () => {
  const store = new MemorySessionStore({ maxSessions: 2 });
  store.set("a", record("a"));
  store.set("b", record("b"));
  store.set("a", record("a")); // kept again: now the most recent
  store.set("c", record("c"));
  assert.equal(store.size, 2);
  assert.equal(store.get("b"), undefined);
  assert.equal(store.get("a")?.id, "a");
  assert.equal(store.get("c")?.id, "c");
});

Deno.test("MemorySessionStore.get() never returns an expired record", () => {
  let now = 1000;
  const store = new MemorySessionStore({ now: () => now });
  store.set("a", record("a", 1500));
  store.set("b", record("b"));
  assert.equal(store.get("a")?.id, "a");
  now = 1500;
  assert.equal(store.get("a"), undefined);
  assert.equal(store.size, 1, "dropped when found expired");
  assert.equal(store.get("b")?.id, "b", "a connected session does not expire");
  store.delete("b");
  assert.equal(store.size, 0);
});

Deno.test("MemorySessionStore() refuses a bound that is not positive with RangeError", () => {
  assert.throws(() => new MemorySessionStore({ maxSessions: 0 }), RangeError);
});
