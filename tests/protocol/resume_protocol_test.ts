/**
 * The wire vectors of `edgesocket.resume.v1`: each frame as the exact text
 * on the wire, encoded by encodeResumeFrame() and decoded back by the
 * decoder of the side that receives it. A client of another make can check
 * itself against this table.
 */
import assert from "node:assert/strict";
import {
  type ClientFrame,
  encodeResumeFrame,
  RESUME_PROTOCOL,
  type ServerFrame,
} from "../../src/protocol/resume_protocol.ts";
import { decodeClientFrame } from "../../src/protocol/decode_client_frame.ts";
import { decodeServerFrame } from "../../src/protocol/decode_server_frame.ts";

/** Client → server: [frame, wire text]. */
export const CLIENT_VECTORS: Array<[ClientFrame, string]> = [
  [{ t: "hello", v: 1, s: null, p: {} }, '{"t":"hello","v":1,"s":null,"p":{}}'],
  [
    {
      t: "hello",
      v: 1,
      s: "tok_3QbV2yq0Qk8",
      p: { "room:a": { epoch: "e7Jd", offset: 41 }, "room:b": { epoch: "x", offset: 0 } },
    },
    '{"t":"hello","v":1,"s":"tok_3QbV2yq0Qk8","p":{"room:a":["e7Jd",41],"room:b":["x",0]}}',
  ],
  [{ t: "m", i: 1, data: "hi" }, '{"t":"m","i":1,"d":"hi"}'],
  [{ t: "m", i: 2, data: "" }, '{"t":"m","i":2,"d":""}'],
  [{ t: "m", i: 3, data: 'a "quoted" é 😀' }, '{"t":"m","i":3,"d":"a \\"quoted\\" é 😀"}'],
  [{ t: "m", i: 4, data: new Uint8Array([0, 1, 2, 255]) }, '{"t":"m","i":4,"b":"AAEC/w=="}'],
  [{ t: "m", i: 5, data: new Uint8Array(0) }, '{"t":"m","i":5,"b":""}'],
  [{ t: "ping" }, '{"t":"ping"}'],
];

/** Server → client: [frame, wire text]. */
export const SERVER_VECTORS: Array<[ServerFrame, string]> = [
  [
    { t: "welcome", v: 1, s: "tok", recovered: false, a: 0, p: {} },
    '{"t":"welcome","v":1,"s":"tok","recovered":false,"a":0,"p":{}}',
  ],
  [
    {
      t: "welcome",
      v: 1,
      s: "tok",
      recovered: true,
      a: 17,
      p: {
        "room:a": { epoch: "e7Jd", offset: 41, recovered: true },
        "room:b": { epoch: "n3w", offset: 9, recovered: false },
      },
    },
    '{"t":"welcome","v":1,"s":"tok","recovered":true,"a":17,"p":{"room:a":{"e":"e7Jd","o":41,' +
    '"recovered":true},"room:b":{"e":"n3w","o":9,"recovered":false}}}',
  ],
  [
    { t: "pub", c: "room:a", e: "e7Jd", o: 42, data: "hello" },
    '{"t":"pub","c":"room:a","e":"e7Jd","o":42,"d":"hello"}',
  ],
  [
    { t: "pub", c: "room:a", e: "e7Jd", o: 43, data: new Uint8Array([104, 105]) },
    '{"t":"pub","c":"room:a","e":"e7Jd","o":43,"b":"aGk="}',
  ],
  [{ t: "pub", c: "room:a", e: "e7Jd", o: 44 }, '{"t":"pub","c":"room:a","e":"e7Jd","o":44}'],
  [{ t: "sub", c: "room:c", e: "q", o: 0 }, '{"t":"sub","c":"room:c","e":"q","o":0}'],
  [
    { t: "sub", c: "room:a", e: "e7Jd", o: 41, recovered: true },
    '{"t":"sub","c":"room:a","e":"e7Jd","o":41,"recovered":true}',
  ],
  [{ t: "unsub", c: "room:a" }, '{"t":"unsub","c":"room:a"}'],
  [{ t: "m", data: "direct" }, '{"t":"m","d":"direct"}'],
  [{ t: "m", c: "news", data: "plain topic" }, '{"t":"m","c":"news","d":"plain topic"}'],
  [{ t: "ack", a: 17 }, '{"t":"ack","a":17}'],
  [{ t: "pong" }, '{"t":"pong"}'],
];

Deno.test("RESUME_PROTOCOL is the versioned subprotocol name", () => {
  assert.equal(RESUME_PROTOCOL, "edgesocket.resume.v1");
});

Deno.test("encodeResumeFrame() writes every client frame as its vector", () => {
  for (const [frame, text] of CLIENT_VECTORS) assert.equal(encodeResumeFrame(frame), text);
});

Deno.test("encodeResumeFrame() writes every server frame as its vector", () => {
  for (const [frame, text] of SERVER_VECTORS) assert.equal(encodeResumeFrame(frame), text);
});

Deno.test("decodeClientFrame() reads every client vector back", () => {
  for (const [frame, text] of CLIENT_VECTORS) {
    const decoded = decodeClientFrame(text) as unknown as Record<string, unknown>;
    // Positions come in a null-prototype object (a topic may be "__proto__").
    if (decoded.t === "hello") decoded.p = { ...decoded.p as object };
    assert.deepEqual(decoded, frame, text);
  }
});

Deno.test("decodeServerFrame() reads every server vector back", () => {
  for (const [frame, text] of SERVER_VECTORS) {
    const decoded = decodeServerFrame(text) as unknown as Record<string, unknown>;
    // Absent optional fields decode as undefined.
    for (const key of Object.keys(decoded)) if (decoded[key] === undefined) delete decoded[key];
    if (decoded.t === "welcome") decoded.p = { ...decoded.p as object };
    assert.deepEqual(decoded, frame, text);
  }
});
