/** Starts real servers as their own processes, for tests and benchmarks. */

const root = new URL("../../", import.meta.url).pathname;
/** The repository's top folder. */
export const ROOT: string = root;
/** The pinned tools from node_modules. */
export const BIN = {
  deno: Deno.execPath(),
  node: "node",
  bun: `${root}node_modules/.bin/bun`,
  wrangler: `${root}node_modules/.bin/wrangler`,
};

/** A running server process. */
export interface ServerProcess {
  port: number;
  origin: string;
  process: Deno.ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

const bundles = new Map<string, string>();

/** Bundles a TypeScript entry for Node with `deno bundle` (once per run). */
export async function bundleForNode(entry: string): Promise<string> {
  const cached = bundles.get(entry);
  if (cached) return cached;
  const out = await Deno.makeTempFile({ suffix: ".mjs" });
  const { code, stderr } = await new Deno.Command(BIN.deno, {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "node",
      "-o",
      out,
      `${root}${entry}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`bundle failed: ${new TextDecoder().decode(stderr)}`);
  }
  bundles.set(entry, out);
  return out;
}

/** Picks a free port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Spawns a server and waits until a line of its output matches `ready`
 * (whose first group, if any, is the port) or it answers HTTP on `port`.
 */
export async function startProcess(
  command: string,
  args: string[],
  options: {
    port?: number;
    ready?: RegExp;
    env?: Record<string, string>;
    cwd?: string;
    timeout?: number;
  } = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd ?? root,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let port = options.port ?? 0;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((r) => (resolveReady = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const match = options.ready?.exec(text);
      if (match) {
        if (match[1]) port = Number(match[1]);
        resolveReady();
      }
    }
  };
  const pumps = [pump(child.stdout), pump(child.stderr)];
  const deadline = Date.now() + (options.timeout ?? 30_000);
  if (!options.ready) {
    // Poll the port until it answers.
    (async () => {
      while (Date.now() < deadline) {
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          conn.close();
          resolveReady();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`server did not start:\n${text}`)),
      deadline - Date.now(),
    );
  });
  const exited = child.status.then((s) => {
    throw new Error(`server exited with ${s.code}:\n${text}`);
  });
  try {
    await Promise.race([ready, timeout, exited]);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Promise.allSettled(pumps);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  exited.catch(() => {});
  return {
    port,
    origin: `127.0.0.1:${port}`,
    process: child,
    output: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(killer);
      await Promise.allSettled(pumps);
    },
  };
}

/** Starts a TypeScript entry under the real Node 20 (bundled by Deno first). */
export async function startNode(
  entry: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const file = await bundleForNode(entry);
  return await startProcess(BIN.node, [file], {
    ready: /listening (\d+)/,
    env,
  });
}

/** Starts an app module under `deno serve`. */
export async function startDeno(
  entry: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = freePort();
  return await startProcess(BIN.deno, [
    "serve",
    "-A",
    "--quiet",
    "--host",
    "127.0.0.1",
    "--port",
    `${port}`,
    entry,
  ], {
    port,
    env,
  });
}

/** Starts a module under Bun (`bun run`), which serves its default export on `PORT`. */
export async function startBun(
  entry: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = freePort();
  return await startProcess(BIN.bun, ["run", entry], {
    port,
    env: { ...env, PORT: `${port}` },
  });
}

/**
 * Runs `wrangler dev` on workerd on a free port of 127.0.0.1, with `args`
 * (entry, config, vars …). Wrangler's own CLI is run directly: its `bin`
 * wrapper does not pass SIGTERM on, which would leave workerd behind.
 */
/**
 * Bundles a Worker once with `wrangler deploy --dry-run` into `outdir`, so
 * that a test can serve the bundle as it is: `wrangler dev` on the sources
 * reloads (and drops every socket) whenever a file changes.
 */
export async function bundleWorker(config: string, outdir: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(BIN.node, {
    args: [
      `${root}node_modules/wrangler/bin/wrangler.js`,
      "deploy",
      "--dry-run",
      "--outdir",
      outdir,
      "--config",
      config,
    ],
    cwd: root,
    env: { WRANGLER_SEND_METRICS: "false" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`wrangler deploy --dry-run failed: ${new TextDecoder().decode(stderr)}`);
  }
}

export async function startWrangler(
  args: string[],
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startProcess(BIN.node, [
        "--no-warnings",
        "--experimental-vm-modules",
        `${root}node_modules/wrangler/wrangler-dist/cli.js`,
        "dev",
        ...args,
        "--ip",
        "127.0.0.1",
        "--port",
        `${options.port ?? freePort()}`,
        "--inspector-port",
        `${freePort()}`,
        "--show-interactive-dev-session=false",
      ], {
        ready: /Ready on http:\/\/127\.0\.0\.1:(\d+)/,
        env: { WRANGLER_SEND_METRICS: "false", ...options.env },
        timeout: 60_000,
      });
    } catch (error) {
      // The ports were free when picked, but wrangler binds them seconds
      // later, and another test's process (an outgoing connection's
      // ephemeral port) may have taken one meanwhile: pick again, twice.
      if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

/** Starts a Worker entry under workerd with the parity suite's own config. */
export async function startWorkerd(
  entry: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  // Its own config: the top-level wrangler.toml is the demo app's.
  return await startWrangler([entry, "--config", `${root}tests/fixtures/wrangler.toml`], { env });
}
