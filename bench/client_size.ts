/**
 * The resumable client's size in a page: `@edgesocket/edgesocket/client`
 * bundled and minified by `deno bundle --minify` (and by esbuild, when
 * node_modules has it), then gzipped at level 9, against the 6 KB budget
 * (6,000 bytes, minified and gzipped).
 *
 *     deno run -A bench/client_size.ts
 *
 * bench/run.ts runs it as the `client-size` group. Sizes do not vary, so
 * one measurement stands for every round.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { bundleClient } from "../examples/chat/build_client_bundle.ts";
import { ROOT } from "../tests/_util/server_process.ts";
import type { Figure } from "./_figures.ts";
import type { GroupContext } from "./_group.ts";
import { recordSample, runStandalone } from "./_group.ts";

/** The budget, minified and gzipped, in bytes. */
export const CLIENT_BUDGET = 6000;

const ENTRY = "src/client/mod.ts";

async function minifyWithEsbuild(): Promise<Uint8Array | undefined> {
  const esbuild = `${ROOT}node_modules/.bin/esbuild`;
  try {
    await Deno.stat(esbuild);
  } catch {
    return undefined;
  }
  const { code, stdout } = await new Deno.Command(esbuild, {
    args: [ENTRY, "--bundle", "--minify", "--format=esm", "--target=es2022"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  return code === 0 ? stdout : undefined;
}

/**
 * Measures the client's size.
 *
 * @param context The runner's context.
 * @returns One figure: our gzipped size against the budget.
 */
export async function runClientSize(context: GroupContext): Promise<Figure[]> {
  const figure: Figure = {
    id: "client-size",
    title: "Resumable client, minified + gzipped",
    baseline: "the 6 KB budget",
    unit: "bytes",
    scale: 1,
    target: 1,
    lowerIsBetter: true,
    sides: { ours: "@edgesocket/edgesocket/client", ws: "budget" },
    method: "deno bundle --minify --platform browser src/client/mod.ts, gzip -9 " +
      "(esbuild --bundle --minify beside it in the detail)",
    samples: {},
  };
  context.progress("client size: deno bundle --minify, gzip -9");
  // The bundle the demo page serves, as examples/chat/build_client_bundle.ts makes it.
  const deno = new TextEncoder().encode(await bundleClient());
  const esbuild = await minifyWithEsbuild();
  const detail: Record<string, number> = {
    minified: deno.length,
    gzipped: gzipSync(deno, { level: 9 }).length,
  };
  if (esbuild) {
    detail.esbuildMinified = esbuild.length;
    detail.esbuildGzipped = gzipSync(esbuild, { level: 9 }).length;
  }
  recordSample(context, figure, "ours", { value: detail.gzipped, detail });
  figure.samples.ws = [{ value: CLIENT_BUDGET }];
  context.progress(
    `  client: ${detail.minified} bytes minified, ${detail.gzipped} gzipped` +
      (esbuild ? `; esbuild ${detail.esbuildMinified} / ${detail.esbuildGzipped}` : ""),
  );
  return [figure];
}

if (import.meta.main) await runStandalone("client_size", runClientSize);
