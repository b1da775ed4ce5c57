import assert from "node:assert/strict";
import { decodeServerFrame } from "../../src/protocol/decode_server_frame.ts";
import { ResumeProtocolError } from "../../src/protocol/resume_protocol_error.ts";

Deno.test("decodeServerFrame() rejects what is not a server frame with 1002", () => {
  for (
    const text of [
      "nope",
      "null",
      "5",
      "{}",
      '{"t":"hello","v":1,"s":null,"p":{}}',
      '{"t":"welcome","v":1,"s":null,"recovered":false,"a":0,"p":{}}',
      '{"t":"welcome","v":1,"s":"x","recovered":false,"a":-1,"p":{}}',
      '{"t":"welcome","v":1,"s":"x","recovered":false,"a":0}',
      '{"t":"welcome","v":1,"s":"x","recovered":false,"a":0,"p":{"a":{"e":1,"o":0}}}',
      '{"t":"pub","c":"a","e":"e","o":1.5,"d":"x"}',
      '{"t":"pub","c":"a","o":1,"d":"x"}',
      '{"t":"pub","c":"a","e":"e","o":1,"b":"???"}',
      '{"t":"sub","c":"a","e":"e"}',
      '{"t":"unsub"}',
      '{"t":"m"}',
      '{"t":"m","c":5,"d":"x"}',
      '{"t":"ack"}',
    ]
  ) {
    assert.throws(() => decodeServerFrame(text), (error: unknown) => {
      assert.ok(error instanceof ResumeProtocolError, text);
      assert.equal(error.code, 1002);
      return true;
    }, text);
  }
});

Deno.test("decodeServerFrame() reads a position-only publication with no data", () => {
  assert.deepEqual(decodeServerFrame('{"t":"pub","c":"a","e":"e","o":4}'), {
    t: "pub",
    c: "a",
    e: "e",
    o: 4,
    data: undefined,
  });
});
