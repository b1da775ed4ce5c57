import assert from "node:assert/strict";
import {
  DEFAULT_MAX_FRAGMENTS,
  FrameDecoder,
  type FrameDecoderOptions,
  Opcode,
  ProtocolError,
} from "../../src/codec/mod.ts";
import { chunkings, concat, frame, hex, randomBytes } from "../_util/chunking.ts";

interface Seen {
  kind: "data" | "control";
  opcode: number;
  payload: Uint8Array;
  first?: boolean;
  fin?: boolean;
}

function decodeAll(
  chunks: Uint8Array[],
  options: Partial<FrameDecoderOptions> = {},
): Seen[] {
  const seen: Seen[] = [];
  const decoder = new FrameDecoder({
    onData: (payload, opcode, first, fin) =>
      seen.push({ kind: "data", opcode, payload: payload.slice(), first, fin }),
    onControl: (opcode, payload) =>
      seen.push({ kind: "control", opcode, payload: payload.slice() }),
  }, { role: "server", ...options });
  for (const chunk of chunks) decoder.push(chunk);
  return seen;
}

function eachChunking(
  bytes: Uint8Array,
  check: (seen: Seen[], how: string) => void,
  options: Partial<FrameDecoderOptions> = {},
) {
  for (const [how, chunks] of chunkings(bytes)) {
    check(decodeAll(chunks, options), how);
  }
}

function failsWith(
  bytes: Uint8Array,
  code: number,
  options: Partial<FrameDecoderOptions> = {},
) {
  for (const [how, chunks] of chunkings(bytes)) {
    const error = (() => {
      try {
        decodeAll(chunks, options);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(
      error instanceof ProtocolError,
      `${how}: expected ProtocolError, got ${error}`,
    );
    assert.equal(error.closeCode, code, `${how}: ${error.message}`);
  }
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("FrameDecoder.push() reads the RFC 6455 §5.7 examples", () => {
  // A single-frame masked text message (server role).
  eachChunking(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), (seen, how) => {
    assert.equal(seen.length, 1, how);
    assert.deepEqual(seen[0].payload, text("Hello"), how);
  });
  // Unmasked frames are for the client role.
  const client = { role: "client" as const };
  eachChunking(hex("81 05 48 65 6c 6c 6f"), (seen, how) => {
    assert.deepEqual(seen[0].payload, text("Hello"), how);
  }, client);
  // A fragmented unmasked text message.
  eachChunking(hex("01 03 48 65 6c 80 02 6c 6f"), (seen, how) => {
    assert.deepEqual(seen.map((s) => [s.opcode, s.first, s.fin]), [[
      1,
      true,
      false,
    ], [
      1,
      false,
      true,
    ]], how);
    assert.deepEqual(concat(seen.map((s) => s.payload)), text("Hello"), how);
  }, client);
  // Unmasked ping and masked pong, each with "Hello".
  eachChunking(hex("89 05 48 65 6c 6c 6f"), (seen, how) => {
    assert.deepEqual(
      [seen[0].kind, seen[0].opcode],
      ["control", Opcode.Ping],
      how,
    );
    assert.deepEqual(seen[0].payload, text("Hello"), how);
  }, client);
  eachChunking(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"), (seen, how) => {
    assert.deepEqual([seen[0].opcode, seen[0].payload], [
      Opcode.Pong,
      text("Hello"),
    ], how);
  });
  // 256 bytes and 64 KiB binary messages in a single unmasked frame.
  const b256 = new Uint8Array(256).map((_, i) => i);
  eachChunking(concat([hex("82 7e 01 00"), b256]), (seen, how) => {
    assert.deepEqual(seen[0].payload, b256, how);
  }, client);
  const b64k = new Uint8Array(65536).map((_, i) => i * 7);
  eachChunking(
    concat([hex("82 7f 00 00 00 00 00 01 00 00"), b64k]),
    (seen, how) => {
      assert.deepEqual(seen[0].payload, b64k, how);
    },
    client,
  );
});

Deno.test("FrameDecoder.push() reads boundary lengths 0, 125, 126, 127, 65535, 65536", () => {
  for (const n of [0, 125, 126, 127, 65535, 65536]) {
    const payload = randomBytes(n);
    const bytes = concat([frame(2, payload), frame(1, text("after"))]);
    for (
      const [how, chunks] of n > 1000
        ? chunkings(bytes).filter(([h]) => h !== "byte by byte")
        : chunkings(bytes)
    ) {
      const seen = decodeAll(chunks);
      assert.equal(seen.length, 2, `${n} ${how}`);
      assert.deepEqual(seen[0].payload, payload, `${n} ${how}`);
      assert.deepEqual(seen[1].payload, text("after"), `${n} ${how}`);
    }
  }
  // A 64 KiB+1 message fed one byte at a time still resumes correctly.
  const big = randomBytes(65537);
  const bytes = frame(2, big);
  const seen = decodeAll(Array.from(bytes, (b) => new Uint8Array([b])));
  assert.deepEqual(seen[0].payload, big);
});

Deno.test("FrameDecoder.push() delivers each frame in the push that brings its last byte, in both roles", () => {
  // Empty frames too: a server's `81 00` or `88 00` is a whole frame in two
  // bytes, and a client that waited for more would never answer the close.
  for (const role of ["client", "server"] as const) {
    const mask = role === "server" ? undefined : null;
    const frames = [
      frame(1, new Uint8Array(0), { mask }),
      frame(2, new Uint8Array(0), { mask }),
      frame(9, new Uint8Array(0), { mask }),
      frame(1, text("a"), { fin: false, mask }),
      frame(0, new Uint8Array(0), { mask }),
      frame(2, randomBytes(126), { mask }),
      frame(2, randomBytes(300), { mask, len64: true }),
      frame(8, new Uint8Array(0), { mask }),
    ];
    const ends: number[] = [];
    for (const f of frames) ends.push((ends.at(-1) ?? 0) + f.length);
    const bytes = concat(frames);
    const framesEndingBy = (at: number) => ends.filter((end) => end <= at).length;
    // Byte by byte, and every split of the stream in two.
    const seen: Seen[] = [];
    const decoder = new FrameDecoder({
      onData: (payload, opcode) => seen.push({ kind: "data", opcode, payload }),
      onControl: (opcode, payload) => seen.push({ kind: "control", opcode, payload }),
    }, { role });
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.slice(i, i + 1));
      assert.equal(
        seen.length,
        framesEndingBy(i + 1),
        `${role}, byte by byte, after byte ${i + 1}`,
      );
    }
    for (let cut = 1; cut < bytes.length; cut++) {
      const first = decodeAll([bytes.slice(0, cut)], { role });
      assert.equal(first.length, framesEndingBy(cut), `${role}, cut at ${cut}`);
      const all = decodeAll([bytes.slice(0, cut), bytes.slice(cut)], { role });
      assert.equal(all.length, frames.length, `${role}, cut at ${cut}`);
    }
  }
});

Deno.test("FrameDecoder.push() checks a header's first two bytes in the push that brings the second", () => {
  // An unmasked frame to a server, cut after its second byte: 1002 then.
  const decoder = new FrameDecoder({ onData: () => {}, onControl: () => {} }, { role: "server" });
  decoder.push(new Uint8Array([0x81]));
  assert.throws(
    () => decoder.push(new Uint8Array([0x05])),
    (e) => e instanceof ProtocolError && e.closeCode === 1002,
  );
});

Deno.test("FrameDecoder.push() hands out views of the chunk for whole payloads", () => {
  const chunk = concat([
    frame(2, new Uint8Array(300).fill(9)),
    frame(2, new Uint8Array(10).fill(8)),
  ]);
  const views: Uint8Array[] = [];
  new FrameDecoder({ onData: (p) => views.push(p), onControl: () => {} }, {
    role: "server",
  })
    .push(chunk);
  assert.equal(views[0].buffer, chunk.buffer);
  assert.equal(views[1].buffer, chunk.buffer);
});

Deno.test("FrameDecoder.push() handles control frames inside a fragmented message", () => {
  const bytes = concat([
    frame(1, text("Hel"), { fin: false }),
    frame(9, text("ping!")),
    frame(0, text("lo"), { fin: true }),
  ]);
  eachChunking(bytes, (seen, how) => {
    assert.deepEqual(seen.map((s) => s.kind), ["data", "control", "data"], how);
    assert.deepEqual(seen[1].payload, text("ping!"), how);
  });
});

Deno.test("FrameDecoder.push() rejects protocol violations with 1002", () => {
  // Unmasked client frame (server role).
  failsWith(frame(1, text("x"), { mask: null }), 1002);
  // Masked server frame (client role).
  failsWith(frame(1, text("x")), 1002, { role: "client" });
  // RSV1 without an extension; RSV2; RSV3.
  failsWith(frame(1, text("x"), { rsv: 4 }), 1002);
  failsWith(frame(1, text("x"), { rsv: 2 }), 1002);
  failsWith(frame(1, text("x"), { rsv: 1 }), 1002);
  // RSV1 on a continuation even with permessage-deflate.
  failsWith(
    concat([
      frame(1, text("a"), { fin: false, rsv: 4 }),
      frame(0, text("b"), { rsv: 4 }),
    ]),
    1002,
    {
      allowRsv1: true,
    },
  );
  // Reserved opcodes.
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    failsWith(frame(op, text("x")), 1002);
  }
  // A 126-byte ping; a fragmented ping.
  failsWith(frame(9, new Uint8Array(126)), 1002);
  failsWith(frame(9, text("x"), { fin: false }), 1002);
  // A close frame whose body is one byte (§5.5.1): 1002 from its header
  // alone, before the byte, as ws fails it (a 0- or 2-byte body passes).
  failsWith(frame(8, new Uint8Array([3])), 1002);
  failsWith(frame(8, new Uint8Array([3])).subarray(0, 6), 1002);
  eachChunking(frame(8, new Uint8Array(0)), (seen) => assert.equal(seen.length, 1));
  eachChunking(frame(8, new Uint8Array([3, 232])), (seen) => assert.equal(seen.length, 1));
  // Continuation without a message; a new message inside a fragmented one.
  failsWith(frame(0, text("x")), 1002);
  failsWith(
    concat([frame(1, text("a"), { fin: false }), frame(2, text("b"))]),
    1002,
  );
});

Deno.test("FrameDecoder.push() checks size limits on the header, before allocating", () => {
  // A 64-bit length over 2^53-1: only the header is sent.
  failsWith(hex("82 ff 00 40 00 00 00 00 00 00 01 02 03 04"), 1009);
  // A length that claims a terabyte: refused before any payload arrives.
  failsWith(hex("82 ff 00 00 01 00 00 00 00 00 01 02 03 04"), 1009);
  // Over the configured limit, in one frame and across fragments.
  failsWith(frame(2, new Uint8Array(101)), 1009, { maxMessageSize: 100 });
  failsWith(
    concat([
      frame(2, new Uint8Array(60), { fin: false }),
      frame(0, new Uint8Array(60)),
    ]),
    1009,
    { maxMessageSize: 100 },
  );
  // Exactly the limit passes.
  eachChunking(
    frame(2, new Uint8Array(100)),
    (seen) => assert.equal(seen.length, 1),
    {
      maxMessageSize: 100,
    },
  );
  // Too many (empty) fragments.
  const parts = [frame(2, new Uint8Array(0), { fin: false })];
  for (let i = 0; i < 10; i++) {
    parts.push(frame(0, new Uint8Array(0), { fin: false }));
  }
  failsWith(concat(parts), 1009, { maxFragments: 8 });
});

Deno.test("FrameDecoder.push() ignores input after a failure", () => {
  let count = 0;
  const decoder = new FrameDecoder({
    onData: () => count++,
    onControl: () => {},
  }, {
    role: "server",
  });
  assert.throws(
    () => decoder.push(frame(1, text("x"), { mask: null })),
    ProtocolError,
  );
  decoder.push(frame(1, text("y")));
  assert.equal(count, 0);
});

function decodeParts(chunks: Uint8Array[], options: Partial<FrameDecoderOptions> = {}) {
  const parts: Array<[number, boolean, Uint8Array]> = [];
  const seen: Seen[] = [];
  const decoder = new FrameDecoder({
    onData: (payload, opcode, first, fin) =>
      seen.push({ kind: "data", opcode, payload: payload.slice(), first, fin }),
    onControl: (opcode, payload) =>
      seen.push({ kind: "control", opcode, payload: payload.slice() }),
    onDataPart: (part, opcode, rsv1) => {
      // A part is whole bytes of the frame's payload that have arrived.
      assert.ok(part.length > 0);
      parts.push([opcode, rsv1, part.slice()]);
    },
  }, { role: "server", ...options });
  for (const chunk of chunks) decoder.push(chunk);
  return { parts, seen };
}

Deno.test("FrameDecoder.push() hands a text frame's arrived bytes to onDataPart(), unmasked, before the frame completes", () => {
  const payload = text("κόσμε, a text frame long enough to span chunks");
  const bytes = frame(1, payload);
  for (const [how, chunks] of chunkings(bytes)) {
    const { parts, seen } = decodeParts(chunks);
    assert.deepEqual(seen[0].payload, payload, how);
    const arrived = concat(parts.map(([, , part]) => part));
    // A prefix of the payload, in order; the last piece only in onData.
    assert.deepEqual(arrived, payload.subarray(0, arrived.length), how);
    assert.ok(arrived.length < payload.length, how);
    assert.ok(parts.every(([opcode, rsv1]) => opcode === Opcode.Text && !rsv1), how);
    if (how === "whole") assert.deepEqual(parts, [], "a frame in one chunk has no parts");
    if (how === "byte by byte") assert.equal(arrived.length, payload.length - 1, how);
  }
  // A continuation of a text message reports the message's opcode, and RSV1.
  const fragmented = concat([
    frame(1, text("ab"), { fin: false, rsv: 4 }),
    frame(0, text("cdefgh")),
  ]);
  const chunks = Array.from(fragmented, (b) => new Uint8Array([b]));
  const { parts } = decodeParts(chunks, { allowRsv1: true });
  assert.deepEqual(parts.map(([op, rsv1, p]) => [op, rsv1, p.length]), [
    [1, true, 1],
    [1, true, 1],
    [1, true, 1],
    [1, true, 1],
    [1, true, 1],
    [1, true, 1],
  ]);
});

Deno.test("FrameDecoder.push() gives onDataPart() nothing of binary or control frames", () => {
  const bytes = concat([
    frame(2, randomBytes(300)),
    frame(9, text("ping payload")),
    frame(2, randomBytes(10), { fin: false }),
    frame(0, randomBytes(200)),
  ]);
  for (const [how, chunks] of chunkings(bytes)) {
    const { parts, seen } = decodeParts(chunks);
    assert.deepEqual(parts, [], how);
    assert.deepEqual(seen[0].payload, randomBytes(300), how);
    assert.deepEqual(seen[1].payload, text("ping payload"), how);
  }
});

Deno.test("FrameDecoder.push() fails with onDataPart()'s error and ignores the rest", () => {
  let data = 0;
  const decoder = new FrameDecoder({
    onData: () => data++,
    onControl: () => {},
    onDataPart: () => {
      throw new ProtocolError(1007, "Invalid UTF-8 in text");
    },
  }, { role: "server" });
  const bytes = frame(1, text("hello"));
  assert.throws(
    () => decoder.push(bytes.subarray(0, 8)),
    (e) => e instanceof ProtocolError && e.closeCode === 1007,
  );
  decoder.push(bytes.subarray(8));
  assert.equal(data, 0);
});

Deno.test("FrameDecoder sets no fragment-count limit by default: DEFAULT_MAX_FRAGMENTS is 0", () => {
  assert.equal(DEFAULT_MAX_FRAGMENTS, 0);
  // Autobahn 9.3.1's count: 65,536 fragments.
  const parts = [frame(1, text("a"), { fin: false })];
  for (let i = 1; i < 65_535; i++) parts.push(frame(0, text("b"), { fin: false }));
  parts.push(frame(0, text("c")));
  const bytes = concat(parts);
  for (const options of [{}, { maxFragments: 0 }, { maxFragments: 65_536 }]) {
    let count = 0;
    let last = false;
    const decoder = new FrameDecoder({
      onData: (_p, _op, _first, fin) => (count++, last = fin),
      onControl: () => {},
    }, { role: "server", ...options });
    decoder.push(bytes.slice());
    assert.deepEqual([count, last], [65_536, true], JSON.stringify(options));
  }
  // A limit that is set still holds.
  failsWith(bytes.subarray(0, 7 * 70), 1009, { maxFragments: 64 });
});
