import assert from "node:assert/strict";
import {
  createAcceptHeaders,
  createClientHandshake,
  HandshakeError,
  parseExtensionOffers,
  selectProtocol,
  validateServerHandshake,
  validateUpgradeRequest,
} from "../../src/codec/mod.ts";

const good = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HandshakeError, String(error));
    assert.ok(!error.message.includes("\n"), "one-line reason");
    return error.status;
  }
  throw new Error("did not throw");
}

Deno.test("validateUpgradeRequest() accepts token lists in any case", () => {
  const result = validateUpgradeRequest({
    method: "GET",
    headers: new Headers({
      ...good,
      upgrade: "WebSocket",
      connection: "keep-alive, Upgrade",
      "sec-websocket-protocol": "chat, superchat",
      "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
    }),
  });
  assert.equal(result.key, good["sec-websocket-key"]);
  assert.deepEqual(result.protocols, ["chat", "superchat"]);
  assert.equal(result.extensions[0].name, "permessage-deflate");
});

Deno.test("validateUpgradeRequest() answers 400 or 426 with a one-line reason", () => {
  const v = (headers: Record<string, string | undefined>, method = "GET") => () =>
    validateUpgradeRequest({ method, headers });
  assert.equal(statusOf(v(good, "POST")), 400);
  assert.equal(statusOf(v({ ...good, upgrade: "h2c" })), 400);
  assert.equal(statusOf(v({ ...good, connection: "keep-alive" })), 400);
  assert.equal(statusOf(v({ ...good, "sec-websocket-key": undefined })), 400);
  assert.equal(statusOf(v({ ...good, "sec-websocket-key": "c2hvcnQ=" })), 400);
  assert.equal(statusOf(v({ ...good, "sec-websocket-protocol": "a b" })), 400);
  assert.equal(
    statusOf(v({ ...good, "sec-websocket-extensions": "x; =1" })),
    400,
  );
  assert.equal(statusOf(v({ ...good, "sec-websocket-version": "8" })), 426);
  assert.equal(
    statusOf(v({ ...good, "sec-websocket-version": undefined })),
    426,
  );
  assert.equal(
    statusOf(() =>
      validateUpgradeRequest({
        method: "GET",
        headers: good,
        httpVersion: "1.0",
      })
    ),
    400,
  );
  try {
    validateUpgradeRequest({
      method: "GET",
      headers: { ...good, "sec-websocket-version": "8" },
    });
  } catch (error) {
    assert.deepEqual((error as HandshakeError).headers, {
      "Sec-WebSocket-Version": "13",
    });
  }
});

Deno.test("selectProtocol() never answers a protocol the client did not offer", () => {
  assert.equal(selectProtocol(["a", "b"], ["c", "b"]), "b");
  assert.equal(selectProtocol(["a", "b"], ["c"]), undefined);
  assert.equal(selectProtocol(["a", "b"], () => "z"), undefined);
  assert.equal(selectProtocol(["a", "b"], (offered) => offered[1]), "b");
  assert.equal(selectProtocol([], ["a"]), undefined);
  assert.equal(selectProtocol(["a"], undefined), undefined);
});

Deno.test("parseExtensionOffers() reads offers, quoted values and rejects bad grammar", () => {
  const offers = parseExtensionOffers(
    'permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-webkit',
  );
  assert.deepEqual(offers, [
    {
      name: "permessage-deflate",
      params: [["client_max_window_bits", true], [
        "server_max_window_bits",
        "10",
      ]],
    },
    { name: "x-webkit", params: [] },
  ]);
  assert.throws(() => parseExtensionOffers("a; b=c d"), SyntaxError);
  assert.throws(() => parseExtensionOffers(";"), SyntaxError);
  // A hostile header is parsed in one pass: 100k parameters, linear time.
  const long = "x" + "; a".repeat(100_000);
  assert.equal(parseExtensionOffers(long)[0].params.length, 100_000);
});

Deno.test("createClientHandshake() and validateServerHandshake() agree with the server side", () => {
  const client = createClientHandshake({ protocols: ["chat", "v2"] });
  const upgrade = validateUpgradeRequest({
    method: "GET",
    headers: client.headers,
  });
  const protocol = selectProtocol(upgrade.protocols, ["v2"]);
  const answer = createAcceptHeaders(upgrade.key, { protocol });
  const agreed = validateServerHandshake(101, new Headers(answer), {
    key: client.key,
    protocols: ["chat", "v2"],
  });
  assert.equal(agreed.protocol, "v2");
  assert.throws(
    () =>
      validateServerHandshake(101, new Headers(answer), {
        key: client.key,
        protocols: ["chat"],
      }),
    HandshakeError,
  );
  assert.throws(
    () =>
      validateServerHandshake(
        101,
        new Headers({ ...answer, "Sec-WebSocket-Accept": "x" }),
        {
          key: client.key,
          protocols: ["v2"],
        },
      ),
    HandshakeError,
  );
  assert.throws(
    () => validateServerHandshake(200, new Headers(), { key: client.key }),
    HandshakeError,
  );
  assert.notEqual(createClientHandshake().key, client.key);
});
