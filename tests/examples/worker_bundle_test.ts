/** `wrangler deploy --dry-run` bundles the demo Worker offline, with its Durable Object. */
import assert from "node:assert/strict";
import { BIN, ROOT } from "../_util/server_process.ts";

Deno.test("wrangler deploy --dry-run bundles the demo app with the CHAT namespace of ChatRoom objects", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "edgesocket-worker-" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(BIN.node, {
      args: [
        `${ROOT}node_modules/wrangler/bin/wrangler.js`,
        "deploy",
        "--dry-run",
        "--outdir",
        outdir,
      ],
      cwd: ROOT,
      env: { WRANGLER_SEND_METRICS: "false" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
    assert.match(output, /env\.CHAT \(ChatRoom\)\s+Durable Object/);
    const bundle = await Deno.readTextFile(`${outdir}/worker.js`);
    assert.match(bundle, /ChatRoom = class/);
    assert.match(bundle, /WebSocketPair/);
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
});
