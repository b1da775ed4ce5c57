/**
 * `serve({ tls })` on the real Node 20: HTTPS and `wss://` with certificates
 * the test makes with `openssl`, against the `ws` client, Deno's fetch and
 * Chromium (which trusts exactly that certificate, by its key's hash).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { startNode } from "../_util/server_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";

/** Runs openssl with `args` in `cwd`; its stdout, or an error with its stderr. */
async function openssl(
  cwd: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const child = new Deno.Command("openssl", {
    args,
    cwd,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return stdout;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const LEAF = [
  "basicConstraints=critical,CA:FALSE",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
  "extendedKeyUsage=serverAuth",
];

/**
 * Makes, in a new temp dir, a self-signed server certificate for 127.0.0.1
 * (`cert.pem`, `key.pem`), and a chain root → intermediate → server
 * (`root.pem`, `int.pem`, `leaf.pem`) whose key is encrypted with "s3cret"
 * (`leaf.key`).
 */
async function makeCertificates(): Promise<{ dir: string; cert: string; spki: string }> {
  const dir = await Deno.makeTempDir({ prefix: "edgesocket_tls_" });
  const ext = (lines: string[]) => lines.flatMap((line) => ["-addext", line]);
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "key.pem",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    ...ext(LEAF),
  ]);
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-days",
    "2",
    "-subj",
    "/CN=edgesocket test root",
    ...ext(["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"]),
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    `[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n[leaf]\n${
      LEAF.join("\n")
    }\n`,
  );
  const sign = async (name: string, subject: string, issuer: string, section: string) => {
    await openssl(dir, [
      "req",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${issuer}.pem`,
      "-CAkey",
      `${issuer}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
      "-extensions",
      section,
    ]);
  };
  await sign("int", "/CN=edgesocket test intermediate", "root", "ca");
  await sign("leaf", "/CN=localhost", "int", "leaf");
  await openssl(dir, [
    "pkey",
    "-in",
    "leaf.key",
    "-aes256",
    "-passout",
    "pass:s3cret",
    "-out",
    "leaf.enc.key",
  ]);
  // Chromium's --ignore-certificate-errors-spki-list: the SHA-256 of the key.
  const spkiDer = await openssl(dir, ["x509", "-in", "cert.pem", "-noout", "-pubkey"])
    .then((pem) => openssl(dir, ["pkey", "-pubin", "-outform", "DER"], pem));
  const spki = Buffer.from(await crypto.subtle.digest("SHA-256", spkiDer)).toString("base64");
  return { dir, cert: await Deno.readTextFile(`${dir}/cert.pem`), spki };
}

/** A `ws` client: resolves its open, queues its messages, rejects on error. */
function openClient(url: string, options: WebSocket.ClientOptions) {
  const ws = new WebSocket(url, options);
  const messages: Array<string | Buffer> = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    messages.push(isBinary ? data : data.toString());
    waiters.shift()?.();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", reject);
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
  const next = async () => {
    if (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
    return messages.shift()!;
  };
  return { ws, opened, closed, next };
}

Deno.test({
  name: "serve({ tls }) on Node: HTTPS and wss:// with certificates made by openssl",
  ...opts,
  async fn(t) {
    const certificates = await makeCertificates();
    const { dir } = certificates;
    try {
      await t.step(
        "the ws client round-trips over wss:// with the certificate pinned",
        async () => {
          const server = await startNode("tests/node/_tls_server.ts", {
            CERT_FILE: `${dir}/cert.pem`,
            KEY_FILE: `${dir}/key.pem`,
          });
          try {
            const base = `wss://127.0.0.1:${server.port}`;
            const c = openClient(`${base}/echo`, { ca: certificates.cert });
            await c.opened;
            c.ws.send("héllo over tls");
            assert.equal(await c.next(), "héllo over tls");
            const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
            c.ws.send(big);
            assert.deepEqual(new Uint8Array(await c.next() as Buffer), big);
            c.ws.close(4000);
            assert.equal(await c.closed, 4000);

            // The app sees the scheme the client used, on upgrades and on requests.
            const who = openClient(`${base}/whoami`, { ca: certificates.cert });
            assert.equal(await who.next(), `https://127.0.0.1:${server.port}/whoami`);
            who.ws.close();
            const client = Deno.createHttpClient({ caCerts: [certificates.cert] });
            try {
              const health = await fetch(`https://127.0.0.1:${server.port}/healthz`, { client });
              assert.equal(health.status, 200);
              assert.equal((await health.json()).ok, true);
            } finally {
              client.close();
            }

            // A client that does not trust the certificate gets no socket.
            const stranger = openClient(`${base}/echo`, {});
            await assert.rejects(stranger.opened, /self[- ]signed|certificate/i);
          } finally {
            await server.stop();
          }
        },
      );

      await t.step(
        "passphrase unlocks the key and ca completes the chain to the client's root",
        async () => {
          const server = await startNode("tests/node/_tls_server.ts", {
            CERT_FILE: `${dir}/leaf.pem`,
            KEY_FILE: `${dir}/leaf.enc.key`,
            KEY_PASSPHRASE: "s3cret",
            CA_FILE: `${dir}/int.pem`,
          });
          try {
            const root = await Deno.readTextFile(`${dir}/root.pem`);
            // Only the root is trusted: the intermediate must come from the server.
            const c = openClient(`wss://127.0.0.1:${server.port}/echo`, { ca: root });
            await c.opened;
            c.ws.send("chained");
            assert.equal(await c.next(), "chained");
            c.ws.close();
            await c.closed;
          } finally {
            await server.stop();
          }
        },
      );

      await t.step("Chromium loads an https page whose script echoes through wss://", async () => {
        const server = await startNode("tests/node/_tls_server.ts", {
          CERT_FILE: `${dir}/cert.pem`,
          KEY_FILE: `${dir}/key.pem`,
        });
        const browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            // Trusts this one certificate and no other, unlike ignoreHTTPSErrors.
            `--ignore-certificate-errors-spki-list=${certificates.spki}`,
          ],
        });
        try {
          const page = await (await browser.newContext()).newPage();
          const answer = await page.goto(`https://127.0.0.1:${server.port}/page`);
          assert.equal(answer?.status(), 200);
          await page.waitForFunction(
            () =>
              (globalThis as unknown as {
                document: { getElementById(id: string): { textContent: string } };
              }).document.getElementById("status").textContent !== "connecting",
            null,
            { timeout: 15_000 },
          );
          assert.equal(await page.textContent("#status"), "echo: hello from https:");
        } finally {
          await browser.close();
          await server.stop();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
