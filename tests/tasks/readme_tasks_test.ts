/**
 * Every `deno task` the README documents, run exactly as written
 * (`deno task <name>` from the repository's top folder, nothing added):
 * each server task once with PORT set to a free port and once without PORT,
 * on the port the README says is the default. Each must answer a page
 * (`GET /`, 200 HTML: the demo's login page, or the echo app's page),
 * `GET /healthz` (`ok: true`) and a WebSocket echo on `/echo` (text and
 * binary, through Deno's own WebSocket). Then the task's whole process group
 * gets SIGINT, as Ctrl-C in a terminal sends it, and every process the task
 * started (deno, node, bun, wrangler, workerd) must be gone.
 *
 * The README is parsed, so a newly documented task is covered (or, if it is
 * not a server, must be named below). Nothing skips: a missing binary fails.
 * The runs are serial, in this one file; no other test binds the default
 * ports (8000, 8787), and a default port already in use fails with a message.
 */
import assert from "node:assert/strict";
import { freePort, ROOT } from "../_util/server_process.ts";

/**
 * Documented tasks that are no servers, and why this file does not run
 * them: CI itself, or long measurements with tests of their own.
 */
const NOT_SERVERS: Record<string, string> = {
  test: "CI runs it (.ci/run); it would run this file again",
  check: "tests/tasks/checks_test.ts runs it",
  lint: "tests/tasks/checks_test.ts runs it",
  fmt: "rewrites the tree",
  bench: "about 11 minutes of measurement, not a check",
  soak: "tests/soak/soak_test.ts runs a short soak",
  fuzz: "tests/fuzz/fuzz_test.ts runs a fixed-seed fuzz",
  setup: "every task runs it first",
};

const README = await Deno.readTextFile(`${ROOT}README.md`);
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;

/**
 * The task names the README documents: `deno task <name>` anywhere, and a
 * bare `` `<name>` `` that names a task (the table's `serve:echo:node`).
 */
function findDocumentedTasks(readme: string, tasks: Record<string, string>): string[] {
  const names = new Set<string>();
  for (const match of readme.matchAll(/deno task ([\w:-]+)/g)) names.add(match[1]);
  for (const match of readme.matchAll(/`([\w:-]+)`/g)) {
    if (Object.hasOwn(tasks, match[1]) && match[1].startsWith("serve")) names.add(match[1]);
  }
  return [...names];
}

/**
 * The default port the README gives a task: a `default NNNN` on the line
 * that documents it, else the port of `http://localhost:NNNN` on the line of
 * `deno task serve`.
 */
function findDefaultPort(readme: string, name: string): number {
  const lines = readme.split("\n");
  const own = lines.find((line) =>
    new RegExp("`(deno task )?" + name.replaceAll(":", "\\:") + "`").test(line)
  );
  const fromOwn = own?.match(/default (\d{2,5})/);
  if (fromOwn) return Number(fromOwn[1]);
  const general = lines.find((line) => line.startsWith("deno task serve "))
    ?.match(/localhost:(\d{2,5})/);
  assert.ok(general, "the README gives no default port for `deno task serve`");
  return Number(general[1]);
}

const DOCUMENTED = findDocumentedTasks(README, TASKS);
const SERVERS = DOCUMENTED.filter((name) => name === "serve" || name.startsWith("serve:"));

/** The processes whose session is `sid` (Linux's /proc), with their command lines. */
async function listSession(sid: number): Promise<Array<{ pid: number; command: string }>> {
  const found = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid pgrp session …; comm may hold spaces and parens.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[3]) !== sid) continue;
      const command = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`))
        .replaceAll("\0", " ").trim();
      found.push({ pid: Number(entry.name), command });
    } catch { /* it exited meanwhile */ }
  }
  return found;
}

function isPortFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "0.0.0.0", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A running `deno task`, in a session (and process group) of its own. */
interface RunningTask {
  child: Deno.ChildProcess;
  output(): string;
}

function startTask(name: string, port: number | undefined): RunningTask {
  const env = Deno.env.toObject();
  // What the README's command line sees, and nothing the test's own
  // environment might bring: a PORT, a host, a Redis, a secret.
  for (const key of ["PORT", "HOST", "REDIS_URL", "SECRET"]) delete env[key];
  if (port !== undefined) env.PORT = `${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", name],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // setsid(): the task and all it starts share one process group, which
    // is what Ctrl-C signals, and one session, by which survivors are found.
    detached: true,
  }).spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  pump(child.stdout);
  pump(child.stderr);
  return { child, output: () => text };
}

/** Polls `/healthz` until it answers 200; fails if the task exits or 120 s pass. */
async function waitUntilServing(task: RunningTask, port: number): Promise<void> {
  let exited = false;
  task.child.status.then(() => (exited = true));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${exited ? "the task exited" : "no answer on /healthz"} (port ${port}):\n${task.output()}`,
  );
}

/** Opens a WebSocket on `/echo`, echoes text and bytes, closes; bounded by 15 s. */
async function assertEcho(port: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  ws.binaryType = "arraybuffer";
  const messages: Array<string | ArrayBuffer> = [];
  let wake: () => void = () => {};
  let failed: Error | undefined;
  ws.onmessage = (event) => {
    messages.push(event.data);
    wake();
  };
  ws.onerror = () => {
    failed = new Error(`WebSocket on port ${port} failed`);
    wake();
  };
  const timer = setTimeout(() => {
    failed = new Error(`no WebSocket echo on port ${port} in 15 s`);
    wake();
  }, 15_000);
  const next = async () => {
    while (messages.length === 0 && !failed) await new Promise<void>((r) => (wake = r));
    if (failed) throw failed;
    return messages.shift()!;
  };
  try {
    await new Promise<void>((resolve) => {
      ws.onopen = () => resolve();
      wake = resolve;
    });
    if (failed) throw failed;
    ws.send("hello from the README test");
    assert.equal(await next(), "hello from the README test");
    ws.send(new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual(new Uint8Array(await next() as ArrayBuffer), new Uint8Array([0, 1, 254, 255]));
    const closed = new Promise((resolve) => (ws.onclose = resolve));
    ws.close(1000);
    await closed;
  } finally {
    clearTimeout(timer);
    if (ws.readyState < WebSocket.CLOSING) ws.close();
  }
}

/**
 * Ctrl-C: SIGINT to the task's process group; then every process of its
 * session must be gone within 30 s. Survivors are killed, and named.
 */
async function stopTask(task: RunningTask): Promise<void> {
  const sid = task.child.pid;
  try {
    Deno.kill(-sid, "SIGINT");
  } catch { /* the group is gone already */ }
  const deadline = Date.now() + 30_000;
  let left = await listSession(sid);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = await listSession(sid);
  }
  for (const { pid } of left) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  await task.child.status;
  assert.deepEqual(
    left.map((p) => p.command),
    [],
    `left running 30 s after Ctrl-C:\n${task.output()}`,
  );
}

async function checkTask(name: string, port: number, withPort: boolean): Promise<void> {
  assert.ok(isPortFree(port), `port ${port} is in use: \`deno task ${name}\` needs it free`);
  const task = startTask(name, withPort ? port : undefined);
  try {
    await waitUntilServing(task, port);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    const body = await page.text();
    assert.equal(page.status, 200, body);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(body, /<html|<!doctype html/i);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
    await assertEcho(port);
  } catch (error) {
    throw new Error(
      `deno task ${name} (${withPort ? `PORT=${port}` : "no PORT"}): ${error}\n` +
        `--- its output ---\n${task.output()}`,
    );
  } finally {
    await stopTask(task);
  }
}

Deno.test("README: every documented `deno task` exists, and each that is no server is named here", () => {
  assert.ok(SERVERS.length >= 6, `found only ${SERVERS.join(", ")}`);
  for (const name of DOCUMENTED) {
    assert.ok(
      Object.hasOwn(TASKS, name),
      `the README documents \`deno task ${name}\`, which deno.json lacks`,
    );
    if (!SERVERS.includes(name)) {
      assert.ok(
        Object.hasOwn(NOT_SERVERS, name),
        `\`deno task ${name}\` is documented: run it here as a server, or name it in NOT_SERVERS`,
      );
    }
  }
});

Deno.test({
  name: "README: every documented server task answers a page, /healthz and a WebSocket echo",
  // Child processes and their pipes outlive single steps by design.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    for (const name of SERVERS) {
      await t.step(`deno task ${name} with PORT`, () => checkTask(name, freePort(), true));
      const port = findDefaultPort(README, name);
      await t.step(
        `deno task ${name} without PORT (port ${port})`,
        () => checkTask(name, port, false),
      );
    }
  },
});
