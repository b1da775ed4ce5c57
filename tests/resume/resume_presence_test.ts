/**
 * Presence on a resumable route: the member is the session's `ws`, and it
 * leaves when the session ends, as a plain socket's membership does.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Presence, type PresenceMember, upgradeWebSocket } from "../../mod.ts";
import { hello } from "./_raw_client.ts";

async function listUntil(
  presence: Presence,
  topic: string,
  done: (members: PresenceMember[]) => boolean,
): Promise<PresenceMember[]> {
  let members = await presence.list(topic);
  for (let i = 0; i < 200 && !done(members); i++) {
    await new Promise((r) => setTimeout(r, 10));
    members = await presence.list(topic);
  }
  return members;
}

Deno.test("Presence: a resumable session's membership ends with the session", async () => {
  const presence = new Presence();
  const topic = "presence-resume:room";
  const app = new Hono().get(
    "/ws",
    upgradeWebSocket(() => ({
      async onOpen(_e, ws) {
        await presence.join(ws, topic, { name: "ada" });
      },
    }), { resume: {} }),
  );
  const { client } = await hello(app, "/ws");
  const joined = await listUntil(presence, topic, (m) => m.length === 1);
  assert.deepEqual(joined.map((m) => m.meta), [{ name: "ada" }]);
  // A clean close from the client ends the session, and with it the membership.
  client.ws.close(1000);
  await client.ws.closed;
  assert.deepEqual(await listUntil(presence, topic, (m) => m.length === 0), []);
});
