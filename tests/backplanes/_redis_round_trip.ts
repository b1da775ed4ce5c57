/**
 * Two backplanes on one Redis, in whatever runtime runs this (Node 20
 * bundled, Bun): 100 messages each way, once, in order. `REDIS_URL`, and for
 * `rediss://` the PEM files in `REDIS_TLS_DIR` (ca.crt, client.crt,
 * client.key). Prints `round trip ok` and exits 0, or says what went wrong
 * and exits 1.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { PubSub } from "../../src/core/pub_sub.ts";
import type { Subscriber } from "../../src/core/subscriber.ts";
import { createRedisBackplane, type RedisTlsOptions } from "../../src/backplanes/redis.ts";

const url = process.env.REDIS_URL as string;
const dir = process.env.REDIS_TLS_DIR;
const tls: RedisTlsOptions | undefined = dir
  ? {
    ca: readFileSync(`${dir}/ca.crt`, "utf8"),
    cert: readFileSync(`${dir}/client.crt`, "utf8"),
    key: readFileSync(`${dir}/client.key`, "utf8"),
  }
  : undefined;

function recorder(): Subscriber & { got: unknown[] } {
  const got: unknown[] = [];
  return {
    got,
    topics: new Set(),
    bufferedAmount: 0,
    send: (data) => got.push(data),
    closeWith: () => {},
  };
}

const planes = [0, 1].map(() => createRedisBackplane({ url, tls, log: () => {} }));
const [a, b] = planes.map((backplane) => new PubSub({ backplane }));
const onA = recorder(), onB = recorder();
a.subscribe(onA, "room");
b.subscribe(onB, "room");
const deadline = Date.now() + 10_000;
const wait = async (check: () => boolean, what: string) => {
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
try {
  await wait(() => planes.every((p) => p.connected), "the connections");
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 100; i++) a.publish("room", `a${i}`);
  for (let i = 0; i < 100; i++) b.publish("room", `b${i}`);
  await wait(() => onA.got.length === 200 && onB.got.length === 200, "delivery");
  await new Promise((r) => setTimeout(r, 100));
  const fromA = Array.from({ length: 100 }, (_, i) => `a${i}`);
  const fromB = Array.from({ length: 100 }, (_, i) => `b${i}`);
  const same = (x: unknown[], y: unknown[]) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(onA.got, [...fromA, ...fromB]) || !same(onB.got, [...fromB, ...fromA])) {
    throw new Error(`wrong order or count: ${JSON.stringify({ a: onA.got, b: onB.got })}`);
  }
  console.log("round trip ok");
} catch (error) {
  console.log(`round trip failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await Promise.all(planes.map((p) => p.close()));
}
