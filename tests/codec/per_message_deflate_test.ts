/**
 * permessage-deflate in the codec: the RFC 7692 §7.2.3 vectors, compressed
 * messages fed whole, byte by byte and in random splits, context takeover
 * kept or reset, RSV1 rules, and the inflation limit. DEFLATE comes from
 * the Node adapter's engine (Deno's `node:zlib` here).
 */
import assert from "node:assert/strict";
import { nodeDeflateEngine } from "../../src/adapters/node_deflate_engine.ts";
import {
  FrameDecoder,
  Opcode,
  PerMessageDeflate,
  type PerMessageDeflateAgreement,
  type PerMessageDeflateInit,
  ProtocolError,
  WebSocketProtocol,
} from "../../src/codec/mod.ts";
import { chunkings, concat, createRandom, frame, hex, randomBytes } from "../_util/chunking.ts";

type Agreement = Omit<PerMessageDeflateAgreement, "response">;
const DEFAULT: Agreement = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const engine = nodeDeflateEngine;
const text = new TextEncoder();

function create(agreement: Partial<Agreement> = {}, init: Partial<PerMessageDeflateInit> = {}) {
  return new PerMessageDeflate({ ...DEFAULT, ...agreement }, { engine, ...init });
}

interface Run {
  texts: string[];
  binaries: Uint8Array[];
  closes: number[];
  sent: Array<[number, Uint8Array]>;
}

/** A server protocol with permessage-deflate, fed `chunks`. */
function run(
  chunks: Uint8Array[],
  agreement: Partial<Agreement> = {},
  init: Partial<PerMessageDeflateInit> = {},
): Run {
  const r: Run = { texts: [], binaries: [], closes: [], sent: [] };
  const out = new FrameDecoder({
    onData: (p, op, _first, _fin, rsv1) => r.sent.push([op | (rsv1 ? 0x40 : 0), p.slice()]),
    onControl: (op, p) => r.sent.push([op, p.slice()]),
  }, { role: "client", allowRsv1: true });
  const protocol = new WebSocketProtocol({
    write: (parts) => out.push(concat(parts.map((p) => p.slice()))),
    onText: (t) => r.texts.push(t),
    onBinary: (b) => r.binaries.push(b.slice()),
    onClose: (code) => r.closes.push(code),
  }, { perMessageDeflate: create(agreement, init), maxMessageSize: init.maxMessageSize });
  // Copies: the decoder unmasks in place, and a case may run twice.
  for (const c of chunks) protocol.receive(c.slice());
  return r;
}

const RSV1 = { rsv: 4 };

Deno.test("PerMessageDeflate.compress() gives the RFC 7692 §7.2.3.1 and §7.2.3.2 Hello", () => {
  const pmd = create();
  assert.deepEqual(pmd.compress(text.encode("Hello")), hex("f2 48 cd c9 c9 07 00"));
  assert.deepEqual(pmd.compress(text.encode("Hello")), hex("f2 00 11 00 00"));
  pmd.close();
  // Without context takeover every message stands alone.
  const fresh = create({ serverNoContextTakeover: true });
  assert.deepEqual(fresh.compress(text.encode("Hello")), hex("f2 48 cd c9 c9 07 00"));
  assert.deepEqual(fresh.compress(text.encode("Hello")), hex("f2 48 cd c9 c9 07 00"));
});

Deno.test("PerMessageDeflate.compress() makes an empty message the one octet 0x00 (§7.2.3.6), which the next message inflates after", () => {
  for (const serverNoContextTakeover of [false, true]) {
    const pmd = create({ serverNoContextTakeover });
    const hello = pmd.compress(text.encode("Hello"));
    // After a flush zlib would give nothing at all: an empty payload that,
    // with the tail appended, leaves the peer's inflater in a broken block.
    const empty = pmd.compress(new Uint8Array(0));
    assert.deepEqual(empty, hex("00"), `no context takeover: ${serverNoContextTakeover}`);
    const again = pmd.compress(text.encode("Hello"));
    pmd.close();
    const peer = create({ clientNoContextTakeover: serverNoContextTakeover });
    const read = [hello, empty, again].map((payload) =>
      new TextDecoder().decode(peer.decompress(payload, true) as Uint8Array)
    );
    peer.close();
    assert.deepEqual(
      read,
      ["Hello", "", "Hello"],
      `no context takeover: ${serverNoContextTakeover}`,
    );
  }
});

Deno.test("WebSocketProtocol inflates the RFC 7692 §7.2.3 examples, whole, byte by byte and in random splits", () => {
  const wire = concat([
    // §7.2.3.1: one frame, then in two fragments.
    frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1),
    frame(Opcode.Text, hex("f2 48 cd"), { rsv: 4, fin: false }),
    frame(Opcode.Continuation, hex("c9 c9 07 00")),
    // §7.2.3.3: a stored (uncompressed) block.
    frame(Opcode.Text, hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), RSV1),
    // §7.2.3.5: two DEFLATE blocks in one message.
    frame(Opcode.Text, hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), RSV1),
    // An uncompressed message between compressed ones.
    frame(Opcode.Text, text.encode("plain")),
    // A ping inside a fragmented compressed message.
    frame(Opcode.Binary, hex("f2 48 cd"), { rsv: 4, fin: false }),
    frame(Opcode.Ping, text.encode("p")),
    frame(Opcode.Continuation, hex("c9 c9 07 00")),
  ]);
  for (const [how, chunks] of chunkings(wire)) {
    // Each a separate stream: no context from one to the next.
    const r = run(chunks, { clientNoContextTakeover: true });
    assert.deepEqual(r.texts, ["Hello", "Hello", "Hello", "Hello", "plain"], how);
    assert.deepEqual(r.binaries, [text.encode("Hello")], how);
    assert.deepEqual(r.closes, [], how);
  }
});

Deno.test("WebSocketProtocol inflates §7.2.3.4's BFINAL Hello and the messages after it, in a fresh context", () => {
  // A sender that flushes with BFINAL set starts a new DEFLATE stream for
  // its next message: the receiver must too, or every later message
  // inflates to nothing (zlib takes no input past a final block).
  const wire = concat([
    // §7.2.3.4 as the RFC gives it: the final block, then a 0x00 that the
    // appended tail completes into an empty stored block.
    frame(Opcode.Text, hex("f3 48 cd c9 c9 07 00 00"), RSV1),
    // Then a fresh stream, and §7.2.3.2's back-reference into it.
    frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1),
    frame(Opcode.Text, hex("f2 00 11 00 00"), RSV1),
    // The final block without the 0x00, in two fragments.
    frame(Opcode.Binary, hex("f3 48 cd"), { rsv: 4, fin: false }),
    frame(Opcode.Continuation, hex("c9 c9 07 00")),
    frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1),
  ]);
  for (const [how, chunks] of chunkings(wire)) {
    const r = run(chunks);
    assert.deepEqual(r.texts, ["Hello", "Hello", "Hello", "Hello"], how);
    assert.deepEqual(r.binaries, [text.encode("Hello")], how);
    assert.deepEqual(r.closes, [], how);
  }
  // Without context takeover too (each message on the shared inflater).
  const alone = concat([
    frame(Opcode.Text, hex("f3 48 cd c9 c9 07 00 00"), RSV1),
    frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1),
  ]);
  for (const [how, chunks] of chunkings(alone)) {
    assert.deepEqual(run(chunks, { clientNoContextTakeover: true }).texts, ["Hello", "Hello"], how);
  }
});

Deno.test("WebSocketProtocol inflates §7.2.3.2's shared-context Hello only with context takeover", () => {
  const wire = concat([
    frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1),
    frame(Opcode.Text, hex("f2 00 11 00 00"), RSV1),
  ]);
  for (const [how, chunks] of chunkings(wire)) {
    assert.deepEqual(run(chunks).texts, ["Hello", "Hello"], how);
    // Told the client resets its context, the server resets its inflater:
    // the back-reference then points nowhere (1007).
    const reset = run(chunks, { clientNoContextTakeover: true });
    assert.deepEqual(reset.texts, ["Hello"], how);
    assert.deepEqual(reset.closes, [1007], how);
  }
});

Deno.test("WebSocketProtocol sends messages at or above the threshold compressed, RSV1 on the first frame only", () => {
  const sent: Uint8Array[] = [];
  const protocol = new WebSocketProtocol({
    write: (parts) => sent.push(concat(parts)),
    onText: () => {},
    onBinary: () => {},
    onClose: () => {},
  }, { perMessageDeflate: create({}, { threshold: 10 }) });
  protocol.sendText("short");
  protocol.sendText("Hello Hello Hello");
  protocol.sendBinary(new Uint8Array(4096));
  protocol.ping(text.encode("x"));
  protocol.close(1000);
  assert.deepEqual(sent.map((f) => f[0]), [0x81, 0xc1, 0xc2, 0x89, 0x88]);
  assert.ok(sent[2].length < 100, `4 KiB of zeros in ${sent[2].length} bytes`);
});

Deno.test("WebSocketProtocol round-trips client to server with every context and window setting", () => {
  const random = createRandom(7);
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const bits of [9, 12, 15]) {
        const agreement = {
          serverNoContextTakeover,
          clientNoContextTakeover,
          serverMaxWindowBits: bits,
          clientMaxWindowBits: bits,
        };
        const label = JSON.stringify(agreement);
        const received: Array<string | Uint8Array> = [];
        const echoed: Array<string | Uint8Array> = [];
        const peer: { client?: WebSocketProtocol } = {};
        const server: WebSocketProtocol = new WebSocketProtocol({
          write: (parts) => peer.client!.receive(concat(parts.map((p) => p.slice()))),
          onText: (t) => (received.push(t), server.sendText(t)),
          onBinary: (b) => (received.push(b.slice()), server.sendBinary(b)),
          onClose: () => {},
        }, { perMessageDeflate: create(agreement, { threshold: 0 }) });
        const client = peer.client = new WebSocketProtocol({
          write: (parts) => server.receive(concat(parts.map((p) => p.slice()))),
          onText: (t) => echoed.push(t),
          onBinary: (b) => echoed.push(b.slice()),
          onClose: () => {},
        }, {
          role: "client",
          perMessageDeflate: create(agreement, { role: "client", threshold: 0 }),
        });
        const messages: Array<string | Uint8Array> = [];
        for (let i = 0; i < 30; i++) {
          const size = Math.floor(random() * 3000);
          messages.push(
            i % 3 === 0
              ? randomBytes(size, i)
              : `{"from":"user${i % 4}","text":"${"hello ".repeat(size / 6)}"}`,
          );
        }
        for (const m of messages) {
          if (typeof m === "string") client.sendText(m);
          else client.sendBinary(m);
        }
        assert.deepEqual(received, messages, label);
        assert.deepEqual(echoed, messages, label);
      }
    }
  }
});

Deno.test("WebSocketProtocol fails 1002 on RSV1 in a continuation, a control frame, or unnegotiated", () => {
  const cases: Array<[string, Uint8Array, boolean]> = [
    [
      "continuation",
      concat([
        frame(Opcode.Text, hex("f2 48 cd"), { rsv: 4, fin: false }),
        frame(Opcode.Continuation, hex("c9 c9 07 00"), RSV1),
      ]),
      true,
    ],
    ["ping", frame(Opcode.Ping, text.encode("p"), RSV1), true],
    ["close", frame(Opcode.Close, hex("03 e8"), RSV1), true],
    ["not negotiated", frame(Opcode.Text, hex("f2 48 cd c9 c9 07 00"), RSV1), false],
  ];
  for (const [name, wire, negotiated] of cases) {
    for (const [how, chunks] of chunkings(wire)) {
      const closes: number[] = [];
      const protocol = new WebSocketProtocol({
        write: () => {},
        onText: () => {},
        onBinary: () => {},
        onClose: (code) => closes.push(code),
      }, negotiated ? { perMessageDeflate: create() } : {});
      for (const c of chunks) protocol.receive(c);
      assert.deepEqual(closes, [1002], `${name}, ${how}`);
    }
  }
});

Deno.test("WebSocketProtocol fails 1007 on corrupt DEFLATE data and on invalid UTF-8 once inflated", () => {
  const invalidUtf8 = create().compress(hex("48 65 ff 6c 6f"));
  for (
    const [name, wire] of [
      ["corrupt", frame(Opcode.Text, hex("ff ff ff ff"), RSV1)],
      ["invalid UTF-8", frame(Opcode.Text, invalidUtf8, RSV1)],
    ] as const
  ) {
    for (const [how, chunks] of chunkings(wire)) {
      assert.deepEqual(run(chunks).closes, [1007], `${name}, ${how}`);
    }
  }
});

Deno.test("WebSocketProtocol stops inflating at maxMessageSize and fails 1009, in one frame or across fragments", () => {
  const deflate = engine.createDeflate({ windowBits: 15 });
  const zeros = new Uint8Array(1 << 20);
  const mebibyte = deflate.write(zeros)!; // keeps its sync-flush tail
  deflate.close();
  const bomb = concat(Array.from({ length: 16 }, () => mebibyte));
  const limit = { maxMessageSize: 1 << 20 };
  // Exactly at the limit is allowed.
  const exact = concat([
    frame(Opcode.Binary, mebibyte.subarray(0, mebibyte.length - 4), RSV1),
  ]);
  assert.deepEqual(run([exact], {}, limit).binaries[0].length, 1 << 20);
  for (
    const [name, wire] of [
      ["one frame", frame(Opcode.Binary, bomb, RSV1)],
      [
        "fragments",
        concat([
          frame(Opcode.Binary, mebibyte.subarray(0, 100), { rsv: 4, fin: false }),
          ...Array.from({ length: 3 }, (_, i) =>
            frame(
              Opcode.Continuation,
              i === 0 ? mebibyte.subarray(100) : mebibyte,
              { fin: i === 2 },
            )),
        ]),
      ],
    ] as const
  ) {
    for (const [how, chunks] of chunkings(wire)) {
      const r = run(chunks, {}, limit);
      assert.deepEqual(r.closes, [1009], `${name}, ${how}`);
      assert.deepEqual(r.binaries, [], `${name}, ${how}`);
    }
  }
});

Deno.test("PerMessageDeflate.decompress() throws ProtocolError 1009 before inflating past the limit", () => {
  const pmd = create({}, { maxMessageSize: 1000 });
  const payload = create().compress(new Uint8Array(100_000));
  assert.throws(
    () => pmd.decompress(payload, true),
    (error) => error instanceof ProtocolError && error.closeCode === 1009,
  );
});

Deno.test("PerMessageDeflate shares streams without context takeover across interleaved connections", () => {
  const a = create({ clientNoContextTakeover: true });
  const b = create({ clientNoContextTakeover: true });
  const hello = hex("f2 48 cd c9 c9 07 00");
  // a's message in two fragments, with b's single-frame messages between.
  assert.equal(a.decompress(hello.subarray(0, 3), false), null);
  assert.deepEqual(b.decompress(hello, true), text.encode("Hello"));
  assert.deepEqual(a.decompress(hello.subarray(3), true), text.encode("Hello"));
  assert.deepEqual(b.decompress(hello, true), text.encode("Hello"));
  a.close();
  b.close();
});

// A compressed message, its compressed bytes cut into `fragment`-byte frames.
function compressedWire(opcode: number, message: Uint8Array, fragment: number): Uint8Array[] {
  return compressedFragments(message, fragment).map((payload, i, all) =>
    frame(i === 0 ? opcode : Opcode.Continuation, payload, {
      rsv: i === 0 ? 4 : 0,
      fin: i === all.length - 1,
    })
  );
}

function compressedFragments(message: Uint8Array, fragment: number): Uint8Array[] {
  const compressed = create({}, { role: "client" }).compress(message);
  const payloads: Uint8Array[] = [];
  for (let at = 0; at < compressed.length; at += fragment) {
    payloads.push(compressed.subarray(at, at + fragment));
  }
  return payloads;
}

Deno.test("WebSocketProtocol inflates a compressed message in 65,536 one-byte fragments with the default limits", () => {
  const binary = randomBytes(64 * 1024, 13); // incompressible: about 64 KiB compressed
  const textBytes = text.encode("κόσμε €𝄞 ".repeat(3000));
  for (
    const [opcode, message, fragment] of [
      [Opcode.Binary, binary, 1],
      [Opcode.Binary, binary, 64],
      [Opcode.Text, textBytes, 1],
      [Opcode.Text, textBytes, 7],
    ] as const
  ) {
    const frames = compressedWire(opcode, message, fragment);
    if (opcode === Opcode.Binary && fragment === 1) assert.ok(frames.length > 65_536);
    const wire = concat(frames);
    for (const [how, chunks] of chunkings(wire).filter(([how]) => how !== "byte by byte")) {
      const r = run(chunks);
      const label = `${opcode} in ${fragment}-byte fragments, ${how}`;
      assert.deepEqual(r.closes, [], label);
      if (opcode === Opcode.Text) {
        assert.deepEqual(r.texts, [new TextDecoder().decode(message)], label);
      } else assert.deepEqual(r.binaries, [message], label);
    }
  }
});

Deno.test("WebSocketProtocol fails 1007 on invalid UTF-8 in a compressed fragmented message at the fragment that inflates it", () => {
  const good = text.encode("κόσμε, some text of every width: a é € 𝄞. ".repeat(400));
  for (
    const [bad, offset] of [["ed a0 80", 1], ["f4 90 80 80", 1], ["ff", 0], ["c0 80", 0]] as const
  ) {
    const message = concat([good, hex(bad), good]);
    const badAt = good.length + offset;
    for (const fragment of [16, 256]) {
      const frames = compressedWire(Opcode.Text, message, fragment);
      // Where the bad byte comes out: inflate the same payloads on their own.
      const inflater = create();
      let out = 0;
      let expected = -1;
      compressedFragments(message, fragment).forEach((payload, i, all) => {
        out += inflater.inflateFrame(payload, i === all.length - 1).length;
        if (expected === -1 && out > badAt) expected = i;
      });
      inflater.close();
      assert.ok(expected < frames.length - 1, "the bad byte inflates before the last frame");
      const closes: number[] = [];
      const protocol = new WebSocketProtocol({
        write: () => {},
        onText: () => assert.fail("no text"),
        onBinary: () => {},
        onClose: (code) => closes.push(code),
      }, { perMessageDeflate: create() });
      let closedAt = -1;
      frames.forEach((f, i) => {
        protocol.receive(f.slice());
        if (closedAt === -1 && closes.length > 0) closedAt = i;
      });
      assert.deepEqual(
        [closes, closedAt],
        [[1007], expected],
        `${bad} in ${fragment}-byte fragments`,
      );
    }
  }
});

Deno.test("PerMessageDeflate.inflateFrame() returns each frame's output, the limit counted across the message", () => {
  const message = text.encode("Hello, fragmented and compressed world. ".repeat(200));
  const compressed = create({}, { role: "client" }).compress(message);
  const pmd = create();
  const outputs: Uint8Array[] = [];
  for (let at = 0; at < compressed.length; at += 10) {
    const end = Math.min(compressed.length, at + 10);
    outputs.push(pmd.inflateFrame(compressed.subarray(at, end), end === compressed.length));
  }
  assert.deepEqual(concat(outputs), message);
  // The next message starts a new budget; the context is kept (takeover).
  assert.deepEqual(
    pmd.inflateFrame(create({}, { role: "client" }).compress(message), true),
    message,
  );
  pmd.close();
  // Over the limit across frames, though no frame alone is: 1009.
  const limited = create({}, { maxMessageSize: message.length - 1 });
  const half = compressed.length >> 1;
  limited.inflateFrame(compressed.subarray(0, half), false);
  assert.throws(
    () => limited.inflateFrame(compressed.subarray(half), true),
    (error) => error instanceof ProtocolError && error.closeCode === 1009,
  );
  limited.close();
});
