import assert from "node:assert/strict";
import {
  formatExtensions,
  negotiatePerMessageDeflate,
  parseExtensionOffers,
  type PerMessageDeflateNegotiation,
} from "../../src/codec/mod.ts";

/** The answer's header value, or null when every offer is declined. */
function answer(header: string, options: PerMessageDeflateNegotiation = {}): string | null {
  const agreement = negotiatePerMessageDeflate(parseExtensionOffers(header), options);
  return agreement ? formatExtensions([agreement.response]) : null;
}

Deno.test("negotiatePerMessageDeflate() answers the RFC 7692 §7.1 parameters as offered", () => {
  const cases: Array<[string, PerMessageDeflateNegotiation, string | null]> = [
    ["permessage-deflate", {}, "permessage-deflate"],
    // §7.1.2.2: client_max_window_bits without a value lets the server pick.
    ["permessage-deflate; client_max_window_bits", {}, "permessage-deflate"],
    [
      "permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=10",
    ],
    // The client said 9: asking for 10 would be more than it allows.
    [
      "permessage-deflate; client_max_window_bits=9",
      { clientMaxWindowBits: 10 },
      "permessage-deflate",
    ],
    // Without the client's client_max_window_bits the server must not send it.
    ["permessage-deflate", { clientMaxWindowBits: 10 }, "permessage-deflate"],
    [
      "permessage-deflate; server_max_window_bits=10",
      {},
      "permessage-deflate; server_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_max_window_bits=12",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=10",
    ],
    // §7.1.2.1: the server may state a smaller window unasked.
    [
      "permessage-deflate",
      { serverMaxWindowBits: 11 },
      "permessage-deflate; server_max_window_bits=11",
    ],
    [
      "permessage-deflate; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "permessage-deflate",
      { serverNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "permessage-deflate; client_no_context_takeover",
      {},
      "permessage-deflate; client_no_context_takeover",
    ],
    [
      "permessage-deflate; client_no_context_takeover",
      { clientNoContextTakeover: false },
      "permessage-deflate",
    ],
    [
      "permessage-deflate",
      { clientNoContextTakeover: true },
      "permessage-deflate; client_no_context_takeover",
    ],
    // A quoted value is the same value (RFC 6455 §9.1).
    [
      'permessage-deflate; server_max_window_bits="10"',
      {},
      "permessage-deflate; server_max_window_bits=10",
    ],
    // Names are case-insensitive.
    [
      "PerMessage-Deflate; Server_No_Context_Takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
    ],
  ];
  for (const [offer, options, expected] of cases) {
    assert.equal(answer(offer, options), expected, `${offer} ${JSON.stringify(options)}`);
  }
});

Deno.test("negotiatePerMessageDeflate() declines malformed, duplicated and unknown parameters", () => {
  for (
    const offer of [
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
      "permessage-deflate; server_no_context_takeover=1",
      "permessage-deflate; client_no_context_takeover=true",
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=010",
      "permessage-deflate; server_max_window_bits=1e1",
      "permessage-deflate; client_max_window_bits=abc",
      "permessage-deflate; client_max_window_bits=0x0f",
      "permessage-deflate; x_unknown",
      // zlib has no 256-byte deflate window.
      "permessage-deflate; server_max_window_bits=8",
      "x-webkit-deflate-frame",
    ]
  ) {
    assert.equal(answer(offer), null, offer);
  }
});

Deno.test("negotiatePerMessageDeflate() takes the first acceptable offer, in the client's order", () => {
  assert.equal(
    answer(
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10, permessage-deflate",
    ),
    "permessage-deflate; server_max_window_bits=10",
  );
  assert.equal(
    answer("foo, permessage-deflate; bad_param, permessage-deflate; client_no_context_takeover"),
    "permessage-deflate; client_no_context_takeover",
  );
  assert.equal(answer(""), null);
});

Deno.test("negotiatePerMessageDeflate() reports the windows and contexts each side uses", () => {
  const agreement = negotiatePerMessageDeflate(
    parseExtensionOffers(
      "permessage-deflate; client_max_window_bits=12; server_max_window_bits=11; client_no_context_takeover",
    ),
  );
  assert.deepEqual(agreement, {
    serverNoContextTakeover: false,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 11,
    clientMaxWindowBits: 12,
    response: {
      name: "permessage-deflate",
      params: [["client_no_context_takeover", true], ["server_max_window_bits", "11"]],
    },
  });
});

Deno.test("negotiatePerMessageDeflate() throws RangeError for window bits out of range", () => {
  assert.throws(() => negotiatePerMessageDeflate([], { serverMaxWindowBits: 8 }), RangeError);
  assert.throws(() => negotiatePerMessageDeflate([], { serverMaxWindowBits: 16 }), RangeError);
  assert.throws(() => negotiatePerMessageDeflate([], { clientMaxWindowBits: 7 }), RangeError);
  assert.throws(() => negotiatePerMessageDeflate([], { clientMaxWindowBits: 9.5 }), RangeError);
  assert.equal(negotiatePerMessageDeflate([], { clientMaxWindowBits: 8 }), null);
});
