import assert from "node:assert/strict";
import { hasHeaderToken, splitHeaderList } from "../../src/codec/mod.ts";

Deno.test("hasHeaderToken() finds a list member without regard to ASCII case or spaces", () => {
  assert.equal(hasHeaderToken("keep-alive, Upgrade", "upgrade"), true);
  assert.equal(hasHeaderToken("UPGRADE", "upgrade"), true);
  assert.equal(hasHeaderToken(" \tupgrade\t ,x", "upgrade"), true);
  assert.equal(hasHeaderToken(",,upgrade,", "upgrade"), true);
  assert.equal(hasHeaderToken("upgradex, xupgrade, up grade", "upgrade"), false);
  assert.equal(hasHeaderToken("", "upgrade"), false);
  assert.equal(hasHeaderToken(null, "upgrade"), false);
  assert.equal(hasHeaderToken(",", ""), false);
  // Only ASCII letters fold: the Kelvin sign is not a "k".
  assert.equal(hasHeaderToken("websoc\u212Aet", "websocket"), false);
  assert.equal(hasHeaderToken("WebSocket", "websocket"), true);
});

Deno.test("hasHeaderToken() agrees with splitHeaderList() on random lists", () => {
  const parts = ["a", "A", "upgrade", "Upgrade", " ", "", "\t", "x y", "up"];
  for (let i = 0; i < 500; i++) {
    const n = 1 + (i % 5);
    const value = Array.from({ length: n }, (_, j) => parts[(i * 7 + j * 3) % parts.length])
      .join(",");
    for (const token of ["a", "upgrade", "up"]) {
      const expected = splitHeaderList(value).some((part) => part.toLowerCase() === token);
      assert.equal(hasHeaderToken(value, token), expected, JSON.stringify(value));
    }
  }
});
