/**
 * Makes a fresh machine ready, once: the npm packages the tests and servers
 * use (from package-lock.json), and, where we are root on Debian, the
 * `chromium` and `redis-server` packages. Every task runs it first; it does
 * nothing when all is in place.
 */
const root = new URL("../", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<void> {
  const { code } = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with ${code}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function lockHash(): Promise<string> {
  const data = await Deno.readFile(`${root}package-lock.json`);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const stamp = `${root}node_modules/.edgesocket-lock`;
const hash = await lockHash();
const installed = await exists(stamp) ? await Deno.readTextFile(stamp) : "";
if (installed !== hash) {
  console.error("setup: installing npm packages (npm ci)");
  await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
  await Deno.writeTextFile(stamp, hash);
}

const wanted = [
  ["/usr/bin/chromium", "chromium"],
  ["/usr/bin/redis-server", "redis-server"],
  // The soak's and the benchmark's C load generator (bench/loadgen/loadgen.c).
  ["/usr/bin/gcc", "gcc"],
];
const missing = [];
for (const [path, pkg] of wanted) if (!await exists(path)) missing.push(pkg);
if (missing.length > 0) {
  if (Deno.uid?.() === 0 && await exists("/usr/bin/apt-get")) {
    console.error(`setup: installing ${missing.join(", ")} from Debian`);
    await run("apt-get", ["update", "-qq"]);
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing]);
  } else {
    console.error(
      `setup: missing ${missing.join(", ")}: install them (apt-get install ${missing.join(" ")})`,
    );
  }
}
