/**
 * The codec imports nothing outside src/codec and touches no runtime API:
 * no `node:`, no `Deno.`, no Bun, no timers, no sockets.
 */
import assert from "node:assert/strict";

const dir = new URL("../../src/codec/", import.meta.url);
const FORBIDDEN = [
  /\bDeno\./,
  /\bBun\./,
  /\bprocess\./,
  /\brequire\(/,
  /\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/,
  /\bBuffer\b/,
  /\bfetch\(/,
  /\bWebSocketPair\b/,
];

Deno.test("src/codec imports only src/codec and uses no runtime API", async () => {
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    files++;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const match of code.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      assert.ok(match[1].startsWith("./"), `${entry.name} imports ${match[1]}`);
    }
    for (const pattern of FORBIDDEN) {
      assert.ok(!pattern.test(code), `${entry.name} uses ${pattern}`);
    }
  }
  assert.ok(files > 10);
});
