import assert from "node:assert/strict";
import { isValidWireCloseCode } from "../../src/codec/mod.ts";
import { fuzzDecoder, fuzzHandshake } from "../../tools/fuzz.ts";

Deno.test("fuzzDecoder(): 20,000 mutated frame streams (seed 1) close with RFC codes, never throw", () => {
  const report = fuzzDecoder(1, 20_000);
  assert.deepEqual(report.crashes, []);
  assert.equal(report.inputs, 20_000);
  for (const code of Object.keys(report.closes)) {
    const n = Number(code);
    assert.ok(isValidWireCloseCode(n) || n === 1005 || n === 1006, `unexpected outcome ${code}`);
  }
  // The mutations reach every kind of refusal.
  for (const code of ["1002", "1009", "1006"]) assert.ok(report.closes[code] > 0, `no ${code}`);
});

Deno.test("fuzzHandshake(): 20,000 mutated upgrade requests (seed 1) get 101, 400 or 426 only", () => {
  const report = fuzzHandshake(1, 20_000);
  assert.deepEqual(report.crashes, []);
  assert.deepEqual(Object.keys(report.closes).sort(), ["101", "400", "426"]);
});
