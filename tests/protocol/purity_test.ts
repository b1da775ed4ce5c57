/**
 * The resume protocol is sans-I/O and self-contained, and the client
 * imports only it: both run in a browser tab, with nothing of the server.
 */
import assert from "node:assert/strict";

const FORBIDDEN = [
  /\bDeno\./,
  /\bBun\./,
  /\bprocess\./,
  /\brequire\(/,
  /\bBuffer\b/,
  /\bfetch\(/,
];

async function readCode(dir: URL, name: string): Promise<string> {
  const text = await Deno.readTextFile(new URL(name, dir));
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

function importsOf(code: string): string[] {
  return [...code.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
}

Deno.test("src/protocol imports only src/protocol, and no runtime API or timer", async () => {
  const dir = new URL("../../src/protocol/", import.meta.url);
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    files++;
    const code = await readCode(dir, entry.name);
    for (const spec of importsOf(code)) assert.ok(spec.startsWith("./"), `${entry.name}: ${spec}`);
    for (const pattern of [...FORBIDDEN, /\bsetTimeout\b|\bsetInterval\b/, /\bWebSocket\b/]) {
      assert.ok(!pattern.test(code), `${entry.name} uses ${pattern}`);
    }
  }
  assert.ok(files >= 4);
});

Deno.test("src/client imports only itself and src/protocol, and no server runtime API", async () => {
  const dir = new URL("../../src/client/", import.meta.url);
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    files++;
    const code = await readCode(dir, entry.name);
    for (const spec of importsOf(code)) {
      assert.ok(
        spec.startsWith("./") || spec.startsWith("../protocol/"),
        `${entry.name}: ${spec}`,
      );
    }
    for (const pattern of FORBIDDEN) {
      assert.ok(!pattern.test(code), `${entry.name} uses ${pattern}`);
    }
  }
  assert.ok(files >= 1);
});
