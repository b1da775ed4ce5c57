import assert from "node:assert/strict";
import { BIN, bundleForNode, ROOT } from "../_util/server_process.ts";

Deno.test("compareWithWs(): 2,000 random frame streams per role, plain and compressed (seed 7), decode as ws's Receiver decodes them, and 200 compressed connections each way read as sent, under Node 20", async () => {
  const bundle = await bundleForNode("tools/ws_differential_run.ts");
  const { code, stdout, stderr } = await new Deno.Command(BIN.node, {
    args: [bundle, "2000", "7"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const runs = new TextDecoder().decode(stdout).trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(
    runs.map((r) => `${r.role} ${r.compression} ${r.count}`),
    [
      "server false 2000",
      "server true 2000",
      "client false 2000",
      "client true 2000",
      "both ways true 200",
    ],
  );
  for (const run of runs) {
    assert.equal(
      run.differ,
      0,
      `${run.role}${run.compression ? ", compressed" : ""}: ${JSON.stringify(run.first, null, 1)}`,
    );
  }
});
