/**
 * `deno doc --lint` for every entry module, strict about our own types and
 * blind only to one false alarm: a `private-type-ref` whose referenced type
 * is another package's (Hono's `Context`, node-redis's client types).
 *
 * Why: deno_doc counts as "public" only what the documented modules export,
 * and flags every other type a public signature names. Deno stopped
 * flagging other packages' types for `jsr:` and `https:` modules
 * (denoland/deno#27364, fixed by #34339), but an `npm:` package's types are
 * read from `file:` paths (node_modules or the npm cache), so 2.9.6 still
 * takes them for our own private types. Re-exporting them is no cure: each
 * re-export pulls the package's whole type graph into the lint. JSR itself
 * accepts them (`deno publish --dry-run` passes), so they stay in our
 * signatures, as the Hono drop-in needs.
 *
 * A referenced type counts as another package's when the file that
 * references it imports that name from a bare specifier (`"hono"`,
 * `"hono/types"`, `"redis"`, `"npm:…"`), never from a relative path.
 *
 * Usage: `deno run -A tools/doc_lint.ts mod.ts src/entries/node.ts …`
 */
const entries = Deno.args;
if (entries.length === 0) throw new TypeError("Usage: doc_lint.ts <entry.ts>…");

// Each entry alone, as `deno doc --lint mod.ts` and JSR's page for each
// entry see it: linted together, a type one entry exports would pass for
// public in every other.
let text = "";
let failed: Deno.CommandOutput | undefined;
for (const entry of entries) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", entry],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  text += new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout) + "\n";
  if (!output.success) failed ??= output;
}

// Each diagnostic starts with "error[rule]: message" and names its place
// with "--> path:line:col".
const blocks = text.split(/\n(?=error\[)/).filter((b) => b.startsWith("error["));
const imports = new Map<string, Map<string, string>>();

function importedNames(path: string): Map<string, string> {
  let names = imports.get(path);
  if (names) return names;
  names = new Map();
  const source = Deno.readTextFileSync(path);
  for (const m of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/g)) {
    for (const part of m[1].split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!;
      if (name) names.set(name, m[2]);
    }
  }
  imports.set(path, names);
  return names;
}

function isOtherPackage(specifier: string | undefined): boolean {
  return specifier !== undefined && !specifier.startsWith(".") && !specifier.startsWith("/");
}

const kept: string[] = [];
let ignored = 0;
for (const block of blocks) {
  const ref = /^error\[private-type-ref\]: .* references private type '([^']+)'/.exec(block);
  const where = /-->\s+(\S+?):\d+:\d+/.exec(block);
  if (ref && where && isOtherPackage(importedNames(where[1]).get(ref[1]))) {
    ignored++;
    continue;
  }
  kept.push(block.trimEnd());
}

if (kept.length > 0) {
  console.error(kept.join("\n\n"));
  console.error(`\ndoc lint: ${kept.length} error(s)`);
  Deno.exit(1);
}
if (failed && blocks.length === 0) {
  console.error(text);
  Deno.exit(failed.code);
}
console.log(
  `doc lint: clean (${entries.length} entries; ${ignored} references to other packages' types)`,
);
