/**
 * The tree's static checks, run as CI runs the tests: `deno task check`
 * (type checks of every file, fixtures and benchmarks included, and the
 * codec against the Web platform's types alone), `deno task lint` (`deno
 * lint` and `deno doc --lint` of every entry), `deno fmt --check` and
 * `deno publish --dry-run`. Each is run exactly as a developer types it,
 * from the repository's top folder; a failure shows the command's output.
 */
import assert from "node:assert/strict";
import { ROOT } from "../_util/server_process.ts";

async function run(args: string[]): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  // The output's end: where a type or lint error is reported.
  assert.equal(code, 0, `deno ${args.join(" ")} failed:\n${output.slice(-4000)}`);
}

Deno.test("deno task check passes", () => run(["task", "check"]));
Deno.test("deno task lint passes", () => run(["task", "lint"]));
Deno.test("deno fmt --check passes", () => run(["fmt", "--check"]));
Deno.test("deno publish --dry-run passes", () => run(["publish", "--dry-run", "--allow-dirty"]));
