/**
 * `deno task serve:workers`: the demo Worker (examples/worker.ts, the
 * top-level wrangler.toml) under `wrangler dev` on workerd, on 127.0.0.1 and
 * PORT (default 8787). Any further arguments go to `wrangler dev`
 * (`deno task serve:workers --var SECRET:…`).
 *
 * A script, not a task line, because the shell of `deno task` does not
 * expand `${PORT:-8787}`. Wrangler's own CLI runs directly under Node, one
 * process less than its `bin` wrapper; SIGINT and SIGTERM are passed on, so
 * wrangler stops workerd before it exits.
 */
const root = new URL("../", import.meta.url).pathname;
const port = Deno.env.get("PORT") || "8787";
if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
  console.error(`serve:workers: PORT must be a port number, not ${JSON.stringify(port)}`);
  Deno.exit(2);
}

const wrangler = new Deno.Command("node", {
  args: [
    "--no-warnings",
    "--experimental-vm-modules",
    `${root}node_modules/wrangler/wrangler-dist/cli.js`,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    ...Deno.args,
  ],
  cwd: root,
  env: { WRANGLER_SEND_METRICS: "false" },
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      wrangler.kill(signal);
    } catch { /* already gone */ }
  });
}

const status = await wrangler.status;
Deno.exit(status.code);
