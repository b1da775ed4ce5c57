import assert from "node:assert/strict";
import type { SocketDriver } from "../../src/core/socket_driver.ts";
import { WebSocketContext } from "../../src/core/web_socket_context.ts";
import { WebSocketSession } from "../../src/core/web_socket_session.ts";

// A driver that records closes, as an adapter's would reach the runtime.
function recordingDriver(): SocketDriver & { closes: Array<[number?, string?]> } {
  const closes: Array<[number?, string?]> = [];
  return {
    closes,
    send() {},
    closeWith(code, reason) {
      closes.push([code, reason]);
    },
    readyState: 1,
    bufferedAmount: 0,
    extensions: "",
    raw: undefined,
  };
}

function openSession(maxMessageSize: number, runtimeMaxMessageSize?: number) {
  const received: unknown[] = [];
  const ctx = new WebSocketContext({ protocol: "", url: "http://localhost/", data: undefined });
  const session = new WebSocketSession(
    { onMessage: (event) => void received.push(event.data) },
    ctx,
    { maxMessageSize },
  );
  const driver = recordingDriver();
  session.open(driver, runtimeMaxMessageSize);
  return { session, driver, received };
}

Deno.test("WebSocketSession.message() closes with 1009 above maxMessageSize", () => {
  const { session, driver, received } = openSession(4);
  session.message(new ArrayBuffer(4));
  session.message(new ArrayBuffer(5));
  session.message("héllo");
  assert.equal(received.length, 1);
  assert.deepEqual(driver.closes, [[1009, "Message too big"], [1009, "Message too big"]]);
});

Deno.test("WebSocketSession.open() keeps the check where the runtime's limit is larger", () => {
  const { session, driver, received } = openSession(4, 8);
  assert.equal(session.maxMessageSize, 4);
  session.message(new Uint8Array(5));
  assert.equal(received.length, 0);
  assert.deepEqual(driver.closes, [[1009, "Message too big"]]);
});

Deno.test("WebSocketSession.open() leaves the check to a runtime whose limit covers the route's", () => {
  for (const runtimeLimit of [4, 2]) {
    const { session, driver, received } = openSession(4, runtimeLimit);
    assert.equal(session.maxMessageSize, 0);
    // The runtime would have refused it: the session no longer looks.
    session.message(new ArrayBuffer(5));
    assert.equal(received.length, 1);
    assert.deepEqual(driver.closes, []);
  }
});

Deno.test("WebSocketSession.message() holds messages until open, drops them after close", () => {
  const received: unknown[] = [];
  const ctx = new WebSocketContext({ protocol: "", url: "http://localhost/", data: undefined });
  const session = new WebSocketSession(
    { onMessage: (event) => void received.push(event.data) },
    ctx,
  );
  session.message("early");
  assert.deepEqual(received, []);
  session.open(recordingDriver());
  assert.deepEqual(received, ["early"]);
  session.close(1000, "", true);
  session.message("late");
  session.open(recordingDriver());
  assert.deepEqual(received, ["early"]);
});
