/**
 * toUpgradeRequest(): the Request (and Headers) an upgrade is routed with on
 * Node behave as real ones, though made from the raw header lines.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { toUpgradeRequest } from "../../src/adapters/node_upgrade_request.ts";

function incoming(rawHeaders: string[], url = "/chat?room=1", encrypted = false): IncomingMessage {
  return { rawHeaders, url, method: "GET", socket: { encrypted } } as unknown as IncomingMessage;
}

const RAW = [
  "Host",
  "example.test:8000",
  "Upgrade",
  "websocket",
  "Connection",
  "Upgrade",
  "X-Multi",
  "a",
  "x-multi",
  "b",
  "Sec-WebSocket-Key",
  "dGhlIHNhbXBsZSBub25jZQ==",
];

Deno.test("toUpgradeRequest() builds the URL from the first Host line and the scheme", () => {
  assert.equal(toUpgradeRequest(incoming(RAW)).url, "http://example.test:8000/chat?room=1");
  assert.equal(
    toUpgradeRequest(incoming(["Host", "a.test", "Host", "b.test"], "/", true)).url,
    "https://a.test/",
  );
  assert.equal(toUpgradeRequest(incoming([], "/x")).url, "http://localhost/x");
});

Deno.test("toUpgradeRequest() headers: get() and has() in any case, repeated lines joined", () => {
  const { headers } = toUpgradeRequest(incoming(RAW));
  assert.ok(headers instanceof Headers);
  assert.equal(headers.get("upgrade"), "websocket");
  assert.equal(headers.get("SEC-WEBSOCKET-KEY"), "dGhlIHNhbXBsZSBub25jZQ==");
  assert.equal(headers.get("x-multi"), "a, b");
  assert.equal(headers.get("x-missing"), null);
  assert.equal(headers.has("Connection"), true);
  assert.equal(headers.has("x-missing"), false);
  // Names that differ by 0x20 in a non-letter are different names.
  assert.equal(toUpgradeRequest(incoming(["a@", "1"])).headers.get("a`"), null);
});

Deno.test("toUpgradeRequest() headers iterate, copy and change as a real Headers", () => {
  const { headers } = toUpgradeRequest(incoming(RAW));
  const real = new Headers();
  for (let i = 0; i < RAW.length; i += 2) real.append(RAW[i], RAW[i + 1]);
  assert.deepEqual([...headers], [...real]);
  assert.deepEqual([...headers.keys()], [...real.keys()]);
  assert.deepEqual([...new Headers(headers)], [...real]);
  const seen: string[] = [];
  headers.forEach((value, name, self) => {
    assert.equal(self, headers);
    seen.push(`${name}=${value}`);
  });
  assert.equal(seen.length, [...real].length);
  headers.set("x-multi", "c");
  headers.append("x-new", "d");
  headers.delete("upgrade");
  assert.equal(headers.get("x-multi"), "c");
  assert.equal(headers.get("x-new"), "d");
  assert.equal(headers.has("upgrade"), false);
});

Deno.test("toUpgradeRequest() makes the real Request for anything else", async () => {
  const request = toUpgradeRequest(incoming(RAW));
  assert.ok(request instanceof Request);
  assert.equal(request.method, "GET");
  assert.equal(request.signal.aborted, false);
  assert.equal(await request.text(), "");
  assert.equal(request.clone().headers.get("x-multi"), "a, b");
});
