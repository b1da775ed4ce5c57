/**
 * Real redis-servers for the backplane's tests, each on free ports and
 * stopped by the test: one with TLS (certificates made here with openssl),
 * one with an ACL user, and a three-master Redis Cluster.
 */
import { freePort, type ServerProcess, startProcess } from "../_util/server_process.ts";

const NO_PERSISTENCE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
const READY = /Ready to accept connections/;

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")}: ${text}${new TextDecoder().decode(stderr)}`);
  }
  return text;
}

/** The PEM files of a test CA and what it signed. */
export interface TestCertificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Makes a CA, a server certificate for 127.0.0.1 and a client certificate,
 * in a temporary folder.
 *
 * @returns The PEM texts and the folder (remove it when done).
 */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-redis-tls-" });
  const openssl = (...args: string[]) => run("openssl", args, dir);
  const key = ["-newkey", "rsa:2048", "-nodes"];
  await openssl(
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=test CA",
  );
  await Deno.writeTextFile(`${dir}/server.ext`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [name, subject] of [["server", "/CN=localhost"], ["client", "/CN=app"]]) {
    await openssl("req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    await openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      ...(name === "server" ? ["-extfile", "server.ext"] : []),
    );
  }
  const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
  return {
    dir,
    ca: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
  };
}

/**
 * Starts redis-server with TLS only (`--port 0`), asking clients for a
 * certificate signed by the CA.
 *
 * @param certs From {@linkcode makeCertificates}.
 * @returns The server; its `port` is the TLS port.
 */
export async function startTlsRedis(certs: TestCertificates): Promise<ServerProcess> {
  const port = freePort();
  const { dir } = certs;
  return await startProcess("redis-server", [
    "--port",
    "0",
    "--tls-port",
    `${port}`,
    "--tls-cert-file",
    `${dir}/server.crt`,
    "--tls-key-file",
    `${dir}/server.key`,
    "--tls-ca-cert-file",
    `${dir}/ca.crt`,
    "--tls-auth-clients",
    "yes",
    ...NO_PERSISTENCE,
  ], { port, ready: READY });
}

/**
 * Starts redis-server whose default user is off and whose one user may use
 * only the backplane's channels and keys (`edgesocket:*`) and what a
 * connection needs (HELLO, AUTH, SELECT, CLIENT).
 *
 * @param user The ACL user.
 * @param password Its password.
 * @returns The server.
 */
export async function startAclRedis(user: string, password: string): Promise<ServerProcess> {
  const port = freePort();
  return await startProcess("redis-server", [
    "--port",
    `${port}`,
    "--user",
    "default",
    "off",
    "--user",
    user,
    "on",
    `>${password}`,
    "resetchannels",
    "&edgesocket:*",
    "~edgesocket:*",
    "-@all",
    "+@connection",
    "+@pubsub",
    "+select",
    "+get",
    "+set",
    ...NO_PERSISTENCE,
  ], { port, ready: READY });
}

/**
 * Runs `redis-cli` against a port.
 *
 * @param port The server's port.
 * @param args The command and the options before it.
 * @returns Its output, trimmed.
 */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await run("redis-cli", ["-h", "127.0.0.1", "-p", `${port}`, ...args])).trim();
}

/** A running three-master Redis Cluster. */
export interface TestCluster {
  ports: number[];
  /** The URL of each master. */
  urls: string[];
  /** The port of the master that owns a key's (or sharded channel's) slot. */
  ownerOf(key: string): Promise<number>;
  /** SIGKILLs the master on `port`. */
  kill(port: number): Promise<void>;
  /** Starts the master on `port` again, with its nodes.conf, and waits for `cluster_state:ok`. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(ports.map((p) => redisCli(p, "cluster", "info")));
    if (infos.every((i) => /cluster_state:ok/.test(i) && /cluster_known_nodes:3/.test(i))) return;
    if (Date.now() > deadline) throw new Error(`cluster not ok:\n${infos.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts three `--cluster-enabled yes` servers, each in a folder of its own
 * (for its nodes.conf), and joins them with `redis-cli --cluster create`.
 *
 * @param ports The three ports (default: free ones).
 * @returns The cluster, once every node says `cluster_state:ok`.
 */
export async function startCluster(
  ports: number[] = [freePort(), freePort(), freePort()],
): Promise<TestCluster> {
  const dir = await Deno.makeTempDir({ prefix: "edgesocket-redis-cluster-" });
  const nodes = new Map<number, ServerProcess>();
  const start = async (port: number) => {
    await Deno.mkdir(`${dir}/${port}`, { recursive: true });
    nodes.set(
      port,
      await startProcess("redis-server", [
        "--port",
        `${port}`,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        ...NO_PERSISTENCE,
      ], { port, ready: READY, cwd: `${dir}/${port}` }),
    );
  };
  const stop = async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    nodes.clear();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    for (const port of ports) await start(port);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-yes",
    ]);
    await waitForClusterOk(ports);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    urls: ports.map((p) => `redis://127.0.0.1:${p}`),
    async ownerOf(key) {
      const slot = Number(await redisCli(ports[0], "cluster", "keyslot", key));
      const shards = JSON.parse(await redisCli(ports[0], "--json", "cluster", "slots")) as Array<
        [number, number, [string, number, string]]
      >;
      const shard = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!shard) throw new Error(`no master owns slot ${slot}`);
      return shard[2][1];
    },
    async kill(port) {
      const node = nodes.get(port);
      nodes.delete(port);
      if (!node) return;
      node.process.kill("SIGKILL");
      await node.stop();
    },
    async restart(port) {
      await start(port);
      await waitForClusterOk(ports);
    },
    stop,
  };
}
