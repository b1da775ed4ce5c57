import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  Opcode,
  WebSocketProtocol,
  type WebSocketProtocolOptions,
} from "../../src/codec/mod.ts";
import { chunkings, concat, frame, randomBytes } from "../_util/chunking.ts";

interface Run {
  texts: string[];
  binaries: Uint8Array[];
  pings: Uint8Array[];
  closes: Array<[number, string, boolean]>;
  sent: Array<[number, Uint8Array]>;
}

function run(
  chunks: Uint8Array[],
  options: WebSocketProtocolOptions = {},
): Run {
  const r: Run = { texts: [], binaries: [], pings: [], closes: [], sent: [] };
  // Read what the server sends back with a client-role decoder.
  const out = new FrameDecoder({
    onData: (p, op) => r.sent.push([op, p.slice()]),
    onControl: (op, p) => r.sent.push([op, p.slice()]),
  }, { role: "client" });
  const protocol = new WebSocketProtocol({
    write: (parts) => parts.forEach((p) => out.push(p.slice())),
    onText: (t) => r.texts.push(t),
    onBinary: (b) => r.binaries.push(b.slice()),
    onPing: (p) => r.pings.push(p.slice()),
    onClose: (code, reason, clean) => r.closes.push([code, reason, clean]),
  }, options);
  for (const c of chunks) protocol.receive(c);
  return r;
}

function each(
  bytes: Uint8Array,
  check: (r: Run, how: string) => void,
  options?: WebSocketProtocolOptions,
) {
  for (const [how, chunks] of chunkings(bytes)) {
    check(run(chunks, options), how);
  }
}

const enc = (s: string) => new TextEncoder().encode(s);
const closeFrame = (code: number, reason = "", raw?: Uint8Array) =>
  frame(
    8,
    raw ?? concat([new Uint8Array([code >> 8, code & 255]), enc(reason)]),
  );

Deno.test("WebSocketProtocol.receive() reassembles fragmented text and binary", () => {
  const bin = randomBytes(5000);
  each(
    concat([
      frame(1, enc("Hé"), { fin: false }),
      frame(0, enc("llo "), { fin: false }),
      frame(0, enc("wörld")),
      frame(2, bin.subarray(0, 1000), { fin: false }),
      frame(9, enc("p")),
      frame(0, bin.subarray(1000)),
    ]),
    (r, how) => {
      assert.deepEqual(r.texts, ["Héllo wörld"], how);
      assert.deepEqual(r.binaries, [bin], how);
      assert.deepEqual(r.sent, [[Opcode.Pong, enc("p")]], how);
    },
  );
});

Deno.test("WebSocketProtocol.receive() accepts a code point split across fragments", () => {
  const euro = enc("€"); // e2 82 ac
  each(
    concat([
      frame(1, euro.subarray(0, 1), { fin: false }),
      frame(0, euro.subarray(1, 2), { fin: false }),
      frame(0, euro.subarray(2)),
    ]),
    (r, how) => assert.deepEqual(r.texts, ["€"], how),
  );
});

Deno.test("WebSocketProtocol.receive() fails invalid UTF-8 with 1007 as soon as it is seen", () => {
  // Whole frame.
  each(frame(1, new Uint8Array([0xce, 0xba, 0xff])), (r, how) => {
    assert.equal(r.closes[0][0], 1007, how);
    assert.deepEqual(r.sent.map(([op, p]) => [op, (p[0] << 8) | p[1]]), [[
      8,
      1007,
    ]], how);
  });
  // In the first fragment: fails before the rest of the message arrives.
  each(frame(1, new Uint8Array([0x61, 0xf8]), { fin: false }), (r, how) => {
    assert.deepEqual(r.closes.map((c) => c[0]), [1007], how);
  });
  // A surrogate (ED A0) is invalid at its second byte, even split.
  each(
    concat([
      frame(1, new Uint8Array([0xed]), { fin: false }),
      frame(0, new Uint8Array([0xa0]), { fin: false }),
    ]),
    (r, how) => assert.deepEqual(r.closes.map((c) => c[0]), [1007], how),
  );
  // A message that ends mid code point.
  each(
    frame(1, new Uint8Array([0xe2, 0x82])),
    (r, how) => assert.equal(r.closes[0][0], 1007, how),
  );
  each(
    concat([
      frame(1, new Uint8Array([0x61]), { fin: false }),
      frame(0, new Uint8Array([0xe2, 0x82])),
    ]),
    (r, how) => assert.equal(r.closes[0][0], 1007, how),
  );
});

Deno.test("WebSocketProtocol.receive() validates close payloads", () => {
  each(
    closeFrame(0, "", new Uint8Array([3])),
    (r, how) => assert.equal(r.closes[0][0], 1002, how),
  );
  for (
    const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]
  ) {
    each(closeFrame(code), (r, how) =>
      assert.deepEqual(
        r.closes[0],
        [1002, `Invalid close code ${code}`, false],
        how,
      ));
  }
  each(
    closeFrame(1000, "", new Uint8Array([0x03, 0xe8, 0xff])),
    (r, how) => assert.equal(r.closes[0][0], 1007, how),
  );
  for (const code of [1000, 1001, 1003, 1011, 1014, 3000, 4999]) {
    each(closeFrame(code, "bye ✓"), (r, how) => {
      assert.deepEqual(r.closes, [[code, "bye ✓", true]], how);
      // The answer echoes the code and the reason.
      assert.deepEqual(r.sent.map(([op, p]) => [op, (p[0] << 8) | p[1]]), [[
        8,
        code,
      ]], how);
      assert.equal(new TextDecoder().decode(r.sent[0][1].subarray(2)), "bye ✓", how);
    });
  }
  each(frame(8, new Uint8Array(0)), (r, how) => {
    assert.deepEqual(r.closes, [[1005, "", true]], how);
    assert.deepEqual(r.sent, [[8, new Uint8Array(0)]], how);
  });
});

Deno.test("WebSocketProtocol ignores input after the close and after a failure", () => {
  each(concat([closeFrame(1000), frame(1, enc("late"))]), (r, how) => {
    assert.deepEqual(r.texts, [], how);
    assert.equal(r.closes.length, 1, how);
  });
  each(
    concat([frame(1, enc("x"), { mask: null }), frame(1, enc("late"))]),
    (r, how) => {
      assert.deepEqual(r.texts, [], how);
      assert.deepEqual(r.closes.map((c) => c[0]), [1002], how);
    },
  );
});

Deno.test("WebSocketProtocol.close() waits for the peer's close and reports its code", () => {
  const closes: Array<[number, string, boolean]> = [];
  const sent: Uint8Array[] = [];
  const p = new WebSocketProtocol({
    write: (parts) => sent.push(concat(parts)),
    onText: () => {},
    onBinary: () => {},
    onClose: (...c) => closes.push(c),
  });
  p.close(4000, "done");
  assert.equal(p.state, 2);
  assert.throws(() => p.close(1000, "x".repeat(124)), RangeError);
  p.sendText("dropped while closing");
  assert.equal(sent.length, 1);
  p.receive(closeFrame(4000, "done"));
  assert.deepEqual(closes, [[4000, "done", true]]);
  assert.equal(sent.length, 1, "no second close frame");
  p.abort();
  assert.equal(closes.length, 1, "onClose fires once");
});

Deno.test("WebSocketProtocol in the client role masks and round-trips with a server", () => {
  const random = randomBytes(70000);
  for (const size of [0, 1, 125, 126, 65535, 65536, 70000]) {
    const got: Uint8Array[] = [];
    const server = new WebSocketProtocol({
      write: () => {},
      onText: () => {},
      onBinary: (b) => got.push(b.slice()),
      onClose: (code) => assert.fail(`closed ${code}`),
    });
    const client = new WebSocketProtocol({
      // The random-splits chunking of what the client writes.
      write: (parts) => chunkings(concat(parts), size)[2][1].forEach((c) => server.receive(c)),
      onText: () => {},
      onBinary: () => {},
      onClose: () => {},
    }, { role: "client" });
    client.sendBinary(random.subarray(0, size));
    assert.deepEqual(got, [random.subarray(0, size)], `size ${size}`);
  }
});

Deno.test("encodeFrame() → FrameDecoder round-trips random payloads in random chunkings", () => {
  const random = randomBytes(200000, 11);
  let seed = 1;
  for (let round = 0; round < 60; round++) {
    const sizes = [
      0,
      3,
      125,
      126,
      127,
      1024,
      1025,
      65535,
      65536,
      (round * 7919) % 150000,
    ];
    const size = sizes[round % sizes.length];
    const payload = random.subarray(round, round + size);
    const mask = round % 2 === 0;
    const bytes = concat(encodeFrame(Opcode.Binary, payload, { mask }));
    for (const [how, chunks] of chunkings(bytes, seed++)) {
      if (how === "byte by byte" && size > 2000) continue;
      const got: Uint8Array[] = [];
      const d = new FrameDecoder({
        onData: (p) => got.push(p.slice()),
        onControl: () => {},
      }, {
        role: mask ? "server" : "client",
      });
      chunks.forEach((c) => d.push(c));
      assert.deepEqual(got, [payload], `${size} ${how}`);
    }
  }
});
