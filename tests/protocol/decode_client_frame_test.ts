import assert from "node:assert/strict";
import { decodeClientFrame } from "../../src/protocol/decode_client_frame.ts";
import { ResumeProtocolError } from "../../src/protocol/resume_protocol_error.ts";

function assertCloses(text: string, code: number, message: RegExp): void {
  assert.throws(() => decodeClientFrame(text), (error: unknown) => {
    assert.ok(error instanceof ResumeProtocolError, String(error));
    assert.equal(error.code, code, `${text}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("decodeClientFrame() rejects text that is not a frame with 1002", () => {
  assertCloses("{nope", 1002, /not JSON/);
  assertCloses("", 1002, /not JSON/);
  assertCloses("[1,2]", 1002, /not a JSON object/);
  assertCloses("null", 1002, /not a JSON object/);
  assertCloses('"hello"', 1002, /not a JSON object/);
  assertCloses("{}", 1002, /no type/);
  assertCloses('{"t":5}', 1002, /no type/);
  assertCloses('{"t":"welcome"}', 1002, /Unknown frame type/);
  assertCloses('{"t":"pub"}', 1002, /Unknown frame type/);
});

Deno.test("decodeClientFrame() rejects a malformed hello with 1002", () => {
  assertCloses('{"t":"hello","v":2,"s":null,"p":{}}', 1002, /version/);
  assertCloses('{"t":"hello","s":null,"p":{}}', 1002, /version/);
  assertCloses('{"t":"hello","v":1,"s":5,"p":{}}', 1002, /Token/);
  assertCloses('{"t":"hello","v":1,"p":{}}', 1002, /Token/);
  assertCloses('{"t":"hello","v":1,"s":null}', 1002, /Positions/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":[]}', 1002, /Positions/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"a":["e"]}}', 1002, /\[epoch, offset\]/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"a":["e",-1]}}', 1002, /\[epoch, offset\]/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"a":["e",1.5]}}', 1002, /\[epoch, offset\]/);
  assertCloses(
    '{"t":"hello","v":1,"s":null,"p":{"a":["e",9007199254740992]}}',
    1002,
    /\[epoch, offset\]/,
  );
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"a":[5,1]}}', 1002, /Epoch/);
});

Deno.test("decodeClientFrame() enforces every hello limit with 1008", () => {
  const token = "x".repeat(129);
  assertCloses(`{"t":"hello","v":1,"s":"${token}","p":{}}`, 1008, /Token too long/);
  // 128 characters is the limit itself.
  decodeClientFrame(`{"t":"hello","v":1,"s":"${"x".repeat(128)}","p":{}}`);
  const topics = (n: number) =>
    JSON.stringify({
      t: "hello",
      v: 1,
      s: null,
      p: Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, ["e", 0]])),
    });
  assert.equal(Object.keys((decodeClientFrame(topics(1024)) as { p: object }).p).length, 1024);
  assertCloses(topics(1025), 1008, /Too many topics/);
  assertCloses(`{"t":"hello","v":1,"s":null,"p":{"${"t".repeat(257)}":["e",0]}}`, 1008, /Topic/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"":["e",0]}}', 1008, /Topic/);
  assertCloses(`{"t":"hello","v":1,"s":null,"p":{"a":["${"e".repeat(65)}",0]}}`, 1008, /Epoch/);
  assertCloses('{"t":"hello","v":1,"s":null,"p":{"a":["",0]}}', 1008, /Epoch/);
});

Deno.test("decodeClientFrame() keeps a topic named __proto__ as a topic", () => {
  const hello = decodeClientFrame('{"t":"hello","v":1,"s":null,"p":{"__proto__":["e",3]}}');
  assert.deepEqual((hello as { p: Record<string, unknown> }).p["__proto__"], {
    epoch: "e",
    offset: 3,
  });
});

Deno.test("decodeClientFrame() rejects a malformed message with 1002", () => {
  assertCloses('{"t":"m","d":"x"}', 1002, /id/);
  assertCloses('{"t":"m","i":0,"d":"x"}', 1002, /id/);
  assertCloses('{"t":"m","i":"1","d":"x"}', 1002, /id/);
  assertCloses('{"t":"m","i":1}', 1002, /no payload/);
  assertCloses('{"t":"m","i":1,"d":5}', 1002, /must be a string/);
  assertCloses('{"t":"m","i":1,"d":"x","b":""}', 1002, /both/);
  assertCloses('{"t":"m","i":1,"b":"AAE"}', 1002, /base64/);
  assertCloses('{"t":"m","i":1,"b":"AA=E"}', 1002, /base64/);
  assertCloses('{"t":"m","i":1,"b":"AB=="}', 1002, /base64/);
  assertCloses('{"t":"m","i":1,"b":"AA*="}', 1002, /base64/);
});

Deno.test("decodeClientFrame() ignores unknown keys, for additions within v1", () => {
  assert.deepEqual(decodeClientFrame('{"t":"ping","x":1}'), { t: "ping" });
  assert.deepEqual(decodeClientFrame('{"t":"m","i":7,"d":"a","later":true}'), {
    t: "m",
    i: 7,
    data: "a",
  });
});
