import assert from "node:assert/strict";
import {
  decodeRelayedPublication,
  encodeRelayedPublication,
} from "../../src/core/relayed_publication.ts";

Deno.test("encodeRelayedPublication() round-trips text, bytes, origin and an unnumbered one", () => {
  const cases = [
    { position: { epoch: "e1.a", offset: 1 }, origin: "session-1", data: "hi ✓" },
    { position: { epoch: "e", offset: 2 ** 40 }, origin: undefined, data: new Uint8Array([0, 9]) },
    { position: undefined, origin: undefined, data: "" },
    { position: { epoch: "", offset: 0 }, origin: "o", data: new Uint8Array(0) },
  ];
  for (const c of cases) assert.deepEqual(decodeRelayedPublication(encodeRelayedPublication(c)), c);
});

Deno.test("decodeRelayedPublication() answers undefined for a bare message or a cut one", () => {
  assert.equal(decodeRelayedPublication("text"), undefined);
  assert.equal(decodeRelayedPublication(new Uint8Array([1, 2, 3])), undefined);
  const whole = encodeRelayedPublication({
    position: { epoch: "epoch", offset: 3 },
    origin: "origin",
    data: "x",
  });
  assert.equal(decodeRelayedPublication(whole.subarray(0, 14)), undefined);
  assert.throws(
    () => encodeRelayedPublication({ position: undefined, origin: "o".repeat(256), data: "" }),
    RangeError,
  );
});
