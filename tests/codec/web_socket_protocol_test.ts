import assert from "node:assert/strict";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  encodeFrame,
  FrameDecoder,
  Opcode,
  WebSocketProtocol,
  type WebSocketProtocolOptions,
} from "../../src/codec/mod.ts";
import { chunkings, concat, createRandom, frame, hex, randomBytes } from "../_util/chunking.ts";
import { countCopies } from "./_count_copies.ts";
import { feedFragments } from "./_fragment_bomb.ts";

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

// A message cut into fragments at `cuts`, framed (masked), and where each of
// its payload bytes lies on the wire.
function fragmentWire(
  opcode: number,
  payload: Uint8Array,
  cuts: number[] = [],
): { wire: Uint8Array; at: number[] } {
  const bounds = [0, ...cuts, payload.length];
  const frames: Uint8Array[] = [];
  const at: number[] = [];
  let offset = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const part = payload.subarray(bounds[k], bounds[k + 1]);
    const f = frame(k === 0 ? opcode : 0, part, { fin: k + 2 === bounds.length });
    const header = f.length - part.length;
    for (let j = 0; j < part.length; j++) at.push(offset + header + j);
    frames.push(f);
    offset += f.length;
  }
  return { wire: concat(frames), at };
}

// Feeds the chunks; returns the index of the chunk after which onClose
// fired, with its code, or -1.
function closeAfter(chunks: Uint8Array[]): { chunk: number; code: number; texts: string[] } {
  const result = { chunk: -1, code: 0, texts: [] as string[] };
  const protocol = new WebSocketProtocol({
    write: () => {},
    onText: (t) => result.texts.push(t),
    onBinary: () => {},
    onClose: (code) => {
      if (result.chunk === -1) result.code = code;
    },
  });
  for (let i = 0; i < chunks.length && result.code === 0; i++) {
    protocol.receive(chunks[i]);
    if (result.code !== 0) result.chunk = i;
  }
  return result;
}

// The index of the chunk that holds wire byte `index`.
function chunkOf(chunks: Uint8Array[], index: number): number {
  let end = 0;
  for (let i = 0; i < chunks.length; i++) {
    end += chunks[i].length;
    if (index < end) return i;
  }
  return -1;
}

Deno.test("WebSocketProtocol.receive() fails Autobahn 6.4.3 and 6.4.4 with 1007 at the chop that brings the bad octet", () => {
  const head = hex("ce ba e1 bd b9 cf 83 ce bc ce b5"); // κόσμε
  const bad = hex("f4 90 80 80"); // U+110000
  const tail = hex("65 64 69 74 65 64"); // "edited"
  const payload = concat([head, bad, tail]);
  const wire = frame(Opcode.Text, payload);
  const header = wire.length - payload.length;
  // 6.4.3: the frame in three chops, the bad code point alone in the second.
  // 6.4.4: cut after F4, the octet that can no longer be valid alone.
  for (
    const [name, first, second] of [
      ["6.4.3", head.length, head.length + bad.length],
      ["6.4.4", head.length + 1, head.length + 2],
    ] as const
  ) {
    const chops = [
      wire.slice(0, header + first),
      wire.slice(header + first, header + second),
      wire.slice(header + second),
    ];
    const closes: number[] = [];
    const sent: Uint8Array[] = [];
    const protocol = new WebSocketProtocol({
      write: (parts) => sent.push(concat(parts)),
      onText: () => assert.fail("no text"),
      onBinary: () => {},
      onClose: (code) => closes.push(code),
    });
    protocol.receive(chops[0]);
    assert.deepEqual(closes, [], `${name}: nothing wrong yet`);
    protocol.receive(chops[1]);
    assert.deepEqual(closes, [1007], `${name}: 1007 before the frame completes`);
    assert.equal(sent.length, 1, name);
    assert.deepEqual([sent[0][0], (sent[0][2] << 8) | sent[0][3]], [0x88, 1007], name);
    protocol.receive(chops[2]);
    assert.deepEqual(closes, [1007], name);
  }
});

const BAD: Array<[string, number]> = [
  ["ed a0 80", 1], // a surrogate
  ["f4 90 80 80", 1], // past U+10FFFF
  ["c0 80", 0], // overlong
  ["e0 80 80", 1], // overlong
  ["f0 8f bf bf", 1], // overlong
  ["80", 0], // a stray continuation
  ["ff", 0],
  ["e2 41", 1], // no continuation
  ["f0 9d 84 41", 3],
];

Deno.test("WebSocketProtocol.receive() fails invalid UTF-8 with 1007 at the byte that makes it so, in one frame or split across fragments, in any chunking", () => {
  const prefix = new TextEncoder().encode("ok κ ");
  const suffix = new TextEncoder().encode(" and more text after it");
  for (const [vector, offset] of BAD) {
    const bad = hex(vector);
    const payload = concat([prefix, bad, suffix]);
    const badAt = prefix.length + offset;
    // One frame; then fragments cut at every point around the bad sequence,
    // and in two places at once.
    const cutSets: number[][] = [[]];
    for (let cut = prefix.length - 1; cut <= prefix.length + bad.length + 1; cut++) {
      cutSets.push([cut], [2, cut], [cut, Math.min(payload.length - 1, cut + 1)]);
    }
    for (const cuts of cutSets) {
      const { wire, at } = fragmentWire(Opcode.Text, payload, cuts);
      for (const [how, chunks] of chunkings(wire, badAt + cuts.length)) {
        const label = `${vector}, cuts ${cuts}, ${how}`;
        const result = closeAfter(chunks);
        assert.equal(result.code, 1007, label);
        // As soon as the octet arrives: not at the end of its frame.
        assert.equal(result.chunk, chunkOf(chunks, at[badAt]), label);
      }
    }
  }
});

Deno.test("WebSocketProtocol.receive() fails a message that ends inside a code point with 1007, at its last byte", () => {
  for (const vector of ["e2 82", "f0 9d 84", "c3", "f4 8f bf"]) {
    const payload = concat([new TextEncoder().encode("text "), hex(vector)]);
    for (const cuts of [[], [2], [payload.length - 1], [3, payload.length - 1]]) {
      const { wire } = fragmentWire(Opcode.Text, payload, cuts);
      for (const [how, chunks] of chunkings(wire)) {
        const result = closeAfter(chunks);
        const label = `${vector}, cuts ${cuts}, ${how}`;
        assert.deepEqual([result.code, result.chunk], [1007, chunks.length - 1], label);
      }
    }
  }
});

Deno.test("WebSocketProtocol.receive() accepts every code point size split anywhere across fragments and chunks", () => {
  const text = "a é € 𝄞 \u{10FFFF} z";
  const payload = new TextEncoder().encode(text);
  for (let cut = 1; cut < payload.length; cut++) {
    for (const cuts of cut === 1 ? [[1]] : [[cut], [1, cut]]) {
      const { wire } = fragmentWire(Opcode.Text, payload, cuts);
      for (const [how, chunks] of chunkings(wire, cut)) {
        const result = closeAfter(chunks);
        assert.deepEqual([result.code, result.texts], [0, [text]], `cuts ${cuts}, ${how}`);
      }
    }
  }
});

// Whole, and in random splits of up to a TCP segment: byte by byte is left
// to the smaller cases below.
function largeChunkings(bytes: Uint8Array, seed: number): Array<[string, Uint8Array[]]> {
  const random = createRandom(seed);
  const splits: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(random() * 1500);
    splits.push(bytes.slice(at, at + n));
    at += n;
  }
  return [["whole", [bytes.slice()]], ["random splits", splits]];
}

Deno.test("WebSocketProtocol accepts Autobahn 9.3.1, 9.3.2, 9.4.1 and 9.4.2 (4 MiB in 64- and 256-byte fragments) with the default limits", () => {
  const size = 4 * 1024 * 1024;
  const textBytes = new TextEncoder().encode("BAsd7&jh23".repeat(size / 10 + 1)).subarray(0, size);
  const binary = randomBytes(size, 6);
  for (
    const [name, opcode, payload, fragment] of [
      ["9.3.1", Opcode.Text, textBytes, 64],
      ["9.3.2", Opcode.Text, textBytes, 256],
      ["9.4.1", Opcode.Binary, binary, 64],
      ["9.4.2", Opcode.Binary, binary, 256],
    ] as const
  ) {
    const cuts: number[] = [];
    for (let at = fragment; at < size; at += fragment) cuts.push(at);
    const { wire } = fragmentWire(opcode, payload, cuts);
    for (const [how, chunks] of largeChunkings(wire, fragment)) {
      const r = run(chunks);
      assert.deepEqual(r.closes, [], `${name}, ${how}`);
      if (opcode === Opcode.Text) {
        assert.equal(r.texts.length, 1, `${name}, ${how}`);
        assert.equal(r.texts[0], new TextDecoder().decode(textBytes), `${name}, ${how}`);
      } else {
        assert.equal(r.binaries.length, 1, `${name}, ${how}`);
        assert.deepEqual(r.binaries[0], binary, `${name}, ${how}`);
      }
    }
  }
});

Deno.test("WebSocketProtocol reassembles 64 KiB in 64-byte fragments with pings between, whole, byte by byte and in random splits", () => {
  const size = 64 * 1024;
  // Text of every code point size, the 64-byte cuts falling inside them;
  // 64 KiB exactly, padded with ASCII.
  const words = new TextEncoder().encode("héllo wörld €𝄞 ".repeat(size / 23));
  const textBytes = new Uint8Array(size).fill(0x2e);
  textBytes.set(words);
  const binary = randomBytes(size, 12);
  for (const [opcode, payload] of [[Opcode.Text, textBytes], [Opcode.Binary, binary]] as const) {
    const frames: Uint8Array[] = [];
    for (let at = 0; at < size; at += 64) {
      frames.push(
        frame(at === 0 ? opcode : 0, payload.subarray(at, at + 64), { fin: at + 64 >= size }),
      );
      if (at % 4096 === 0) frames.push(frame(Opcode.Ping, enc("p")));
    }
    each(concat(frames), (r, how) => {
      assert.deepEqual(r.closes, [], how);
      if (opcode === Opcode.Text) {
        assert.deepEqual(r.texts, [new TextDecoder().decode(payload)], how);
      } else assert.deepEqual(r.binaries, [payload], how);
      assert.equal(r.pings.length, size / 4096, how);
    });
  }
});

Deno.test("WebSocketProtocol copies each byte of a million one-byte fragments at most twice: work per byte, not per fragment", () => {
  const count = 1_000_000;
  for (const opcode of [Opcode.Text, Opcode.Binary]) {
    let received = -1;
    let chunks = 0;
    const protocol = new WebSocketProtocol({
      write: () => {},
      onText: (t) => received = t.length,
      onBinary: (b) => received = b.length,
      onClose: (code, reason) => assert.fail(`closed ${code} ${reason}`),
    });
    const copies = countCopies(() => {
      chunks = feedFragments(protocol, { opcode, count, size: 1 });
    });
    assert.equal(received, count);
    // Two copies a payload byte (into a block, then the join), and a split
    // header's ≤ 14 bytes at a chunk boundary. On top, the test's own: the
    // 7-byte frames into its chunk (one more call where a frame straddles).
    const ours = copies.bytes - 7 * count;
    assert.ok(ours <= 2 * count + 14 * chunks, `${ours} bytes copied for ${count}`);
    assert.ok(ours >= count, `${ours}`);
  }
});

Deno.test("WebSocketProtocol copies no payload for two million empty fragments", () => {
  const count = 2_000_000;
  let received = -1;
  let chunks = 0;
  const protocol = new WebSocketProtocol({
    write: () => {},
    onText: (t) => received = t.length,
    onBinary: () => {},
    onClose: (code, reason) => assert.fail(`closed ${code} ${reason}`),
  });
  const copies = countCopies(() => {
    chunks = feedFragments(protocol, { opcode: Opcode.Text, count, size: 0 });
  });
  assert.equal(received, 0);
  const ours = copies.bytes - 6 * count;
  assert.ok(ours <= 14 * chunks, `${ours} bytes copied`);
});

Deno.test("WebSocketProtocol keeps a fragmented message's memory within its size and a constant, whatever the fragment count", async () => {
  // A child with a GC to call, so that what is measured is what is held.
  const child = new URL("./_fragment_bomb.ts", import.meta.url);
  for (
    const [mode, count] of [["text", 1_000_000], ["binary", 1_000_000], [
      "empty",
      2_000_000,
    ]] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--v8-flags=--expose-gc", child.pathname, mode, String(count)],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(output.code, 0, mode);
    const { held, size } = JSON.parse(new TextDecoder().decode(output.stdout));
    // What the message buffer may hold (max(2n, n + 1 KiB)), and 1 MiB for
    // everything else; a record per fragment would be tens of megabytes.
    const bound = Math.max(2 * size, size + 1024) + 1024 * 1024;
    assert.ok(held <= bound, `${mode}: ${held} bytes held mid-message for ${size}, bound ${bound}`);
  }
  assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 64 * 1024 * 1024);
});
