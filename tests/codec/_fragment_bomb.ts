/**
 * The many-tiny-fragments bomb, for web_socket_protocol_test.ts: one message
 * of a million or more fragments, made and fed 64 KiB at a time. Run alone
 * (`--v8-flags=--expose-gc`), it prints what the protocol holds in the
 * middle of that message, after a full GC:
 *
 *     deno run --allow-read --v8-flags=--expose-gc tests/codec/_fragment_bomb.ts text 1000000
 */
import { Opcode, WebSocketProtocol } from "../../src/codec/mod.ts";
import { frame } from "../_util/chunking.ts";

/**
 * Feeds one message of `count` fragments of `size` bytes each ("a"s).
 *
 * @param protocol The server-role protocol under test.
 * @param options The opcode, count and size, and what to run before the
 * last fragment.
 * @returns How many chunks were fed.
 */
export function feedFragments(
  protocol: WebSocketProtocol,
  options: { opcode: number; count: number; size: number; beforeLast?: () => void },
): number {
  const { opcode, count, size } = options;
  const payload = new Uint8Array(size).fill(0x61);
  const middle = frame(Opcode.Continuation, payload, { fin: false });
  const chunk = new Uint8Array(64 * 1024);
  let fill = 0;
  let chunks = 0;
  const flush = () => {
    if (fill === 0) return;
    protocol.receive(chunk.slice(0, fill));
    chunks++;
    fill = 0;
  };
  const push = (bytes: Uint8Array) => {
    for (let from = 0; from < bytes.length;) {
      const take = Math.min(bytes.length - from, chunk.length - fill);
      chunk.set(bytes.subarray(from, from + take), fill);
      fill += take;
      from += take;
      if (fill === chunk.length) flush();
    }
  };
  push(frame(opcode, payload, { fin: false }));
  for (let i = 2; i < count; i++) push(middle);
  flush();
  options.beforeLast?.();
  push(frame(Opcode.Continuation, payload));
  flush();
  return chunks;
}

if (import.meta.main) {
  const [mode, countText] = Deno.args;
  const count = Number(countText);
  const size = mode === "empty" ? 0 : 1;
  const opcode = mode === "binary" ? Opcode.Binary : Opcode.Text;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  const heldNow = () => {
    gc();
    gc();
    const memory = Deno.memoryUsage();
    return memory.heapUsed + memory.external;
  };
  let received = -1;
  const protocol = new WebSocketProtocol({
    write: () => {},
    onText: (text) => received = text.length,
    onBinary: (data) => received = data.length,
    onClose: (code, reason) => {
      throw new Error(`closed ${code} ${reason}`);
    },
  });
  // A first message compiles every path, so the baseline holds them.
  feedFragments(protocol, { opcode, count: 1000, size });
  const before = heldNow();
  let held = 0;
  feedFragments(protocol, { opcode, count, size, beforeLast: () => held = heldNow() - before });
  if (received !== count * size) throw new Error(`received ${received} bytes`);
  console.log(JSON.stringify({ mode, count, size: count * size, held }));
}
